"""A real headless Chromium with a fake webcam, and the browser node's page in it on a real
broker: for the page's tests and benchmark. Each view's test looks at it at a phone's
size and a desktop's (``look_at``), with axe-core checking it."""

from __future__ import annotations

import shutil
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright

from brain.cortex._npm import NpmFiles
from brain.testing import free_port
from tests.support import ROOT, Broker, NodeProcess

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def write_y4m(path: Path, frames: list[np.ndarray], *, fps: int = 10) -> Path:
    """RGB frames (H x W x 3, uint8) as a YUV4MPEG2 4:2:0 file, Chromium's fake webcam."""
    height, width = frames[0].shape[:2]
    with path.open("wb") as file:
        file.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            r, g, b = (rgb[..., n].astype(np.float32) for n in range(3))
            y = 0.299 * r + 0.587 * g + 0.114 * b  # BT.601, full range (JPEG's)
            u = -0.1687 * r - 0.3313 * g + 0.5 * b + 128
            v = 0.5 * r - 0.4187 * g - 0.0813 * b + 128
            file.write(b"FRAME\n")
            for plane, step in ((y, 1), (u, 2), (v, 2)):
                file.write(np.clip(plane[::step, ::step], 0, 255).astype(np.uint8).tobytes())
    return path


def blue_frames(count: int = 10, *, width: int = 320, height: int = 240) -> list[np.ndarray]:
    """A blue scene with a white square that moves: the colours model says "blue"."""
    frames = []
    for n in range(count):
        frame = np.zeros((height, width, 3), np.uint8)
        frame[..., 2] = 220
        x = 10 + n * (width - 60) // count
        frame[100:140, x : x + 40] = 255
        frames.append(frame)
    return frames


def launch(playwright: Playwright, *, video: Path) -> Browser:
    """Debian's Chromium, headless, with ``video`` as its webcam and no prompts.

    Playwright gives each launch a fresh profile (a new user-data-dir).
    """
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
            "--use-fake-ui-for-media-stream",  # grant the camera without asking
            "--autoplay-policy=no-user-gesture-required",
        ],
    )


# -- the page on a real broker, and what every view's test checks ---------------------

TOKEN = "test-token-0123456789abcdef"
ARTIFACTS = ROOT / "test-artifacts"
#: The sizes every view is tried at: a phone (390 x 844) and a desktop.
PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=900)
#: The accessibility engine, as npm ships it (MPL-2.0), checked against these hashes.
AXE = NpmFiles(
    package="axe-core",
    version="4.14.1",
    integrity="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
    files={
        "package/axe.min.js": "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
    },
)


@dataclass
class Server:
    node: NodeProcess
    port: int
    scheme: str = "http"

    @property
    def origin(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def page_url(self, view: str = "", **query: str) -> str:
        address = f"{self.origin}/?{urllib.parse.urlencode({'token': TOKEN, **query})}"
        return f"{address}#{view}" if view else address


def start_browser_node(
    broker: Broker, start: Callable[..., NodeProcess], tmp_path: Path, *sets: str
) -> Server:
    port = free_port()
    node = start(
        "--mqtt",
        broker.url,
        "--set",
        f"browser.port={port}",
        "--set",
        f'browser.token="{TOKEN}"',
        "--set",
        f'browser.gallery="{tmp_path / "gallery"}"',
        *sets,
        "node",
        "browser",
        env={"XDG_STATE_HOME": str(tmp_path / "state")},
    )
    node.wait_online(broker, "browser")  # its page is served before it connects
    return Server(node, port)


@pytest.fixture
def server(mosquitto: Broker, brain_process: Callable[..., NodeProcess], tmp_path: Path) -> Server:
    return start_browser_node(mosquitto, brain_process, tmp_path)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    video = write_y4m(tmp_path_factory.mktemp("webcam") / "blue.y4m", blue_frames())
    with sync_playwright() as playwright:
        browser = launch(playwright, video=video)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(bypass_csp=True)  # the page forbids eval; Playwright needs it
    opened = context.new_page()
    yield opened
    context.close()


def axe_script() -> Path:
    """axe-core's script, fetched from npm once and kept in ``.cache/``."""
    folder = ROOT / ".cache" / "axe-core"
    if AXE.damaged(folder) is not None:
        AXE.fetch(folder)
    return folder / "axe.min.js"


def serious_violations(page: Page) -> list[str]:
    """What axe-core finds serious or critical on the page as it is now (WCAG 2 A and AA)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_script()))
    found = page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']}))"
        ".violations.filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join('; ')})`)"
    )
    return [str(line) for line in found]


def look_at(page: Page, name: str) -> None:
    """Screenshots of the page at a phone's size and a desktop's, into ``test-artifacts/``,
    each checked by axe-core: no serious or critical violation at either size."""
    ARTIFACTS.mkdir(exist_ok=True)
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(300)  # one layout at the new size
        page.screenshot(path=str(ARTIFACTS / f"{name}-{size}.png"), full_page=True)
        assert serious_violations(page) == [], f"{name} at the {size}'s size"
