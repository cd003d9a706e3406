"""Rules per visit: the alerts node judges the tracks the visits node makes of a
camera's perceptions (both in this process, on a broker in memory): one alert a
visit, the family left alone, zones and loitering, and how the visit ended."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from brain.testing import MemoryBroker, Recording, running, send
from brain.testing import record as recording
from brain.visits import Visits
from effectors.alerts import Alerts
from schemas import Alert, Box, Track
from tests.walks import face, perceived, walking
from tests.webhook import Webhook


@contextlib.contextmanager
def watching(
    tmp_path: Path, *rules: dict[str, Any], zones: dict[str, Any] | None = None
) -> Iterator[tuple[MemoryBroker, Recording[Alert], Recording[Track]]]:
    """The visits and the alerts nodes, with ``rules``; the alerts and tracks they say,
    all of them once the ``with`` ends (both nodes have handled all they were given)."""
    broker = MemoryBroker()
    alerts, tracks = recording(broker, Alert), recording(broker, Track)
    visits = {"state_file": tmp_path / "visits.json", "lost_after": 3.0, "zones": zones or {}}
    options = {
        "outbox": tmp_path / "outbox.sqlite3",
        "armed_file": tmp_path / "armed.json",
        "clips": tmp_path / "clips",
        "rules": list(rules),
    }
    with (
        running(Visits, broker, options=visits) as visiting,
        running(Alerts, broker, options=options) as alerting,
    ):
        yield broker, alerts, tracks
        visiting.idle()
        alerting.idle()


def walk_by(broker: MemoryBroker, seconds: float, *, shows: str | None = None) -> None:
    """A person walks by; ``shows`` their face (a name, or stranger) after a second."""
    for n, (at, box) in enumerate(walking(seconds)):
        faces = (face(shows, box, 0.4 if shows != "stranger" else 0.8),) if shows and n >= 5 else ()
        send(broker, perceived(at, box, faces=faces))


def test_one_walk_through_the_door_is_one_alert(tmp_path: Path) -> None:
    with watching(tmp_path, {"name": "door", "labels": ["person"]}) as (broker, alerts, tracks):
        walk_by(broker, 10)
        ended = tracks.wait_for(lambda t: t.state == "ended")
    [alert] = alerts.events
    assert alert.rule == "door" and alert.track is not None
    assert alert.track.track == ended.track
    assert alert.id.startswith(ended.track)


def test_the_familys_visit_fires_nothing_and_a_strangers_does(tmp_path: Path) -> None:
    rule = {
        "name": "intruder",
        "labels": ["stranger", "unidentified"],
        "ignore": ["alice"],
        "min_seconds": 2.0,  # time for a face to show
    }
    with watching(tmp_path, rule) as (broker, alerts, tracks):
        walk_by(broker, 5, shows="alice")
        tracks.wait_for(lambda t: t.state == "ended" and t.identity == "alice")
        assert alerts.events == []
        send(broker, perceived(20.0, Box(x=300, y=10, width=50, height=120)))
        for at, box in walking(5, start=300, y=10):
            faces = (face("stranger", box, 0.8),) if at >= 1 else ()
            send(broker, perceived(20 + at, box, faces=faces))
        [alert] = alerts.wait(1)
    assert alert.track is not None and alert.track.identity == "stranger"
    assert alert.perception.text == "I see someone."  # the perception it fired on


def test_a_visit_with_no_face_is_unidentified_and_fires_its_rule(tmp_path: Path) -> None:
    rule = {"name": "nobody-known", "labels": ["unidentified"], "min_seconds": 2.0}
    with watching(tmp_path, rule) as (broker, alerts, _):
        walk_by(broker, 4)
        [alert] = alerts.wait(1)
    assert alert.track is not None and alert.track.seconds >= 2.0
    assert alert.track.text == "Someone is at the frontdoor."


def test_a_zone_and_time_in_it_loitering(tmp_path: Path) -> None:
    """The porch is the frame's left half; the rule wants 3 s in it. A walk through it
    (feet in it for 1.6 s) fires nothing; one who stays fires once, after 3 s there."""
    porch = [(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)]
    rule = {"name": "loiter", "labels": ["person"], "zone": "porch", "min_seconds": 3}
    with watching(tmp_path, rule, zones={"frontdoor": {"porch": porch}}) as (
        broker,
        alerts,
        tracks,
    ):
        for at, box in walking(8, start=200):
            send(broker, perceived(at, box))
        passed = tracks.wait_for(lambda t: t.state == "ended")
        assert alerts.events == [] and 1.0 <= passed.zones[0].seconds <= 1.6
        for step in range(40):  # stands in the porch for 8 s
            send(broker, perceived(30 + step / 5, Box(x=60, y=100, width=50, height=120)))
        [alert] = alerts.wait(1)
    assert alert.track is not None
    [porch_time] = alert.track.zones
    assert porch_time.zone == "porch" and 3 <= porch_time.seconds < 5


def test_someone_standing_still_for_an_hour_is_one_alert(tmp_path: Path) -> None:
    rule = {"name": "door", "labels": ["person"], "cooldown": 60}
    with watching(tmp_path, rule) as (broker, alerts, tracks):
        box = Box(x=100, y=100, width=60, height=140)
        for step in range(361):  # a keep-alive frame every 10 s
            send(broker, perceived(step * 10.0, box))
        tracks.wait_for(lambda t: t.seconds >= 3600)
    assert len(alerts.events) == 1


def test_the_alerts_restarted_mid_visit_do_not_fire_again(tmp_path: Path) -> None:
    rule = {"name": "door", "labels": ["person"], "cooldown": 0}
    with watching(tmp_path, rule) as (broker, alerts, tracks):
        walk = list(walking(8))
        for at, box in walk[:10]:
            send(broker, perceived(at, box))
        alerts.wait(1)
    with watching(tmp_path, rule) as (broker, alerts, tracks):  # the same state files
        for at, box in walk[10:]:
            send(broker, perceived(at, box))
        tracks.wait_for(lambda t: t.state == "ended")
        assert alerts.events == []


def test_a_crowd_is_not_a_flood_of_alerts(tmp_path: Path) -> None:
    crowd = [Box(x=(n % 30) * 21, y=(n // 30) * 40, width=20, height=38) for n in range(200)]
    rule = {"name": "door", "labels": ["person"], "cooldown": 60}
    with watching(tmp_path, rule) as (broker, alerts, tracks):
        for step in range(4):
            send(broker, perceived(step * 0.2, *crowd))
        tracks.wait(200)
        alerts.wait(1)
    assert len(alerts.events) == 1


def test_the_end_of_a_visit_is_told_with_its_best_view(tmp_path: Path, webhook: Webhook) -> None:
    rule = {"name": "door", "labels": ["person"], "targets": [webhook.url]}
    with watching(tmp_path, rule) as (broker, _alerts, tracks):
        walk_by(broker, 4, shows="stranger")
        tracks.wait_for(lambda t: t.state == "ended")
        first, last = webhook.wait_for(2)
    assert first["title"] == "brain: door at frontdoor"
    assert first["message"].startswith("Someone is at the frontdoor.")
    assert last["title"] == "brain: door at frontdoor, the whole visit"
    assert last["message"].startswith("A stranger was at the frontdoor for 4 s.")
