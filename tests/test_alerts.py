"""The alerts node: its rules in this process on a broker in memory, and its deliveries
as a process on a real broker, to the test's own webhook on 127.0.0.1."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog.testing
from PIL import Image

from brain import testing
from brain.cli._run import _warn_of_labels_no_model_gives
from brain.config import load_settings
from brain.plugins import discover
from brain.testing import MemoryBroker, Running, running, send
from brain.testing import record as recording
from effectors._rules import validate_rules
from effectors._snapshot import SnapshotError, downscale
from effectors.alerts import Alerts
from schemas import Alert, Clip, Command, ErrorEvent, ImageEvent, Label, Perception, State
from tests.shapes import bomb_jpeg
from tests.support import Broker, NodeProcess, Recorder, brain_command, publish, topic_is
from tests.webhook import Webhook


def config(tmp_path: Path, webhook: Webhook, **rule: Any) -> Path:
    settings = {
        "name": "door",
        "labels": ["person"],
        "min_score": 0.6,
        "window": 3,
        "cooldown": 60,
        "targets": [webhook.url],
        **rule,
    }
    lines = [
        "[alerts]",
        f"outbox = {json.dumps(str(tmp_path / 'outbox.sqlite3'))}",
        "[[alerts.rules]]",
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    path = tmp_path / "brain.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def start_alerts(
    broker: Broker, start: Callable[..., NodeProcess], config_file: Path
) -> NodeProcess:
    node = start("--mqtt", broker.url, "--config", str(config_file), "node", "alerts")
    node.wait_online(broker, "alerts")
    return node


def frame(seq: int = 0) -> ImageEvent:
    return testing.frame((200, 120, 40), source="frontdoor", seq=seq, size=(640, 480))


def see(broker: Broker, *scores: float, label: str = "person") -> ImageEvent:
    """A frame, then one perception of it per score."""
    image = frame()
    publish(broker, "brain/senses/camera/frontdoor/image", image.to_json(), qos=1)
    for score in scores:
        perception = Perception(
            source="frontdoor",
            cause=image.id,
            sense="camera",
            kind="vision",
            labels=[Label(label=label, score=score)],
            text=f"I see a {label}",
            model="faces",
        )
        publish(broker, "brain/perceptions/camera/frontdoor", perception.to_json())
    return image


def test_a_person_fires_an_alert_with_its_snapshot(
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
    webhook: Webhook,
    tmp_path: Path,
) -> None:
    alerts = record(mosquitto, "brain/alerts/#")
    start_alerts(mosquitto, brain_process, config(tmp_path, webhook))
    image = see(mosquitto, 0.9, 0.8, 0.95)

    [hook] = webhook.wait_for(1)
    assert hook["title"] == "brain: door at frontdoor"
    assert hook["message"].startswith("I see a person (person, 95%)")
    [attachment] = hook["attachments"]
    assert attachment["mimetype"] == "image/jpeg"
    snapshot = Image.open(io.BytesIO(base64.b64decode(attachment["base64"])))
    assert snapshot.size == (320, 240)

    [(_, payload)] = alerts.wait_for(topic_is("brain/alerts/door"))
    alert = Alert.model_validate_json(payload)
    assert alert.rule == "door" and alert.perception.cause == image.id
    assert alert.snapshot is not None and (alert.snapshot.width, alert.snapshot.height) == (
        320,
        240,
    )


# -- the rules, in this process on a broker in memory --------------------------------


@contextlib.contextmanager
def judging(
    tmp_path: Path, broker: MemoryBroker | None = None, **rule: Any
) -> Iterator[tuple[MemoryBroker, Running]]:
    """An alerts node with one rule ("door": a person, 3 frames, delivering nowhere)."""
    settings = {"name": "door", "labels": ["person"], "window": 3, **rule}
    options = {
        "outbox": tmp_path / "outbox.sqlite3",
        "armed_file": tmp_path / "armed.json",
        "rules": [settings],
    }
    broker = broker or MemoryBroker()
    with running(Alerts, broker, options=options) as node:
        yield broker, node


def perceived(broker: MemoryBroker, *labels: tuple[str, float], image: ImageEvent) -> None:
    """One perception of ``image`` per label."""
    for label, score in labels:
        send(broker, perception_of(image, Label(label=label, score=score)))


def perception_of(image: ImageEvent, *labels: Label) -> Perception:
    return Perception(
        source=image.source,
        cause=image.id,
        sense="camera",
        kind="vision",
        labels=list(labels),
        text=f"I see {labels[0].label}",
    )


def test_one_odd_frame_does_not_fire_and_a_cat_is_not_a_person(tmp_path: Path) -> None:
    with judging(tmp_path) as (broker, node):
        fired = recording(broker, Alert)
        image = frame()
        send(broker, image)
        perceived(broker, *(("person", s) for s in (0.1, 0.97, 0.2, 0.1, 0.3)), image=image)
        perceived(broker, ("cat", 0.9), ("cat", 0.9), ("cat", 0.9), image=image)
        node.idle()
        assert node.stats().get("fired", 0) == 0
    assert fired.events == []


def test_the_cooldown_holds_per_source(tmp_path: Path) -> None:
    with judging(tmp_path, cooldown=30) as (broker, node):
        fired = recording(broker, Alert)
        door, garden = frame(), frame().model_copy(update={"source": "garden", "id": "g1"})
        for image in (door, garden):
            send(broker, image)
            perceived(broker, *[("person", 0.9)] * 7, image=image)
        node.idle()
    assert [(alert.source, alert.perception.cause) for alert in fired.events] == [
        ("frontdoor", door.id),
        ("garden", garden.id),
    ]
    assert all(alert.snapshot is not None for alert in fired.events)


def test_a_rule_that_ignores_the_family_fires_only_for_someone_else(tmp_path: Path) -> None:
    family = {"labels": ["person"], "window": 1, "cooldown": 0, "ignore": ["alice"]}
    with judging(tmp_path, **family) as (broker, node):
        fired = recording(broker, Alert)
        image = frame()
        send(broker, image)
        person = Label(label="person", score=0.99)
        alice = Label(label="alice", score=0.9, distance=0.3)
        stranger = Label(label="stranger", score=0.9, distance=0.8)
        send(broker, perception_of(image, person, alice))
        send(broker, crowd := perception_of(image, person, person, alice, stranger))
        node.idle()
    assert [alert.perception.id for alert in fired.events] == [crowd.id]


def test_a_disarmed_rule_publishes_what_it_saw_delivers_nothing_and_stays_disarmed(
    tmp_path: Path,
) -> None:
    with judging(tmp_path, window=1, cooldown=0) as (broker, node):
        fired, states = recording(broker, Alert), recording(broker, State, node="alerts")
        [armed] = states.wait(1)  # said when it connects, retained
        disarm = Command(source="test", command="disarm")
        send(broker, disarm, node="alerts", target="door")
        image = frame()
        send(broker, image)
        perceived(broker, ("person", 0.9), image=image)
        node.idle()
        assert node.stats()["outbox_waiting"] == 0 and node.stats()["fired_disarmed"] == 1
    [alert] = fired.events
    assert not alert.armed and alert.rule == "door"
    assert (armed.value, states.events[1].value, states.events[1].cause) == (
        "armed",
        "disarmed",
        disarm.id,
    )
    assert State.model_validate_json(broker.retained("brain/state/alerts/door") or b"").value == (
        "disarmed"
    )
    # Restarted, on a broker that has forgotten everything: the file remembers.
    with judging(tmp_path, window=1, cooldown=0) as (broker, node):
        [state] = recording(broker, State, node="alerts").wait(1)
        send(broker, Command(source="test", command="arm"), node="alerts", target="door")
        send(broker, image)
        perceived(broker, ("person", 0.9), image=image)
        node.idle()
        assert node.stats()["fired"] == 1
    assert state.value == "disarmed"


def test_arming_a_rule_it_does_not_have_is_an_error_and_a_removed_rule_is_forgotten(
    tmp_path: Path,
) -> None:
    with judging(tmp_path) as (broker, node):
        errors = recording(broker, ErrorEvent)
        send(broker, Command(source="test", command="arm"), node="alerts", target="garage")
        send(broker, Command(source="test", command="open"), node="alerts", target="door")
        first, second = errors.wait(2)
        node.idle()
        assert broker.retained("brain/state/alerts/door") is not None
    assert first.reason == "the alerts take `arm` or `disarm` for a rule they have (door), " + (
        "not 'arm' for 'garage'"
    )
    assert "not 'open' for 'door'" in second.reason
    with judging(tmp_path, broker, name="garden") as (_, node):  # "door" left the config
        node.idle()
        gone = broker.retained("brain/state/alerts/door")  # said, and kept for who comes
        assert gone is not None and State.model_validate_json(gone).value == "removed"
        assert broker.retained("brain/state/alerts/garden") is not None


def test_an_alert_gets_a_clip_of_the_frames_around_it_and_says_when_it_has_none(
    tmp_path: Path,
) -> None:
    clips = {"clip_before": 10, "clip_after": 0.5, "clips": str(tmp_path / "clips")}
    broker = MemoryBroker()
    options = {
        "outbox": tmp_path / "outbox.sqlite3",
        "armed_file": tmp_path / "armed.json",
        "rules": [{"name": "door", "labels": ["person"], "window": 1, "cooldown": 0}],
        **clips,
    }
    with running(Alerts, broker, options=options) as node:
        made = recording(broker, Clip)
        frames = [frame(seq) for seq in range(4)]
        for image in frames:
            send(broker, image)
        perceived(broker, ("person", 0.9), image=frames[-1])
        [clip] = made.wait(1)
        # A perception of a camera whose frames never came: no clip, and one sentence why.
        ghost = frame().model_copy(update={"source": "garden", "id": "ghost"})
        perceived(broker, ("person", 0.9), image=ghost)
        deadline = time.monotonic() + 60
        while node.stats().get("clips_missing", 0) < 1:
            assert time.monotonic() < deadline, "no word about the missing clip"
            time.sleep(0.05)
    assert (clip.rule, clip.source, clip.frames) == ("door", "frontdoor", 4)
    assert clip.data[4:8] == b"ftyp" and (tmp_path / "clips" / f"{clip.alert}.mp4").exists()


# -- over a real broker, as `brain node alerts` ------------------------------------------


def fire_while_the_webhook_is_down(
    broker: Broker, start: Callable[..., NodeProcess], webhook: Webhook, tmp_path: Path
) -> tuple[NodeProcess, Path]:
    """An alerts node that fired and failed to deliver at least once; and its config."""
    webhook.down()
    settings = config(tmp_path, webhook)
    node = start_alerts(broker, start, settings)
    see(broker, 0.9, 0.9, 0.9)
    node.wait_for_log("delivery failed")
    return node, settings


def test_an_alert_waits_for_a_webhook_that_is_down_and_arrives_once(
    mosquitto: Broker,
    brain_process: Callable[..., NodeProcess],
    webhook: Webhook,
    tmp_path: Path,
) -> None:
    node, _ = fire_while_the_webhook_is_down(mosquitto, brain_process, webhook, tmp_path)
    node.wait_for_log("delivery failed", count=2)  # and tried again
    webhook.up()
    webhook.wait_for(1, timeout=30)
    time.sleep(3)
    assert len(webhook.received) == 1


def test_alerts_undelivered_when_the_node_is_killed_are_delivered_after_a_restart(
    mosquitto: Broker,
    brain_process: Callable[..., NodeProcess],
    webhook: Webhook,
    tmp_path: Path,
) -> None:
    node, settings = fire_while_the_webhook_is_down(mosquitto, brain_process, webhook, tmp_path)
    node.stop(signal.SIGKILL)
    webhook.up()
    time.sleep(1)
    assert webhook.received == [], "delivered by a dead node?"
    start_alerts(mosquitto, brain_process, settings)
    [hook] = webhook.wait_for(1)
    assert hook["attachments"], "the snapshot survived the restart"
    time.sleep(2)
    assert len(webhook.received) == 1


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"colour": "red"}, "rule 'door': unknown key 'colour'"),
        ({"targets": ["nonsense://x"]}, "rule 'door': targets: Value error, 'nonsense://x' is not"),
        ({"labels": []}, "rule 'door': labels: List should have at least 1 item"),
    ],
)
def test_a_bad_rule_is_refused_at_start_with_its_name(
    tmp_path: Path, webhook: Webhook, rule: dict[str, Any], message: str
) -> None:
    settings = config(tmp_path, webhook, **rule)
    # Refused before anything starts: no broker, no node.
    result = brain_command("--mqtt", "mqtt://127.0.0.1:9", "--config", settings, "run", "alerts")
    assert result.returncode == 2
    assert message in result.stderr, result.stderr


def brain_alerts(mosquitto: Broker, *words: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "brain", "--mqtt", mosquitto.url, "alerts", *words]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_brain_alerts_disarm_and_arm_on_the_command_line(
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
    webhook: Webhook,
    tmp_path: Path,
) -> None:
    states = record(mosquitto, "brain/state/alerts/door")
    start_alerts(mosquitto, brain_process, config(tmp_path, webhook))
    states.wait_for(topic_is("brain/state/alerts/door"))
    disarmed = brain_alerts(mosquitto, "disarm", "door")
    assert (disarmed.returncode, disarmed.stdout) == (0, "rule door is disarmed\n"), disarmed.stderr
    unknown = brain_alerts(mosquitto, "arm", "garage")
    assert unknown.returncode == 1
    assert "for a rule they have (door), not 'arm' for 'garage'" in unknown.stderr
    armed = brain_alerts(mosquitto, "arm", "door")
    assert (armed.returncode, armed.stdout) == (0, "rule door is armed\n"), armed.stderr
    values = [
        State.model_validate_json(p).value
        for _, p in states.wait_for(topic_is("brain/state/alerts/door"), count=3)
    ]
    assert values == ["armed", "disarmed", "armed"]


def test_brain_alerts_without_an_alerts_node_says_how_to_start_one(mosquitto: Broker) -> None:
    result = brain_alerts(mosquitto, "disarm", "door", "--wait", "1")
    assert result.returncode == 1
    assert "no alerts node answered within 1 s; start one with `brain run alerts`" in result.stderr


def test_a_snapshot_of_too_many_pixels_is_refused_from_its_header() -> None:
    for side in (13_000, 65_000):  # under Pillow's own bomb limit, and over it
        huge = frame().model_copy(update={"data": bomb_jpeg(side, side)})
        with pytest.raises(SnapshotError, match=f"{side}x{side}|too big"):
            downscale(huge, size=320)


def test_alerts_fired_behind_a_slow_target_survive_kills(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess], tmp_path: Path
) -> None:
    slow = Webhook(delay=0.5)
    slow.up()
    settings = config(tmp_path, slow, window=1, cooldown=0)
    node = start_alerts(mosquitto, brain_process, settings)
    kills, fired = 3, 0
    for _ in range(kills):
        for _ in range(4):
            see(mosquitto, 0.9)  # one alert each; each delivery takes 0.5 s
        fired += 4
        node.stop(signal.SIGKILL)  # at once: some perceptions are not even read yet
        node = start_alerts(mosquitto, brain_process, settings)

    def alert_ids() -> list[str]:
        return [hook["message"].rsplit("alert ", 1)[1].split()[0] for hook in slow.received]

    deadline = time.monotonic() + 180
    while len(set(alert_ids())) < fired:
        assert time.monotonic() < deadline, f"{len(set(alert_ids()))} of {fired} alerts arrived"
        time.sleep(0.1)
    # At least once: a delivery in flight when the node is killed is sent again.
    assert len(alert_ids()) - fired <= kills
    node.stop()
    slow.down()


def test_perceptions_published_while_the_alerts_node_is_down_still_fire(
    mosquitto: Broker,
    brain_process: Callable[..., NodeProcess],
    webhook: Webhook,
    tmp_path: Path,
) -> None:
    settings = config(tmp_path, webhook, window=1)
    node = start_alerts(mosquitto, brain_process, settings)
    node.stop(signal.SIGKILL)  # its session stays at the broker
    see(mosquitto, 0.9)
    start_alerts(mosquitto, brain_process, settings)
    [hook] = webhook.wait_for(1, timeout=60)
    assert hook["title"] == "brain: door at frontdoor"


def test_a_misspelt_key_is_named_not_the_key_it_left_missing() -> None:
    with pytest.raises(ValueError, match=r"rule 'x': unknown key 'lables' \(did you mean 'labels'"):
        validate_rules([{"name": "x", "lables": ["person"]}])


def test_a_rule_on_a_label_the_model_never_gives_is_said_before_the_run(tmp_path: Path) -> None:
    (tmp_path / "brain.toml").write_text(
        f'[cortex]\nmodel = "faces"\ngallery = "{tmp_path / "gallery"}"\n'
        '[[alerts.rules]]\nname = "door"\nlabels = ["strnger", "person"]\n'
        '[[alerts.rules]]\nname = "bob"\nlabels = ["bob"]\n'
    )
    settings = load_settings(config=tmp_path / "brain.toml", env={})
    with structlog.testing.capture_logs() as logs:
        _warn_of_labels_no_model_gives(settings, discover())
    assert [log["event"] for log in logs] == [
        "rule 'door': the faces model never says 'strnger'; did you mean 'stranger'?",
        "rule 'bob': the faces model never says 'bob', so it never fires on it",  # not enrolled
    ]


def test_bad_cortex_options_leave_the_alerts_to_run_and_the_cortex_to_say_so(
    tmp_path: Path,
) -> None:
    (tmp_path / "brain.toml").write_text(
        '[cortex]\nmodel = "faces"\ntop_k = "many"\n[[alerts.rules]]\nname = "d"\nlabels = ["x"]\n'
    )
    settings = load_settings(config=tmp_path / "brain.toml", env={})
    with structlog.testing.capture_logs() as logs:
        _warn_of_labels_no_model_gives(settings, discover())
    assert logs == []
