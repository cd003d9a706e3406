"""The visits node: a camera's detections become tracks, one a visit, with who it was,
where it stood and its best view; through the faults a home's camera meets."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from skimage import data as skimage_data

from brain.testing import MemoryBroker, Recording, frame, record, running, send
from brain.visits import Visits, VisitsOptions
from schemas import Box, Label, Track
from tests.support import Broker, NodeProcess, Recorder, publish_many, topic_is
from tests.walks import face, perceived, walking

TOPIC = "brain/perceptions/camera/frontdoor"
TRACKS = "brain/tracks/frontdoor"


@pytest.fixture
def options(tmp_path: Path) -> dict[str, object]:
    return {"state_file": str(tmp_path / "visits.json"), "lost_after": 3.0}


def states(tracks: Recording[Track]) -> list[tuple[str, str]]:
    return [(t.track, t.state) for t in tracks.events]


def test_a_walk_is_one_track_that_starts_once_and_ends(options: dict[str, object]) -> None:
    broker = MemoryBroker()
    tracks = record(broker, Track)
    with running(Visits, broker, options=options):
        for at, box in walking(10):
            send(broker, perceived(at, box))
        ended = tracks.wait_for(lambda t: t.state == "ended")
    ids = {t.track for t in tracks.events}
    assert len(ids) == 1
    assert [s for _, s in states(tracks)].count("started") == 1
    assert ended.label == "person" and ended.identity == "unidentified"
    assert 9 <= ended.seconds <= 10
    assert ended.text == "Someone was at the frontdoor for 10 s."


def test_a_visit_with_a_face_that_matched_is_that_person(options: dict[str, object]) -> None:
    broker = MemoryBroker()
    tracks = record(broker, Track)
    with running(Visits, broker, options=options):
        for n, (at, box) in enumerate(walking(4)):
            # Her face shows in a few frames; once badly enough to be "a stranger".
            faces = (face("alice", box),) if n in (6, 9, 12) else ()
            faces = (face("stranger", box, 0.7),) if n == 14 else faces
            send(broker, perceived(at, box, faces=faces))
        ended = tracks.wait_for(lambda t: t.state == "ended")
    said = [t.identity for t in tracks.events]
    assert said[0] == "unidentified"  # confirmed before her face was seen
    assert said[-1] == "alice" and ended.faces == 4
    assert ended.text == "Alice was at the frontdoor for 4 s."


def test_a_visit_whose_faces_matched_nobody_is_a_stranger(options: dict[str, object]) -> None:
    broker = MemoryBroker()
    tracks = record(broker, Track)
    with running(Visits, broker, options=options):
        for n, (at, box) in enumerate(walking(3)):
            faces = (face("stranger", box, 0.8),) if n % 3 == 0 else ()
            send(broker, perceived(at, box, faces=faces))
        ended = tracks.wait_for(lambda t: t.state == "ended")
    assert ended.identity == "stranger"
    assert {t.identity for t in tracks.events} == {"stranger"}


def test_things_other_than_people_have_no_identity(options: dict[str, object]) -> None:
    broker = MemoryBroker()
    tracks = record(broker, Track)
    with running(Visits, broker, options=options):
        for at, box in walking(2):
            send(broker, perceived(at, box, label="car"))
        started = tracks.wait_for(lambda t: t.state == "started")
    assert started.identity is None and started.text == "A car is at the frontdoor."


def test_one_odd_frame_is_no_visit(options: dict[str, object]) -> None:
    broker = MemoryBroker()
    tracks = record(broker, Track)
    with running(Visits, broker, options=options) as node:
        send(broker, perceived(0.0, Box(x=10, y=10, width=40, height=90)))
        for at, box in walking(2, start=400):
            send(broker, perceived(1 + at, box))
        tracks.wait_for(lambda t: t.state == "started")
        node.idle()
    assert len({t.track for t in tracks.events}) == 1
    assert tracks.events[0].box.x >= 400


def test_two_cortexes_sharing_a_camera_make_one_track(options: dict[str, object]) -> None:
    """Two cortexes take every other frame, and one is slower: their perceptions come
    out of order. The visit is one track, and the late one's face still counts."""
    broker = MemoryBroker()
    tracks = record(broker, Track)
    frames = list(walking(4))
    with running(Visits, broker, options=options) as node:
        for n in range(0, len(frames) - 1, 2):
            (early, first), (late, second) = frames[n], frames[n + 1]
            send(broker, perceived(late, second))
            send(broker, perceived(early, first, faces=(face("bob", first),) if n == 8 else ()))
        ended = tracks.wait_for(lambda t: t.state == "ended")
        node.idle()
    assert len({t.track for t in tracks.events}) == 1
    assert ended.identity == "bob"


