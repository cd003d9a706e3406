"""Visits on a real video: OpenCV's car park (vtest.avi, from Debian's opencv-doc), the
people model's detections of it with the real NanoDet-g weights, and the tracker on
them. Twelve walks across it were followed by eye (``tests/walks.py``): each should
be one track most of the time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brain.cortex import CortexOptions
from brain.cortex.people import People
from brain.testing import MemoryBroker, running
from brain.testing import record as recording
from schemas import Alert, Perception, Track
from tests.scenes import walking_in
from tests.walks import track_vtest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def people(people_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> People:
    gallery = tmp_path_factory.mktemp("gallery")
    options = {"model": "people", "weights": people_weights, "gallery": gallery}
    return People.load(CortexOptions.model_validate(options))


def test_each_walk_across_a_car_park_is_one_track_most_of_the_time(people: People) -> None:
    """At 5 frames a second: a cortex that keeps up with half of a camera's frames."""
    figures = track_vtest(people, fps=5).figures()
    print(json.dumps(figures))
    detections, tracks = figures["detections"], figures["tracks"]
    assert isinstance(detections, int) and isinstance(tracks, int)
    assert tracks * 30 < detections  # a track is a person's walk, not a frame
    assert figures["walks_in_one_track"] >= 9  # of 12
    assert figures["tracks_in_two_walks"] <= 3  # a track rarely goes on with another walker


def test_people_walking_into_a_car_park_are_one_alert_each_not_one_a_frame(
    people_weights: Path, tmp_path: Path
) -> None:
    """camera -> cortex (people) -> visits -> alerts, each as `brain run` runs it, on the
    empty car park and then the people walking in: an alert per visit, each with its
    track, and none a second time for the same visit."""
    from brain.cortex import Cortex
    from brain.visits import Visits
    from effectors.alerts import Alerts
    from senses.camera import Camera

    video = walking_in(tmp_path / "walking.avi", still=10, walking=40)
    broker = MemoryBroker()
    alerts, tracks = recording(broker, Alert), recording(broker, Track)
    seen = recording(broker, Perception)
    cortex = {"model": "people", "weights": str(people_weights), "gallery": str(tmp_path)}
    rules = [{"name": "door", "labels": ["person"], "cooldown": 0}]
    alerts_options = {"outbox": tmp_path / "o.sqlite3", "armed_file": tmp_path / "a.json",
                      "clips": tmp_path / "clips", "rules": rules}  # fmt: skip
    camera = {"source": str(video), "name": "door", "fps": 10, "loop": False}
    with (
        running(Cortex, broker, options=cortex) as thinking,
        running(Visits, broker, options={"state_file": tmp_path / "visits.json"}) as visits,
        running(Alerts, broker, options=alerts_options) as alerting,
    ):
        with running(Camera, broker, options={**camera, "still_every": 600}) as eye:
            eye.wait_stopped()
        thinking.idle()
        visits.idle()
        alerting.idle()
    with_people = [p for p in seen.events if any(lab.label == "person" for lab in p.labels)]
    started = {t.track for t in tracks.events if t.state == "started"}
    fired = [alert.track.track for alert in alerts.events if alert.track is not None]
    print(json.dumps({"perceptions_with_people": len(with_people), "visits": len(started),
                      "alerts": len(alerts.events)}))  # fmt: skip
    assert started and len(fired) == len(alerts.events)
    assert sorted(fired) == sorted(set(fired)) and set(fired) <= started
    assert len(alerts.events) < len(with_people) / 3
