"""Who is at the door: `brain faces` on real photos of real people, the gallery on disk,
and the faces model telling the family from strangers."""

from __future__ import annotations

import json
import shutil
import subprocess
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import structlog.testing
from PIL import Image

from brain._images import decode_bytes
from brain.cortex._language import sentence
from brain.cortex.faces import Faces
from brain.faces import EMBEDDING, THRESHOLD, Gallery, GalleryError, name_of
from effectors._rules import Rule
from schemas import Alert, Label, Perception
from tests.people import OBAMA, OTHERS, camera_sized, people_photos, side_by_side
from tests.support import Broker, NodeProcess, Recorder, brain_command, topic_is
from tests.webhook import Webhook

pytest.importorskip("dlib")
pytest.importorskip("mtcnn")


@pytest.fixture(scope="module")
def photos() -> Path:
    return people_photos()


def faces(*args: object) -> subprocess.CompletedProcess[str]:
    return brain_command("faces", *args)


def who(gallery: Path, *photos: Path) -> dict[str, list[dict[str, object]]]:
    done = faces("who", "--json", "--gallery", gallery, *photos)
    assert done.returncode == 0, done.stderr
    return {Path(d["photo"]).name: d["faces"] for d in map(json.loads, done.stdout.splitlines())}


def test_one_photo_enrolled_the_others_are_recognised_and_other_people_are_strangers(
    photos: Path, tmp_path: Path
) -> None:
    gallery = tmp_path / "gallery"
    added = faces("add", "Obama", photos / OBAMA[0], "--gallery", gallery)
    assert added.returncode == 0, added.stderr
    assert "obama: 1 photos added, 0 skipped" in added.stdout
    assert "loading the face finder" in added.stderr  # the seconds it takes are said first

    seen = who(gallery, *(photos / name for name in OBAMA[1:] + OTHERS))
    for name in OBAMA[1:]:
        [face] = seen[name]
        assert face["name"] == "obama" and float(face["distance"]) < THRESHOLD  # type: ignore[arg-type]
    for name in OTHERS:
        [face] = seen[name]
        assert face["name"] == "stranger" and float(face["distance"]) > THRESHOLD  # type: ignore[arg-type]
        assert set(face["box"]) == {"x", "y", "width", "height"}  # type: ignore[arg-type]

    listed = faces("list", "--gallery", gallery)
    assert "obama" in listed.stdout and "1 photos" in listed.stdout


def test_bad_photos_are_skipped_one_sentence_each_and_the_rest_are_added(
    photos: Path, tmp_path: Path
) -> None:
    gallery = tmp_path / "gallery"
    no_face = tmp_path / "coffee.png"
    Image.fromarray(np.full((300, 400, 3), 90, np.uint8)).save(no_face)
    two = side_by_side(photos / "obama2.jpg", photos / "biden.jpg", tmp_path / "two.png")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes((photos / "obama3.jpg").read_bytes()[:20_000])
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    given = [photos / "obama.jpg", no_face, two, truncated, text, tmp_path / "missing.jpg"]

    done = faces("add", "obama", *given, "--gallery", gallery)
    assert done.returncode == 0, done.stderr
    assert f"added {photos / 'obama.jpg'}" in done.stdout
    assert f"skipped {no_face}: no face found" in done.stdout
    assert f"skipped {two}: 2 faces; give a photo of one person, or --pick largest" in done.stdout
    assert f"skipped {truncated}: the image is truncated" in done.stdout
    assert f"skipped {text}: the payload is not an image" in done.stdout
    assert f"skipped {tmp_path / 'missing.jpg'}: cannot be read" in done.stdout
    assert "obama: 1 photos added, 5 skipped" in done.stdout

    picked = faces("add", "obama", two, "--pick", "largest", "--gallery", gallery)
    assert picked.returncode == 0 and f"added {two}" in picked.stdout

    nothing = faces("add", "bob", no_face, "--gallery", gallery)
    assert nothing.returncode == 1 and "no face of bob was enrolled" in nothing.stderr
    bad_name = faces("add", "stranger", photos / "obama.jpg", "--gallery", gallery)
    assert bad_name.returncode == 1 and "'stranger' cannot be a name" in bad_name.stderr


