"""The page's Live view, in a real Chromium, on real nodes over a real broker: each
camera's frames in its tile with what the cortex found drawn on them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from brain.faces import identity_availability
from tests.chromium import CHROMIUM, DESKTOP, Server, look_at, start_browser_node
from tests.people import camera_sized, people_photos
from tests.support import Broker, NodeProcess, wait_until_serving

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@pytest.mark.skipif(not identity_availability()[0], reason="needs the faces extra (dlib)")
def test_a_cameras_frames_appear_in_its_tile_with_the_face_box_drawn(
    mosquitto: Broker,
    brain_process: Callable[..., NodeProcess],
    page: Page,
    tmp_path: Path,
    family_gallery: Path,
) -> None:
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    camera_sized(people_photos() / "hopper.jpg", pictures / "hopper.jpg")
    config = tmp_path / "brain.toml"
    config.write_text(
        f'[camera]\nsource = "{pictures}"\nname = "door"\nfps = 2\nmotion = false\n'
        f'[cortex]\nmodel = "faces"\ngallery = "{family_gallery}"\n'
    )
    server = start_browser_node(mosquitto, brain_process, tmp_path)
    cortex = brain_process("--mqtt", mosquitto.url, "--config", str(config), "node", "cortex")
    wait_until_serving(cortex, mosquitto)
    brain_process("--mqtt", mosquitto.url, "--config", str(config), "node", "camera")
    page.set_viewport_size(DESKTOP)
    page.goto(server.page_url(source="hall", eye="closed"))

    tile = page.locator("#tile-door")
    page.wait_for_selector("#tile-door[data-labels='a stranger']", timeout=120_000)
    assert "online" in tile.inner_text() and "door" in tile.inner_text()
    # The box is drawn in the stranger's red, where the cortex found her face.
    red = page.evaluate(
        """() => {
        const canvas = document.querySelector('#tile-door canvas');
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let red = 0;
        for (let i = 0; i < data.length; i += 4) {
            if (data[i] > 240 && data[i + 1] < 100 && data[i + 2] < 100) red++;
        }
        return red;
    }"""
    )
    assert red > 100, "no box drawn in red"
    look_at(page, "browser-live")

    # Tapped: larger, with its state.
    tile.click()
    page.locator("#camera").wait_for()
    assert page.locator("#camera-title").inner_text() == "door"
    assert "online" in page.locator("#camera-state").inner_text()
    width = page.evaluate("document.getElementById('camera-view').getBoundingClientRect().width")
    assert width > 1000
    look_at(page, "browser-live-camera")
    page.click("#camera-back")
    tile.wait_for()


def test_a_device_without_a_camera_says_so_and_the_page_has_no_broken_link(
    server: Server, chromium: Browser
) -> None:
    failed: list[str] = []
    # Another Chromium of the same install, without the fake webcam: this machine has none.
    bare = chromium.browser_type.launch(
        executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
    )
    try:
        page = bare.new_context(bypass_csp=True).new_page()
        page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
        page.goto(server.page_url(source="hall"))
        page.locator("#no-webcam").wait_for()
        assert page.locator("#no-webcam").inner_text() == (
            "This device has no camera; the brain's own cameras are above."
        )
        assert page.locator("#eye").is_hidden()
        assert page.locator("#no-cameras").is_visible()  # and no camera sent a frame yet
        look_at(page, "browser-live-empty")

        # The keyboard alone goes from view to view: the first links are the views'.
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "to-visits"
        page.keyboard.press("Enter")
        page.locator("#visits-title").wait_for()
        assert page.locator("#live").is_hidden()
    finally:
        bare.close()
    assert failed == []  # the favicon included
