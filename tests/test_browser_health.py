"""The page's Health view, in a real Chromium, on real nodes over a real broker: who
runs, their figures, the errors of the last hour, the disk."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page

from brain import testing
from tests.chromium import PHONE, look_at, start_browser_node
from tests.support import Broker, NodeProcess, publish


def test_the_health_view_shows_a_node_going_down_within_seconds(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess], page: Page, tmp_path: Path
) -> None:
    store = tmp_path / "recordings"
    (store / "clips").mkdir(parents=True)
    (store / "clips" / "a.mp4").write_bytes(b"\0" * 2500)
    (store / "brain-1.mcap").write_bytes(b"\0" * 1_500_000)
    server = start_browser_node(
        mosquitto, brain_process, tmp_path, "--set", f'browser.recordings="{store}"'
    )
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    (pictures / "a.png").write_bytes(testing.frame((40, 90, 200), size=(320, 240), kind="PNG").data)
    camera = brain_process(
        "--mqtt", mosquitto.url, "--set", f'camera.source="{pictures}"',
        "--set", 'camera.name="door"', "node", "camera",
    )  # fmt: skip
    camera.wait_online(mosquitto, "camera/door")
    page.set_viewport_size(PHONE)  # a phone's screen: what a home owner holds
    page.goto(server.page_url("health", source="hall", eye="closed"))
    pill = page.locator("#node-camera-door .pill")
    pill.wait_for()
    page.wait_for_function(
        "document.querySelector('#node-camera-door .pill').textContent === 'online'"
    )
    page.wait_for_function(  # its figures come every few seconds
        "document.getElementById('node-camera-door').textContent.includes('fps')", timeout=60_000
    )
    assert page.locator("#disk").inner_text().startswith("Recordings 1.5 MB, clips 2.5 kB;")

    # A frame no one can read: the browser node says why, and the page counts it.
    publish(mosquitto, "brain/senses/camera/door/image", b"not an image")
    page.wait_for_function(
        "document.getElementById('errors-title').textContent === 'Errors in the last hour: 1'"
    )
    assert "browser:" in page.locator("#errors li").first.inner_text()
    look_at(page, "browser-health")

    camera.stop(signal.SIGKILL)  # no goodbye: the broker says it for the camera (its will)
    page.wait_for_function(
        "document.querySelector('#node-camera-door .pill').textContent === 'offline'",
        timeout=30_000,
    )