def test_removing_a_person_deletes_all_that_was_kept_of_them(photos: Path, tmp_path: Path) -> None:
    gallery = tmp_path / "gallery"
    assert (
        faces(
            "add", "obama", photos / "obama.jpg", photos / "obama2.jpg", "--gallery", gallery
        ).returncode
        == 0
    )
    assert faces("add", "biden", photos / "biden.jpg", "--gallery", gallery).returncode == 0
    kept = list((gallery / "people" / "obama").iterdir())
    assert len([p for p in kept if p.suffix == ".npy"]) == 2 and any(
        p.suffix == ".jpg" for p in kept
    )

    done = faces("remove", "obama", "--gallery", gallery)
    assert done.returncode == 0, done.stderr
    assert not (gallery / "people" / "obama").exists()
    assert not [p for p in gallery.rglob("*") if "obama" in p.name]
    assert [p.name for p in Gallery.open(gallery).people()] == ["biden"]

    unknown = faces("remove", "obama", "--gallery", gallery)
    assert unknown.returncode == 1
    assert "there is no 'obama' in the gallery" in unknown.stderr and "biden" in unknown.stderr


def test_renaming_a_person_keeps_their_faces_under_the_new_name(
    family_gallery: Path, tmp_path: Path
) -> None:
    gallery = tmp_path / "gallery"
    shutil.copytree(family_gallery, gallery)
    faces_before = Gallery.open(gallery).photo_ids("obama")

    done = faces("rename", "obama", "Barack Obama", "--gallery", gallery)
    assert done.returncode == 0, done.stderr
    assert "renamed obama to barack-obama" in done.stdout
    renamed = Gallery.open(gallery)
    assert [p.name for p in renamed.people()] == ["barack-obama"]
    assert renamed.photo_ids("barack-obama") == faces_before
    assert not (gallery / "people" / "obama").exists()

    taken = faces("rename", "nobody", "x", "--gallery", gallery)
    assert taken.returncode == 1 and "there is no 'nobody' in the gallery" in taken.stderr
    reserved = faces("rename", "barack-obama", "stranger", "--gallery", gallery)
    assert reserved.returncode == 1 and "'stranger' cannot be a name" in reserved.stderr


def test_a_damaged_or_foreign_gallery_is_one_sentence(photos: Path, tmp_path: Path) -> None:
    gallery = tmp_path / "gallery"
    assert faces("add", "obama", photos / "obama.jpg", "--gallery", gallery).returncode == 0
    index = gallery / "gallery.json"
    good = index.read_text()

    index.write_text(good.replace(EMBEDDING, "facenet512"))
    done = faces("list", "--gallery", gallery)
    assert done.returncode == 1 and "made with the 'facenet512' embedding" in done.stderr
    assert "Traceback" not in done.stderr

    index.write_text("{not json")
    done = faces("who", photos / "obama2.jpg", "--gallery", gallery)
    assert done.returncode == 1 and "gallery.json is damaged" in done.stderr

    index.write_text(good)
    [vector] = (gallery / "people" / "obama").glob("*.npy")
    vector.write_bytes(b"garbage")
    with pytest.raises(GalleryError, match=r"is damaged .*brain faces remove obama"):
        Gallery.open(gallery)


def frame_of(path: Path, folder: Path) -> np.ndarray:
    """The photo as a camera's decoded 640-pixel frame."""
    return decode_bytes(camera_sized(path, folder / f"frame-{path.stem}.jpg").read_bytes())


