"""The page's Visits view, in a real Chromium, on the nodes a home runs (camera, faces
cortex, visits, alerts, recorder, browser), each a process on a real broker."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page

from brain.faces import Gallery, identity_availability
from schemas import Clip
from tests.chromium import CHROMIUM, look_at, start_browser_node
from tests.people import camera_sized, people_photos
from tests.support import Broker, NodeProcess, Recorder, cortex, topic_is, wait_until_serving

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@pytest.mark.skipif(not identity_availability()[0], reason="needs the faces extra (dlib)")
def test_a_visit_is_shown_by_day_plays_from_its_moment_and_is_named_or_dismissed(
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
    page: Page,
    tmp_path: Path,
    family_gallery: Path,
) -> None:
    store, pictures, gallery = tmp_path / "recordings", tmp_path / "pictures", tmp_path / "gallery"
    pictures.mkdir()
    camera_sized(people_photos() / "hopper.jpg", pictures / "hopper.jpg")
    shutil.copytree(family_gallery, gallery)
    config = tmp_path / "brain.toml"
    config.write_text(
        f'[camera]\nsource = "{pictures}"\nname = "door"\nfps = 2\nmotion = false\n'
        f'[cortex]\nmodel = "faces"\ngallery = "{gallery}"\n'
        f'[recorder]\ndirectory = "{store}"\n'
        f'[alerts]\noutbox = "{tmp_path / "outbox.sqlite3"}"\n'
        f'armed_file = "{tmp_path / "armed.json"}"\nclips = "{tmp_path / "clips"}"\n'
        "clip_before = 2\nclip_after = 2\n"
        '[[alerts.rules]]\nname = "stranger"\nlabels = ["stranger"]\n'
    )
    clips = record(mosquitto, "brain/clips/#")
    node = ("--mqtt", mosquitto.url, "--config", str(config), "node")
    for name in ("recorder", "visits", "alerts"):
        brain_process(*node, name).wait_online(mosquitto, name)
    server = start_browser_node(
        mosquitto, brain_process, tmp_path, "--set", f'browser.recordings="{store}"'
    )
    wait_until_serving(brain_process(*node, "cortex"), mosquitto)
    brain_process(*node, "camera")
    [(_, payload)] = clips.wait_for(topic_is("brain/clips/stranger"), timeout=180)
    clip = Clip.model_validate_json(payload)
    assert clip.moment is not None and 0 < clip.moment <= clip.seconds
    _wait_for_file(store / "clips" / f"{clip.alert}.mp4")

    # The day's timeline: her visit, with its best view, going on.
    page.goto(server.page_url("visits", source="hall", eye="closed"))
    visit = page.locator("#timeline li").first
    visit.wait_for(timeout=60_000)
    assert page.locator("#timeline h3").first.inner_text() == "Today"
    assert "a stranger at door" in visit.inner_text() and "alert stranger" in visit.inner_text()
    page.wait_for_function("document.querySelector('#timeline li img').naturalWidth > 0")
    look_at(page, "browser-visits")

    # Opened: the clip, its best view as the poster, from the moment the rule fired.
    thumbnail = visit.locator("img").get_attribute("src")
    visit.locator("button").click()
    video = page.locator("#visit-video")
    assert video.get_attribute("poster") == thumbnail
    assert video.get_attribute("src") == f"alerts/{clip.alert}/clip"
    page.wait_for_function(
        "at => { const v = document.getElementById('visit-video');"
        " return v.readyState >= 1 && Math.abs(v.currentTime - at) < 0.3; }",
        arg=clip.moment,
        timeout=60_000,
    )
    video.evaluate("v => v.play()")
    page.wait_for_function(
        "at => document.getElementById('visit-video').currentTime > at + 0.2",
        arg=clip.moment,
        timeout=60_000,
    )
    look_at(page, "browser-visit")

    # "Not a person": kept as a false alarm, and counted on the health view.
    page.click("#visit-false")
    page.wait_for_function("document.getElementById('visit-false').ariaPressed === 'true'")
    # "This is Grace Hopper": the faces the page saw in her visit are enrolled.
    page.fill("#visit-person", "Grace Hopper")
    page.click("#visit-name button")
    page.wait_for_function(
        "document.getElementById('notice').textContent.startsWith('This is Grace Hopper')",
        timeout=120_000,
    )
    assert "grace-hopper" in [p.name for p in Gallery.open(gallery).people()]
    page.goto(server.page_url("health", source="hall", eye="closed"))
    page.wait_for_function(
        "document.getElementById('false-alarms').textContent === 'False alarms marked: 1'"
    )

    # The day before holds nothing; the camera's tile lists the visit.
    page.goto(server.page_url("visits", source="hall", eye="closed"))
    yesterday = page.evaluate("new Date(Date.now() - 86400000).toISOString().slice(0, 10)")
    page.fill("#visit-day", yesterday)
    page.click("#visit-filters button")
    page.locator("#visits-empty").wait_for()
    page.goto(server.page_url("live", source="hall", eye="closed"))
    page.click("#tile-door")
    page.locator("#camera-visits li button").first.wait_for()
    assert "door" in page.locator("#camera-visits li").first.inner_text()


def test_an_alert_of_a_frame_rule_is_shown_with_its_snapshot_and_plays(
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
    page: Page,
    tmp_path: Path,
) -> None:
    """Camera, cortex, alerts, recorder and page, each a process on a real broker."""
    store, pictures = tmp_path / "recordings", tmp_path / "pictures"
    pictures.mkdir()
    for n in range(3):
        Image.new("RGB", (320, 240), (200 + 20 * n, 20, 30)).save(pictures / f"red{n}.jpg")
    (tmp_path / "brain.toml").write_text(
        f'[alerts]\noutbox = "{tmp_path / "outbox.sqlite3"}"\n'
        f'armed_file = "{tmp_path / "armed.json"}"\nclips = "{tmp_path / "clips"}"\n'
        "clip_before = 2\nclip_after = 2\n"
        '[[alerts.rules]]\nname = "red"\nlabels = ["red"]\nwindow = 1\ncooldown = 600\n'
        f'[recorder]\ndirectory = "{store}"\n'
        f'[camera]\nsource = "{pictures}"\nname = "door"\nfps = 4\n'
        "motion = false\n"  # shades of red: every slide, as a clip needs frames
    )
    clips = record(mosquitto, "brain/clips/#")
    config = ("--mqtt", mosquitto.url, "--config", str(tmp_path / "brain.toml"))
    recorder = brain_process(*config, "node", "recorder")
    recorder.wait_online(mosquitto, "recorder")
    alerts = brain_process(*config, "node", "alerts")
    alerts.wait_online(mosquitto, "alerts")
    cortex(mosquitto, brain_process, "--config", str(tmp_path / "brain.toml"))
    brain_process(*config, "node", "camera")
    [(_, payload)] = clips.wait_for(topic_is("brain/clips/red"), timeout=120)
    clip = Clip.model_validate_json(payload)
    assert clip.frames >= 4 and clip.seconds >= 1, clip.model_dump(exclude={"data"})
    _wait_for_file(store / "clips" / f"{clip.alert}.mp4")  # the recorder's copy

    browser = start_browser_node(
        mosquitto, brain_process, tmp_path, "--set", f'browser.recordings="{store}"'
    )
    page.goto(browser.page_url("visits", source="hall", eye="closed"))
    item = page.locator(f"#visit-{clip.alert}")
    item.wait_for(timeout=60_000)
    assert "red at door" in item.inner_text()  # no visit: the rule's name says what it was
    assert item.locator("img").get_attribute("src") == f"alerts/{clip.alert}/snapshot"
    item.locator("button").click()
    video = page.locator("#visit-video")
    video.evaluate("v => v.play()")
    page.wait_for_function(
        "() => { const v = document.getElementById('visit-video');"
        " return v.duration > 1 && v.currentTime > 0.5; }",
        timeout=60_000,
    )
    assert page.locator("#visit-name").is_hidden()  # a frame has no visitor to name
    page.click("#visit-close")

    # Filters: the camera shows it; the day before shows nothing.
    page.select_option("#visit-camera", "door")
    page.click("#visit-filters button")
    item.wait_for()
    yesterday = page.evaluate("new Date(Date.now() - 86400000).toISOString().slice(0, 10)")
    page.fill("#visit-day", yesterday)
    page.click("#visit-filters button")
    page.locator("#visits-empty").wait_for(state="visible")


def _wait_for_file(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never came"
        time.sleep(0.1)
