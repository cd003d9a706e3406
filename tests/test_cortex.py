"""The cortex, with a drop-in model that really classifies (by colour): its logic in this
process on a broker in memory, and as processes on a real broker."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog.testing

from brain import testing
from brain.cortex import Cortex
from brain.plugins import discover
from brain.processes import EXIT_FATAL
from brain.testing import MemoryBroker, Running, running, send
from brain.testing import record as recording
from schemas import Box, Command, ErrorEvent, ImageEvent, MentionEvent, Perception, TranscriptEvent
from tests.shapes import bomb_jpeg
from tests.support import (
    TEST_PLUGINS,
    Broker,
    NodeProcess,
    Recorder,
    cortex,
    publish_many,
    topic_is,
)

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (20, 40, 230)}
MENTION = MentionEvent(
    source="thebrain",
    tweet_id="1",
    author="alice",
    text="hello brain",
    created="2026-11-24T10:00:00Z",
    url="https://twitter.com/alice/status/1",
)


def frame(
    colour: str,
    *,
    source: str = "door",
    seq: int = 0,
    size: tuple[int, int] = (64, 48),
    kind: str = "JPEG",
) -> ImageEvent:
    return testing.frame(COLOURS[colour], source=source, seq=seq, size=size, kind=kind)


def show(broker: Broker, *frames: ImageEvent) -> None:
    messages = [(f"brain/senses/camera/{f.source}/image", f.to_json()) for f in frames]
    publish_many(broker, messages, qos=1)  # QoS 1 only so that the test knows they arrived


def perceptions(recorder: Recorder, count: int, source: str = "door") -> list[Perception]:
    found = recorder.wait_for(topic_is(f"brain/perceptions/camera/{source}"), count=count)
    return [Perception.model_validate_json(payload) for _, payload in found]


def test_frames_become_vision_perceptions(
    mosquitto: Broker, record: Callable[..., Recorder], brain_process: Callable[..., NodeProcess]
) -> None:
    seen = record(mosquitto, "brain/perceptions/#")
    cortex(mosquitto, brain_process)
    red, blue = frame("red", seq=1), frame("blue", seq=2, kind="PNG")
    show(mosquitto, red)
    [first] = perceptions(seen, 1)
    show(mosquitto, blue)
    second = perceptions(seen, 2)[1]
    assert (first.cause, first.labels[0].label, first.text) == (red.id, "red", "I see a red.")
    assert (second.cause, second.labels[0].label) == (blue.id, "blue")
    assert first.kind == "vision" and first.model == "colours" and first.inference_ms is not None
    assert [label.score for label in first.labels] == sorted(
        (label.score for label in first.labels), reverse=True
    )


def test_two_cortexes_share_the_frames_each_classified_once(
    mosquitto: Broker, record: Callable[..., Recorder], brain_process: Callable[..., NodeProcess]
) -> None:
    seen = record(mosquitto, "brain/perceptions/#")
    cortex(mosquitto, brain_process)
    cortex(mosquitto, brain_process)
    frames = [frame("blue", source=f"cam{n}", seq=n) for n in range(40)]
    show(mosquitto, *frames)
    found = seen.wait_for(topic_is("brain/perceptions/camera/+"), count=40)
    time.sleep(1)  # a frame classified twice would have come by now
    causes = [
        Perception.model_validate_json(p).cause
        for _, p in seen.matching(topic_is("brain/perceptions/camera/+"))
    ]
    assert sorted(causes) == sorted(f.id for f in frames) and len(found) == 40


def test_an_unknown_model_is_one_sentence() -> None:
    with (
        structlog.testing.capture_logs() as logs,
        pytest.raises(RuntimeError, match=f"status {EXIT_FATAL} before it was online"),
        running(Cortex, MemoryBroker(), options={"model": "nonesuch"}, catalog=discover()),
    ):
        pass
    [said] = [log for log in logs if log["event"] == "cannot run"]
    assert "there is no model called 'nonesuch'" in said["reason"]


def test_a_decompression_bomb_is_an_error_event_not_a_crash(
    mosquitto: Broker, record: Callable[..., Recorder], brain_process: Callable[..., NodeProcess]
) -> None:
    seen = record(mosquitto, "brain/perceptions/#", "brain/errors/cortex")
    node = cortex(mosquitto, brain_process)
    good = frame("green")
    for n in range(3):  # more than one (and from 3 cameras: only the latest frame waits)
        bomb = good.model_copy(update={"data": bomb_jpeg(), "id": f"bomb{n}", "source": f"b{n}"})
        show(mosquitto, bomb)
    found = seen.wait_for(topic_is("brain/errors/cortex"), count=3)
    reasons = [ErrorEvent.model_validate_json(p).reason for _, p in found]
    assert all("too big to decode" in reason for reason in reasons), reasons
    show(mosquitto, good)
    assert perceptions(seen, 1)[0].cause == good.id
    assert node.process.poll() is None and "Traceback" not in node.log()


# -- the cortex's logic, in this process on a broker in memory ------------------------


@contextlib.contextmanager
def thinking(model: str = "colours", **options: Any) -> Iterator[tuple[MemoryBroker, Running]]:
    broker = MemoryBroker()
    catalog = discover(plugins_dirs=[TEST_PLUGINS])
    settings = {"model": model, **options}
    with running(Cortex, broker, options=settings, catalog=catalog) as node:
        yield broker, node


def test_bad_images_are_error_events_and_the_next_good_frame_is_classified() -> None:
    with thinking(max_pixels=10_000) as (broker, _):
        errors, seen = recording(broker, ErrorEvent), recording(broker, Perception)
        good = frame("green")
        bad = {
            "corrupt": good.model_copy(
                update={"data": good.data[:600] + b"\x13" * 300 + b"\xff\xd9"}
            ),
            "truncated": good.model_copy(update={"data": good.data[: len(good.data) // 2]}),
            "oversized": frame("red", size=(200, 100)),
            "not-an-image": good.model_copy(update={"data": b"GIF89a" + b"\0" * 100}),
            "empty": good.model_copy(update={"data": b""}),
        }
        for n, (name, image) in enumerate(bad.items()):
            send(broker, image.model_copy(update={"source": f"bad{n}", "id": name}))
        reasons = {error.cause: error.reason for error in errors.wait(len(bad))}
        send(broker, good)
        [perception] = seen.wait(1)
    assert "cannot be decoded" in reasons["corrupt"]
    assert "truncated" in reasons["truncated"]
    assert "over the limit of 10000 pixels" in reasons["oversized"]
    assert "not JPEG or PNG" in reasons["not-an-image"]
    assert "empty" in reasons["empty"]
    assert perception.cause == good.id


def test_latest_frame_wins_while_the_model_is_busy() -> None:
    with thinking(model="slow-colours") as (broker, node):
        seen = recording(broker, Perception)
        burst = [frame("red", seq=n) for n in range(50)]
        for image in burst:
            send(broker, image)
        node.idle()
        figures = node.stats()
    causes = [perception.cause for perception in seen.events]
    assert len(causes) <= 3, "a backlog was worked through"
    assert causes[-1] == burst[-1].id, "the newest frame was not classified"
    assert figures["dropped"] == 50 - len(causes) and figures["frames_in"] == len(causes)


def test_what_is_heard_and_read_becomes_perceptions_and_voice_commands() -> None:
    with thinking(camera_for={"kitchen": "door"}) as (broker, node):
        seen, orders = recording(broker, Perception), recording(broker, Command, node="camera")
        send(broker, TranscriptEvent(source="kitchen", text="please, what do you see?"))
        # A microphone named like a camera is no way to close it.
        send(broker, TranscriptEvent(source="door", text="close your eye"))
        send(broker, MENTION)
        node.idle()
    assert [p.text for p in seen.events] == [
        'You said "please, what do you see?".',
        'You said "close your eye".',
        "@alice mentioned you: hello brain",
    ]
    assert [(o.command, o.source) for o in orders.events] == [("snapshot", "kitchen")]
    assert node.stats()["commands_for_no_camera"] == 1


def test_enrol_needs_a_name_a_recent_frame_and_a_model_that_tells_faces_apart() -> None:
    box = Box(x=0, y=0, width=10, height=10)
    with thinking() as (broker, _):
        errors = recording(broker, ErrorEvent)
        image = frame("red")
        send(broker, image)
        orders = {
            "no-name": Command(source="door", command="enrol", frame=image.id, box=box),
            "old-frame": Command(source="door", command="enrol", name="bob", frame="x", box=box),
            "wrong-command": Command(source="door", command="open"),
        }
        for reason, order in orders.items():
            send(broker, order.model_copy(update={"id": reason}), node="cortex", target="door")
        reasons = {error.cause: error.reason for error in errors.wait(len(orders))}
    assert reasons["no-name"].startswith("the cortex takes `enrol` with a name, a frame and a box")
    assert "frame x is not among the last 64 frames" in reasons["old-frame"]
    assert "not 'open'" in reasons["wrong-command"]
    assert {error.topic for error in errors.events} == {"brain/commands/cortex/door"}