def test_the_faces_model_names_people_once_the_gallery_has_them(
    photos: Path, tmp_path: Path
) -> None:
    gallery = tmp_path / "gallery"
    model = Faces.load(types.SimpleNamespace(gallery=gallery, face_threshold=THRESHOLD))
    obama, hopper = (
        frame_of(photos / "obama2.jpg", tmp_path),
        frame_of(photos / "hopper.jpg", tmp_path),
    )

    # An empty gallery: as before, a person per face and nothing more.
    [[person], [other]] = model.classify([obama, hopper])
    assert person.label == other.label == "person" and person.distance is None

    # Someone enrols Obama meanwhile (the CLI, or the page): the model reads it again.
    assert faces("add", "obama", photos / "obama.jpg", "--gallery", gallery).returncode == 0
    [[person, name], [other_person, stranger]] = model.classify([obama, hopper])
    assert (person.label, name.label) == ("person", "obama") and name.box == person.box
    assert (other_person.label, stranger.label) == ("person", "stranger")
    assert sentence([person, name, other_person, stranger]) == "I see Obama and a stranger."

    # A gallery damaged while the cortex runs: the faces known before are kept.
    (gallery / "gallery.json").write_text("{")
    [[_, still]] = model.classify([obama])
    assert still.label == "obama"


def test_sentences_name_the_people_and_count_the_strangers() -> None:
    def person() -> Label:
        return Label(label="person", score=0.99)

    def told(name: str) -> Label:
        return Label(label=name, score=0.99, distance=0.3)

    assert sentence([person(), told("alice")]) == "I see Alice."
    assert sentence([person(), told("alice"), person(), told("stranger")]) == (
        "I see Alice and a stranger."
    )
    labels = [person(), told("anna-maria"), person(), told("stranger"), person(), told("stranger")]
    assert sentence([*labels, person()]) == "I see Anna Maria, 2 strangers and someone else."
    assert sentence([person(), person()]) == "I see 2 people."


def test_a_rule_can_ignore_the_family_when_no_one_else_is_there() -> None:
    rule = Rule(name="door", labels=["person"], ignore=["alice", "bob"])

    def seen(*names: str, untold: int = 0) -> Perception:
        labels = [Label(label="person", score=0.9) for _ in range(len(names) + untold)]
        labels += [Label(label=n, score=0.9, distance=0.4) for n in names]
        return Perception(
            source="door", cause="x", sense="camera", kind="vision", labels=labels, text="."
        )

    assert rule.score(seen("alice")) == 0
    assert rule.score(seen("alice", "bob")) == 0
    assert rule.score(seen("alice", "stranger")) == 0.9
    assert rule.score(seen("alice", untold=1)) == 0.9  # someone too far to tell
    assert (
        Rule(name="dog", labels=["dog"], ignore=["alice"]).score(
            Perception(
                source="d",
                cause="x",
                sense="camera",
                kind="vision",
                labels=[Label(label="dog", score=0.8)],
                text=".",
            )
        )
        == 0.8
    )


def test_names_are_one_word_in_lower_case() -> None:
    assert name_of("Anna Maria") == "anna-maria"
    for bad in ("person", "Stranger", "unidentified", "a/b", "", "x" * 40):
        with pytest.raises(GalleryError, match="cannot be a name"):
            name_of(bad)


def test_a_stranger_at_the_door_is_an_alert_with_its_snapshot_and_the_family_is_not(
    photos: Path,
    tmp_path: Path,
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
    webhook: Webhook,
) -> None:
    gallery, door = tmp_path / "gallery", tmp_path / "door"
    door.mkdir()
    camera_sized(photos / "obama2.jpg", door / "1-obama.jpg")
    camera_sized(photos / "hopper.jpg", door / "2-hopper.jpg")
    assert faces("add", "obama", photos / "obama.jpg", "--gallery", gallery).returncode == 0
    # Rules on frames: the camera plays two photos in turn, so no visit lasts.
    rule = 'per = "frame"\nwindow = 1\ncooldown = 0\nmin_score = 0.5\n'
    (tmp_path / "brain.toml").write_text(
        f'[camera]\nsource = "{door}"\nname = "frontdoor"\nfps = 1\n'
        f'[cortex]\nmodel = "faces"\ngallery = "{gallery}"\n'
        f'[alerts]\noutbox = "{tmp_path / "outbox.sqlite3"}"\n'
        f'[[alerts.rules]]\nname = "stranger"\nlabels = ["stranger"]\n{rule}'
        f'targets = ["{webhook.url}"]\n'
        f'[[alerts.rules]]\nname = "someone"\nlabels = ["person"]\n{rule}'
    )
    alerts = record(mosquitto, "brain/alerts/#")
    run = brain_process(
        "--mqtt",
        mosquitto.url,
        "--config",
        str(tmp_path / "brain.toml"),
        "run",
        "camera",
        "cortex",
        "alerts",
    )
    # Every face fires `someone`; only Grace Hopper's fires `stranger`, with her face.
    someone = alerts.wait_for(topic_is("brain/alerts/someone"), count=4, timeout=600)
    texts = {Alert.model_validate_json(p).perception.text for _, p in someone}
    assert texts == {"I see Obama.", "I see a stranger."}, run.log()
    [hook, *_] = webhook.wait_for(1, timeout=60)
    assert hook["title"] == "brain: stranger at frontdoor"
    assert hook["message"].startswith("I see a stranger.")
    assert hook["attachments"][0]["mimetype"] == "image/jpeg"
    for _, payload in alerts.matching(topic_is("brain/alerts/stranger")):
        alert = Alert.model_validate_json(payload)
        assert alert.perception.text == "I see a stranger." and alert.snapshot is not None
        [name] = [label for label in alert.perception.labels if label.distance is not None]
        assert name.label == "stranger" and name.box is not None
    assert run.stop() == 0


