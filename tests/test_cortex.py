"""The cortex on a real broker, with a drop-in model that really classifies (by colour)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from schemas import Command, ErrorEvent, ImageEvent, MentionEvent, Perception, TranscriptEvent
from tests.shapes import bomb_jpeg
from tests.support import (
    Broker,
    NodeProcess,
    Recorder,
    cortex,
    publish,
    publish_many,
    topic_is,
)

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (20, 40, 230)}


def frame(
    colour: str,
    *,
    source: str = "door",
    seq: int = 0,
    size: tuple[int, int] = (64, 48),
    kind: str = "JPEG",
) -> ImageEvent:
    encoded = io.BytesIO()
    Image.new("RGB", size, COLOURS[colour]).save(encoded, format=kind)
    return ImageEvent(
        source=source,
        content_type="image/png" if kind == "PNG" else "image/jpeg",
        data=encoded.getvalue(),
        width=size[0],
        height=size[1],
        seq=seq,
    )


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


def test_bad_images_are_error_events_and_the_next_good_frame_is_classified(
    mosquitto: Broker, record: Callable[..., Recorder], brain_process: Callable[..., NodeProcess]
) -> None:
    seen = record(mosquitto, "brain/perceptions/#", "brain/errors/cortex")
    cortex(mosquitto, brain_process, "--set", "cortex.max_pixels=10000")
    good = frame("green")
    bad = {
        "corrupt": good.model_copy(update={"data": good.data[:600] + b"\x13" * 300 + b"\xff\xd9"}),
        "truncated": good.model_copy(update={"data": good.data[: len(good.data) // 2]}),
        "oversized": frame("red", size=(200, 100)),
        "not an image": good.model_copy(update={"data": b"GIF89a" + b"\0" * 100}),
        "empty": good.model_copy(update={"data": b""}),
    }
    for n, (name, image) in enumerate(bad.items()):
        show(mosquitto, image.model_copy(update={"source": f"bad{n}", "id": name}))
    found = seen.wait_for(topic_is("brain/errors/cortex"), count=len(bad))
    reasons = {(e := ErrorEvent.model_validate_json(p)).cause: e.reason for _, p in found}
    assert "cannot be decoded" in reasons["corrupt"]
    assert "truncated" in reasons["truncated"]
    assert "over the limit of 10000 pixels" in reasons["oversized"]
    assert "not JPEG or PNG" in reasons["not an image"]
    assert "empty" in reasons["empty"]
    show(mosquitto, good)
    assert perceptions(seen, 1)[0].cause == good.id


def test_latest_frame_wins_while_the_model_is_busy(
    mosquitto: Broker, record: Callable[..., Recorder], brain_process: Callable[..., NodeProcess]
) -> None:
    seen = record(mosquitto, "brain/perceptions/#", "brain/stats/cortex")
    cortex(mosquitto, brain_process, "--set", "cortex.stats_interval=0.3", model="slow-colours")
    burst = [frame("red", seq=n) for n in range(50)]
    show(mosquitto, *burst)
    time.sleep(2.5)  # about five batches' time
    causes = [p.cause for p in perceptions(seen, 1)] + [
        Perception.model_validate_json(p).cause
        for _, p in seen.matching(topic_is("brain/perceptions/camera/door"))[1:]
    ]
    assert len(causes) <= 3, "a backlog was worked through"
    assert causes[-1] == burst[-1].id, "the newest frame was not classified"
    time.sleep(0.5)
    figures = json.loads(seen.matching(topic_is("brain/stats/cortex"))[-1][1])["figures"]
    assert figures["dropped"] == 50 - len(causes) and figures["queue_depth"] == 0


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


def test_what_is_heard_and_read_becomes_perceptions_and_voice_commands(
    mosquitto: Broker, record: Callable[..., Recorder], brain_process: Callable[..., NodeProcess]
) -> None:
    seen = record(mosquitto, "brain/perceptions/#", "brain/commands/#")
    cortex(mosquitto, brain_process, "--set", 'cortex.camera_for={kitchen = "door"}')
    said = TranscriptEvent(source="kitchen", text="please, what do you see?")
    publish(mosquitto, "brain/senses/microphone/kitchen/transcript", said.to_json())
    mention = MentionEvent(
        source="thebrain",
        tweet_id="1",
        author="alice",
        text="hello brain",
        created="2026-11-24T10:00:00Z",
        url="https://twitter.com/alice/status/1",
    )
    publish(mosquitto, "brain/senses/twitter/thebrain/mention", mention.to_json())
    [(_, speech)] = seen.wait_for(topic_is("brain/perceptions/microphone/kitchen"))
    assert Perception.model_validate_json(speech).text == 'You said "please, what do you see?".'
    [(_, order)] = seen.wait_for(topic_is("brain/commands/camera/door"))
    assert Command.model_validate_json(order).command == "snapshot"
    [(_, read)] = seen.wait_for(topic_is("brain/perceptions/twitter/thebrain"))
    assert Perception.model_validate_json(read).text == "@alice mentioned you: hello brain"


def test_an_unknown_model_is_one_sentence(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess], tmp_path: Path
) -> None:
    node = brain_process(
        "--mqtt", mosquitto.url, "--set", "cortex.model=nonesuch", "node", "cortex"
    )
    assert node.process.wait(timeout=30) == 78
    assert "there is no model called 'nonesuch'" in node.log()


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


def test_a_microphone_commands_only_the_camera_it_is_mapped_to(
    mosquitto: Broker, record: Callable[..., Recorder], brain_process: Callable[..., NodeProcess]
) -> None:
    seen = record(mosquitto, "brain/commands/#")
    cortex(mosquitto, brain_process, "--set", 'cortex.camera_for={kitchen = "door"}')
    # A microphone named like a camera is no way to close it.
    sneaky = TranscriptEvent(source="frontdoor", text="close your eye")
    publish(mosquitto, "brain/senses/microphone/frontdoor/transcript", sneaky.to_json())
    mapped = TranscriptEvent(source="kitchen", text="close your eye")
    publish(mosquitto, "brain/senses/microphone/kitchen/transcript", mapped.to_json())
    [(topic, _)] = seen.wait_for(topic_is("brain/commands/#"))  # in order: the sneaky first
    assert topic == "brain/commands/camera/door"
    assert seen.matching(topic_is("brain/commands/camera/frontdoor")) == []
