"""The page's Faces view, in a real Chromium, with a real faces cortex on a real broker:
a photo added from the page, a stranger named in one tap, a rename and a removal."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from brain import testing
from brain.faces import Gallery, identity_availability
from schemas import Perception
from tests.chromium import PHONE, Server, look_at, start_browser_node
from tests.people import camera_sized, people_photos
from tests.support import Broker, NodeProcess, Recorder, publish, wait_until_serving

pytestmark = pytest.mark.skipif(
    not identity_availability()[0], reason="needs the faces extra (dlib)"
)


def test_faces_added_named_renamed_and_removed_on_the_page_are_the_cortexs_from_then_on(
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
    page: Page,
    tmp_path: Path,
    family_gallery: Path,
) -> None:
    photos, gallery = people_photos(), tmp_path / "gallery"
    shutil.copytree(family_gallery, gallery)  # Obama is enrolled
    server = start_browser_node(mosquitto, brain_process, tmp_path)
    cortex = brain_process(
        "--mqtt", mosquitto.url, "--set", "cortex.model=faces",
        "--set", f'cortex.gallery="{gallery}"', "node", "cortex",
    )  # fmt: skip
    wait_until_serving(cortex, mosquitto)
    seen = record(mosquitto, "brain/perceptions/#")
    page.set_viewport_size(PHONE)  # a phone's screen: what a home owner holds
    page.goto(server.page_url("faces", source="hall", eye="closed"))
    page.locator("#person-obama img").first.wait_for()

    # A photo of Biden added from the page: the cortex knows him on the next frame.
    page.fill("#new-name", "Joe Biden")
    page.set_input_files("#new-photo", str(photos / "biden.jpg"))
    page.click("#add-person button")
    page.locator("#person-joe-biden img").first.wait_for(timeout=120_000)
    assert _says(mosquitto, seen, photos / "biden.jpg", tmp_path, "b1") == "I see Joe Biden."

    # Grace Hopper, unknown, comes by twice: one face among the strangers seen lately.
    for n in (1, 2):
        assert _says(mosquitto, seen, photos / "hopper.jpg", tmp_path, f"h{n}") == (
            "I see a stranger."
        )
        time.sleep(1.1)  # a stranger's face is kept at most once a second per camera
    page.reload()
    stranger = page.locator("#strangers li").first
    stranger.wait_for()
    assert stranger.locator("img").count() == 2
    assert "Seen 2 times at door" in stranger.inner_text()
    look_at(page, "browser-faces")

    # One name: she is known from the next frame on.
    stranger.locator("input").fill("Grace Hopper")
    stranger.locator("button").click()
    page.locator("#person-grace-hopper img").first.wait_for()
    assert _says(mosquitto, seen, photos / "hopper.jpg", tmp_path, "h3") == "I see Grace Hopper."
    assert page.locator("#strangers li").count() == 0

    # Renamed, then removed: the files go as `brain faces remove` deletes them.
    page.fill("#person-joe-biden-rename", "Joe")
    page.click("#person-joe-biden form button")
    page.locator("#person-joe img").first.wait_for()
    assert (gallery / "people" / "joe").is_dir() and not (gallery / "people" / "joe-biden").exists()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#person-joe button.danger")
    page.locator("#person-joe").wait_for(state="detached")
    assert not (gallery / "people" / "joe").exists()
    assert [p.name for p in Gallery.open(gallery).people()] == ["grace-hopper", "obama"]


def test_a_photo_without_a_face_is_refused_with_a_reason(
    server: Server, page: Page, tmp_path: Path
) -> None:
    page.goto(server.page_url("faces", source="hall", eye="closed"))
    page.fill("#new-name", "nobody")
    page.set_input_files("#new-photo", str(camera_sized(_blank(tmp_path), tmp_path / "b.jpg")))
    page.click("#add-person button")
    page.wait_for_function(
        "document.getElementById('notice').textContent.includes('no face found')", timeout=120_000
    )
    assert "a photo of Nobody: no face found; give one where the face is clear" in (
        page.locator("#notice").inner_text()
    )
    assert not (tmp_path / "gallery" / "people" / "nobody").exists()


def _blank(tmp_path: Path) -> Path:
    path = tmp_path / "blank.png"
    path.write_bytes(testing.frame((90, 120, 90), size=(320, 240), kind="PNG").data)
    return path


def _says(broker: Broker, seen: Recorder, photo: Path, tmp_path: Path, frame_id: str) -> str:
    """What the cortex says of ``photo``, sent as a frame of the camera ``door``."""
    frame = testing.frame(camera_sized(photo, tmp_path / photo.name), seq=1)
    publish(
        broker,
        "brain/senses/camera/door/image",
        frame.model_copy(update={"id": frame_id}).to_json(),
    )
    [(_, said)] = seen.wait_for(lambda t, p: f'"cause":"{frame_id}"'.encode() in p, timeout=120)
    return Perception.model_validate_json(said).text
