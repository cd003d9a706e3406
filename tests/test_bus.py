"""The bus client against real brokers: a Mosquitto the test starts, and `brain broker`."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable

import pytest
import structlog

from brain.bus import BrokerUrl, Bus, Topics
from brain.testing import free_port
from schemas import ErrorEvent, Perception, TranscriptEvent
from tests.support import (
    TEST_PLUGINS,
    Broker,
    NodeProcess,
    Recorder,
    connected_bus,
    publish,
    topic_is,
)


def echo_node(broker: Broker, start: Callable[..., NodeProcess]) -> NodeProcess:
    return start("--mqtt", broker.url, "--plugins-dir", str(TEST_PLUGINS), "node", "echo")


def payload_is(word: bytes) -> Callable[[str, bytes], bool]:
    return lambda _topic, payload: payload == word


def online_echo(
    broker: Broker, record: Callable[..., Recorder], start: Callable[..., NodeProcess]
) -> tuple[Recorder, NodeProcess]:
    """An echo node that has said `online`, and a recorder of its status."""
    status = record(broker, "brain/status/echo")
    node = echo_node(broker, start)
    status.wait_for(payload_is(b"online"))
    return status, node


def test_a_typed_event_goes_round_trip(broker: Broker) -> None:
    received: list[TranscriptEvent] = []
    arrived = threading.Event()
    reader = connected_bus(broker, "reader")
    topic_filter = reader.subscribe(
        TranscriptEvent, lambda event, _topic: (received.append(event), arrived.set())
    )
    assert topic_filter == "brain/senses/microphone/+/transcript"
    time.sleep(0.2)  # let the SUBSCRIBE reach the broker
    writer = connected_bus(broker, "writer")
    sent = TranscriptEvent(source="kitchen", text="what do you see", confidence=0.9)
    writer.publish(sent)
    assert arrived.wait(10)
    assert received == [sent]
    writer.close()
    reader.close()


def test_bad_payloads_become_error_events_and_the_node_goes_on(
    broker: Broker, record: Callable[..., Recorder]
) -> None:
    errors = record(broker, "brain/errors/#")
    good: list[TranscriptEvent] = []
    bus = connected_bus(broker, "listener", max_payload=10_000)
    bus.subscribe(TranscriptEvent, lambda event, _topic: good.append(event))
    time.sleep(0.2)
    topic = "brain/senses/microphone/kitchen/transcript"
    wrong_schema = json.loads(TranscriptEvent(source="k", text="x").to_json())
    wrong_schema["schema"] = "brain.image/1"
    publish(broker, topic, b"{not json")
    publish(broker, topic, json.dumps(wrong_schema))
    publish(broker, topic, b"x" * 10_001)
    publish(broker, topic, TranscriptEvent(source="kitchen", text="still here").to_json())

    reported = [
        ErrorEvent.model_validate_json(p)
        for _, p in errors.wait_for(topic_is("brain/errors/listener"), count=3)
    ]
    reasons = [error.reason for error in reported]
    assert reasons[0].startswith("payload is not valid JSON")
    assert reasons[1] == "schema is 'brain.image/1', expected 'brain.transcript/1'"
    assert reasons[2] == "payload of 10001 bytes is over the limit of 10000 bytes"
    assert reported[1].cause == wrong_schema["id"]
    assert all(error.topic == topic and error.node == "listener" for error in reported)
    deadline = time.monotonic() + 5
    while not good and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [event.text for event in good] == ["still here"]
    assert bus.stats()["errors"] == 3
    bus.close()


def test_the_will_says_offline_when_a_node_is_killed(
    broker: Broker, record: Callable[..., Recorder], brain_process: Callable[..., NodeProcess]
) -> None:
    status, node = online_echo(broker, record, brain_process)
    node.stop(signal.SIGKILL)
    status.wait_for(payload_is(b"offline"))
    later = record(broker, "brain/status/echo")  # a newcomer sees it too: it is retained
    later.wait_for(payload_is(b"offline"))


def test_a_clean_stop_says_stopped(
    broker: Broker, record: Callable[..., Recorder], brain_process: Callable[..., NodeProcess]
) -> None:
    status, node = online_echo(broker, record, brain_process)
    assert node.stop(signal.SIGTERM) == 0
    status.wait_for(payload_is(b"stopped"))
    assert not status.matching(payload_is(b"offline"))


def test_a_node_survives_a_broker_restart_and_resubscribes(
    broker: Broker, record: Callable[..., Recorder], brain_process: Callable[..., NodeProcess]
) -> None:
    _, node = online_echo(broker, record, brain_process)

    broker.stop()
    time.sleep(0.5)
    broker.start()

    perceptions = record(broker, "brain/perceptions/#", "brain/status/echo")
    perceptions.wait_for(lambda t, p: t == "brain/status/echo" and p == b"online")
    deadline = time.monotonic() + 20
    while not perceptions.matching(topic_is("brain/perceptions/microphone/kitchen")):
        assert time.monotonic() < deadline, "no perception after the broker came back"
        publish(
            broker,
            "brain/senses/microphone/kitchen/transcript",
            TranscriptEvent(source="kitchen", text="are you back").to_json(),
        )
        time.sleep(0.5)
    assert node.process.poll() is None, "the node died instead of reconnecting"
    assert "reconnected" in node.log()
    assert node.stop() == 0


def test_stats_are_published_and_retained(
    broker: Broker, record: Callable[..., Recorder], brain_process: Callable[..., NodeProcess]
) -> None:
    stats = record(broker, "brain/stats/echo")
    brain_process(
        "--mqtt",
        broker.url,
        "--plugins-dir",
        str(TEST_PLUGINS),
        "--set",
        "echo.stats_interval=0.2",
        "node",
        "echo",
    )
    _, payload = stats.wait_for(topic_is("brain/stats/echo"))[0]
    document = json.loads(payload)
    assert document["schema"] == "brain.stats/1"
    assert document["node"] == "echo"
    assert {"received", "published", "errors", "dropped_offline"} <= set(document["figures"])
    later = record(broker, "brain/stats/echo")  # retained: a newcomer sees the latest at once
    with later.changed:
        assert later.changed.wait_for(lambda: any(retained for *_, retained in later.messages), 5)


@pytest.mark.parametrize("broker", ["mosquitto"], indirect=True)
def test_qos0_frames_published_while_offline_are_counted_as_dropped(broker: Broker) -> None:
    bus = Bus(node="camera", url=BrokerUrl.parse(broker.url))
    bus.publish_raw("brain/senses/camera/x/image", b"{}", qos=0)
    assert bus.stats()["dropped_offline"] == 1


@pytest.mark.parametrize("broker", ["mosquitto"], indirect=True)
def test_a_shared_subscription_delivers_each_event_to_one_member(broker: Broker) -> None:
    # What several cortex processes rely on to classify every frame once.
    seen: dict[str, list[str]] = {"first": [], "second": []}
    members = []
    for name, texts in seen.items():
        member = connected_bus(broker, f"cortex-{name}")
        member.subscribe(
            TranscriptEvent, lambda event, _t, into=texts: into.append(event.text), shared="cortex"
        )
        members.append(member)
    time.sleep(0.3)
    writer = connected_bus(broker, "writer")
    sent = [f"frame {n}" for n in range(40)]
    for text in sent:
        writer.publish(TranscriptEvent(source="k", text=text))
    deadline = time.monotonic() + 10
    while len(seen["first"]) + len(seen["second"]) < len(sent) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # anything delivered twice would arrive by now
    assert sorted(seen["first"] + seen["second"]) == sorted(sent)
    assert seen["first"] and seen["second"], "one member got everything"
    for bus in (*members, writer):
        bus.close()


def test_deeply_nested_json_is_refused_as_such(
    broker: Broker, record: Callable[..., Recorder]
) -> None:
    errors = record(broker, "brain/errors/#")
    bus = connected_bus(broker, "listener")
    bus.subscribe(TranscriptEvent, lambda _e, _t: None)
    time.sleep(0.2)
    nested = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    publish(broker, "brain/senses/microphone/kitchen/transcript", nested)
    [(_, payload)] = errors.wait_for(topic_is("brain/errors/listener"))
    reason = ErrorEvent.model_validate_json(payload).reason
    assert reason.startswith("payload is not valid JSON (Invalid JSON: recursion limit"), reason
    bus.close()


def test_a_crashed_node_says_offline_not_stopped(
    broker: Broker, record: Callable[..., Recorder], brain_process: Callable[..., NodeProcess]
) -> None:
    status = record(broker, "brain/status/crashy")
    node = brain_process("--mqtt", broker.url, "--plugins-dir", str(TEST_PLUGINS), "node", "crashy")
    assert node.process.wait(timeout=60) != 0
    status.wait_for(payload_is(b"offline"))
    assert not status.matching(payload_is(b"stopped"))


def test_a_node_restarted_again_and_again_is_never_deaf(
    broker: Broker, record: Callable[..., Recorder], brain_process: Callable[..., NodeProcess]
) -> None:
    status = record(broker, "brain/status/echo")
    heard = record(broker, "brain/perceptions/#")
    for restart in range(1, 11):
        node = echo_node(broker, brain_process)
        # `online` follows the subscriptions on the same connection: the broker has them.
        status.wait_for(payload_is(b"online"), count=restart)
        said = TranscriptEvent(source="kitchen", text=f"number {restart}")
        publish(broker, "brain/senses/microphone/kitchen/transcript", said.to_json())
        heard.wait_for(lambda _t, p, i=said.id: i.encode() in p)
        node.stop(signal.SIGKILL)


def test_a_qos1_event_is_acknowledged_only_once_handled(
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
) -> None:
    """The broker forgets a QoS 1 event of a persistent session once it has its PUBACK:
    a node killed while it handles the event (before_ack) must get it again."""
    seen = record(mosquitto, "brain/perceptions/#", "brain/status/holder")
    argv = ("--mqtt", mosquitto.url, "--plugins-dir", str(TEST_PLUGINS), "node", "holder")
    holder = brain_process(*argv)
    seen.wait_for(lambda t, p: t == "brain/status/holder" and p == b"online")  # subscribed
    said = TranscriptEvent(source="kitchen", text="hello")
    publish(mosquitto, Topics().of(said), said.to_json())
    seen.wait_for(topic_is("brain/perceptions/microphone/kitchen"))
    holder.stop(signal.SIGKILL)
    brain_process(*argv)  # the same persistent session: the broker gives it again
    again = seen.wait_for(topic_is("brain/perceptions/microphone/kitchen"), count=2)
    assert [Perception.model_validate_json(p).cause for _, p in again] == [said.id, said.id]


def test_a_broker_still_missing_is_said_again_with_how_to_start_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("brain._bus._STILL_UNREACHABLE_EVERY", 0.5)  # a minute, for users
    nobody = BrokerUrl.parse(f"mqtt://127.0.0.1:{free_port()}")
    with structlog.testing.capture_logs() as logs:
        bus = Bus(node="lonely", url=nobody, presence=False)
        bus.connect()
        deadline = time.monotonic() + 60
        while not [line for line in logs if line["event"].startswith("still cannot reach")]:
            assert time.monotonic() < deadline, logs
            time.sleep(0.05)
        bus.close()
    first = [line for line in logs if line["event"] == "cannot reach the broker yet; retrying"]
    again = [line for line in logs if line["event"].startswith("still cannot reach")]
    assert len(first) == 1
    assert "brain broker" in again[0]["fix"]