def test_a_cortex_killed_mid_visit_leaves_one_visit(options: dict[str, object]) -> None:
    """No perception for two seconds (the cortex restarts), then the walk goes on."""
    broker = MemoryBroker()
    tracks = record(broker, Track)
    with running(Visits, broker, options=options):
        for at, box in walking(6):
            if not 2 <= at < 4:
                send(broker, perceived(at, box))
        tracks.wait_for(lambda t: t.state == "ended")
    assert len({t.track for t in tracks.events}) == 1


def test_the_tracker_restarted_mid_visit_goes_on_with_the_same_track(
    options: dict[str, object],
) -> None:
    broker = MemoryBroker()
    tracks = record(broker, Track)
    walk = list(walking(6))
    with running(Visits, broker, options=options) as first:
        for at, box in walk[:15]:
            send(broker, perceived(at, box, faces=(face("carol", box),) if at == 1 else ()))
        tracks.wait_for(lambda t: t.state == "started")
        first.idle()
    saved = json.loads(Path(str(options["state_file"])).read_text())
    assert len(saved["frontdoor"]["tracks"]) == 1
    with running(Visits, broker, options=options):
        for at, box in walk[15:]:
            send(broker, perceived(at, box))
        ended = tracks.wait_for(lambda t: t.state == "ended")
    assert len({t.track for t in tracks.events}) == 1
    assert [t.state for t in tracks.events].count("started") == 1
    assert ended.identity == "carol" and ended.seconds >= 5


def test_a_damaged_state_file_is_said_and_tracking_goes_on(options: dict[str, object]) -> None:
    Path(str(options["state_file"])).write_text("{not json")
    broker = MemoryBroker()
    tracks = record(broker, Track)
    with running(Visits, broker, options=options):
        for at, box in walking(1):
            send(broker, perceived(at, box))
        tracks.wait_for(lambda t: t.state == "started")


def test_a_camera_that_jumps_ends_its_tracks_and_starts_new_ones(
    options: dict[str, object],
) -> None:
    """A scene cut: the people are elsewhere in the frame at once. Nobody's visit is
    taken up by someone else."""
    broker = MemoryBroker()
    tracks = record(broker, Track)
    with running(Visits, broker, options=options):
        for at, box in walking(2, start=20, y=40):
            send(broker, perceived(at, box))
        for at, box in walking(2, start=300, y=300):
            send(broker, perceived(2 + at, box))
        ended = [tracks.wait_for(lambda t: t.state == "ended")]
        ended.append(tracks.wait_for(lambda t: t.state == "ended" and t.track != ended[0].track))
    assert len({t.track for t in tracks.events}) == 2
    before, after = sorted(ended, key=lambda t: t.first_seen)
    assert before.box.y == 40 and after.box.y == 300