def test_the_familys_visit_fires_no_stranger_alert_and_a_strangers_fires_one(
    photos: Path, tmp_path: Path
) -> None:
    """camera -> cortex (faces, Obama enrolled) -> visits -> alerts, in this process: Obama
    stands at the door for a few frames, goes, and Grace Hopper comes. His visit is his;
    hers is a stranger's, and the rule on strangers fires once for it, not once a frame."""
    from brain.cortex import Cortex
    from brain.testing import MemoryBroker, running
    from brain.testing import record as recording
    from brain.visits import Visits
    from effectors.alerts import Alerts
    from schemas import Track
    from senses.camera import Camera

    gallery, door = tmp_path / "gallery", tmp_path / "door"
    door.mkdir()
    for n in range(6):
        camera_sized(photos / "obama2.jpg", door / f"{n:02d}-obama.jpg")
        camera_sized(photos / "hopper.jpg", door / f"{n + 10:02d}-hopper.jpg")
    for n in range(6, 10):  # nobody at the door for 4 s
        Image.new("RGB", (640, 480), (90, 90, 90)).save(door / f"{n:02d}-nobody.jpg")
    assert faces("add", "obama", photos / "obama.jpg", "--gallery", gallery).returncode == 0
    broker = MemoryBroker()
    alerts, tracks = recording(broker, Alert), recording(broker, Track)
    rules = [{"name": "stranger", "labels": ["stranger"], "cooldown": 0}]
    camera = {"source": str(door), "name": "frontdoor", "fps": 1, "loop": False,
              "motion": False}  # fmt: skip
    with (
        running(Cortex, broker, options={"model": "faces", "gallery": str(gallery)}) as cortex,
        running(Visits, broker, options={"state_file": tmp_path / "v.json", "lost_after": 2}),
        running(
            Alerts,
            broker,
            options={
                "outbox": tmp_path / "o.sqlite3",
                "rules": rules,
                "armed_file": tmp_path / "a.json",
            },
        ) as alerting,  # fmt: skip
    ):
        with running(Camera, broker, options=camera) as eye:
            eye.wait_stopped()
        cortex.idle()
        ended = tracks.wait_for(lambda t: t.state == "ended" and t.identity == "stranger")
        alerting.idle()
    who = {t.track: t.identity for t in tracks.events if t.state == "ended"}
    assert "obama" in who.values(), who
    [alert] = alerts.events
    assert alert.track is not None and alert.track.track == ended.track
    assert alert.track.text == "A stranger is at the frontdoor."


def test_a_damaged_gallery_at_start_still_leaves_people_seen_and_says_why(
    photos: Path, tmp_path: Path
) -> None:
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    (gallery / "gallery.json").write_text("{")
    with structlog.testing.capture_logs() as logs:
        model = Faces.load(types.SimpleNamespace(gallery=gallery, face_threshold=THRESHOLD))
    assert any("gallery.json is damaged" in str(entry.get("reason")) for entry in logs)
    [[person]] = model.classify([frame_of(photos / "obama2.jpg", tmp_path)])
    assert person.label == "person"