def test_a_crowd_of_hundreds_is_tracked_within_bounds(options: dict[str, object]) -> None:
    broker = MemoryBroker()
    tracks = record(broker, Track)
    crowd = [Box(x=(n % 30) * 21, y=(n // 30) * 40, width=20, height=38) for n in range(300)]
    with running(Visits, broker, options={**options, "max_tracks": 200}) as node:
        for step in range(3):
            send(broker, perceived(step * 0.2, *crowd))
        tracks.wait(200)
        node.idle()
        assert node.stats()["tracks"] == 200
    assert len({t.track for t in tracks.events}) == 200


def test_something_standing_still_for_an_hour_is_one_track(options: dict[str, object]) -> None:
    """A keep-alive frame every 10 s for an hour: one visit, said now and then."""
    broker = MemoryBroker()
    tracks = record(broker, Track)
    box = Box(x=100, y=100, width=60, height=140)
    with running(Visits, broker, options={**options, "lost_after": 30}) as node:
        for step in range(361):
            send(broker, perceived(step * 10.0, box))
        node.idle()
        assert {t.track for t in tracks.events} == {tracks.events[0].track}
        assert [t.state for t in tracks.events].count("started") == 1
        assert tracks.events[-1].seconds == 3600


def test_a_track_says_which_zones_it_stood_in_and_how_long(options: dict[str, object]) -> None:
    porch = [(0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (0.0, 1.0)]  # the bottom left quarter
    zones = {"frontdoor": {"porch": porch}}
    broker = MemoryBroker()
    tracks = record(broker, Track)
    with running(Visits, broker, options={**options, "zones": zones}):
        for at, box in walking(8, y=200):  # feet at y=320 of 480: in the porch's rows
            send(broker, perceived(at, box))
        ended = tracks.wait_for(lambda t: t.state == "ended")
    [porch_time] = ended.zones
    # feet at x = 65 + 60 t: in the porch (x < 320) until t = 4.25 s
    assert porch_time.zone == "porch" and 3.5 <= porch_time.seconds <= 4.5


def test_the_best_view_is_a_crop_of_the_largest_sharpest_sight(options: dict[str, object]) -> None:
    broker = MemoryBroker()
    tracks = record(broker, Track)
    with running(Visits, broker, options=options):
        for n, (at, box) in enumerate(walking(2)):
            image = frame(skimage_data.astronaut(), source="frontdoor", seq=n)
            send(broker, image)
            send(broker, perceived(at, box, cause=image.id))
        ended = tracks.wait_for(lambda t: t.state == "ended")
    assert ended.snapshot is not None
    assert ended.snapshot.data[:2] == b"\xff\xd8"  # a JPEG
    assert max(ended.snapshot.width, ended.snapshot.height) <= 240
    assert ended.snapshot.height > ended.snapshot.width  # a person's shape, not the frame's


def test_perceptions_without_boxes_make_no_track(options: dict[str, object]) -> None:
    broker = MemoryBroker()
    tracks = record(broker, Track)
    with running(Visits, broker, options=options) as node:
        for step in range(5):
            guess = Label(label="golden_retriever", score=0.9)
            send(broker, perceived(step, label="x").model_copy(update={"labels": [guess]}))
        node.idle()
    assert tracks.events == []


def test_what_no_track_can_say_is_refused_and_the_node_goes_on(
    options: dict[str, object],
) -> None:
    """A plugin model's label longer than a track may carry is left out; more zones
    than a track can name are refused at start, with the option's name."""
    many = {f"zone{n}": [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)] for n in range(17)}
    with pytest.raises(ValueError, match=r"zones\.frontdoor"):
        VisitsOptions.model_validate({**options, "zones": {"frontdoor": many}})
    broker = MemoryBroker()
    tracks = record(broker, Track)
    with running(Visits, broker, options=options):
        for at, box in walking(1):
            send(broker, perceived(at, box, label="x" * 65))
            send(broker, perceived(at, box))
        started = tracks.wait_for(lambda t: t.state == "started")
    assert started.label == "person"


# -- as a process on a real broker -------------------------------------------------------


def test_the_visits_node_killed_mid_visit_goes_on_with_the_same_track(
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
    tmp_path: Path,
) -> None:
    """Killed at once (SIGKILL): the broker holds the perceptions that come meanwhile
    (its session is persistent), and the tracks it saved take them up again."""
    heard = record(mosquitto, "brain/tracks/#")
    state = tmp_path / "visits.json"

    def start() -> NodeProcess:
        node = brain_process("--mqtt", mosquitto.url, "--set", f'visits.state_file="{state}"',
                             "--set", "visits.lost_after=3", "node", "visits")  # fmt: skip
        node.wait_online(mosquitto, "visits")
        return node

    walk = [perceived(at, box).to_json() for at, box in walking(8)]
    node = start()
    publish_many(mosquitto, [(TOPIC, payload) for payload in walk[:15]])
    heard.wait_for(lambda topic, payload: b'"started"' in payload)
    while "frontdoor" not in (state.read_text() if state.exists() else ""):
        time.sleep(0.05)  # saved every second
    node.stop(signal.SIGKILL)
    publish_many(mosquitto, [(TOPIC, payload) for payload in walk[15:]])
    node = start()
    [(_, ended)] = heard.wait_for(lambda topic, payload: b'"ended"' in payload, timeout=60)
    node.stop()
    said = [Track.model_validate_json(payload) for _, payload in heard.matching(topic_is(TRACKS))]
    assert {track.track for track in said} == {Track.model_validate_json(ended).track}
    assert [track.state for track in said].count("started") == 1
    assert Track.model_validate_json(ended).seconds >= 7.5
