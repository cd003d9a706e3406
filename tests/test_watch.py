from __future__ import annotations

import json
from collections.abc import Callable

from brain._watch import raw_line, summarize
from schemas import ImageEvent, Stats, TranscriptEvent
from tests.support import Broker, NodeProcess, publish, publish_many


def frame() -> ImageEvent:
    return ImageEvent(
        source="frontdoor",
        content_type="image/jpeg",
        data=b"\xff" * 30_000,
        width=640,
        height=480,
        seq=3,
    )


def test_images_are_summarised_not_dumped() -> None:
    line = summarize("brain/senses/camera/frontdoor/image", frame().to_json())
    assert "[brain.image/1]" in line
    assert "data=<30000 bytes>" in line
    assert "width=640" in line and len(line) < 300


def test_plain_words_and_non_json_are_shown_as_they_are() -> None:
    assert summarize("brain/status/camera", b"online") == "brain/status/camera  online"


def test_json_lines_keep_the_payload_whole() -> None:
    document = json.loads(raw_line("brain/senses/camera/frontdoor/image", frame().to_json()))
    assert document["topic"] == "brain/senses/camera/frontdoor/image"
    assert ImageEvent.model_validate_json(json.dumps(document["payload"])).data == b"\xff" * 30_000


def test_brain_watch_prints_what_arrives(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess]
) -> None:
    watch = brain_process("--mqtt", mosquitto.url, "watch", "--all", "--count", "2")
    watch.wait_for_log("connected")
    publish(
        mosquitto,
        "brain/senses/microphone/kitchen/transcript",
        TranscriptEvent(source="kitchen", text="what do you see").to_json(),
    )
    publish(mosquitto, "brain/senses/camera/frontdoor/image", frame().to_json(), qos=0)
    assert watch.process.wait(timeout=15) == 0
    assert 'text="what do you see"' in watch.log()
    assert "data=<30000 bytes>" in watch.log()


def test_brain_watch_stops_at_its_count_even_in_a_burst(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess]
) -> None:
    watch = brain_process("--mqtt", mosquitto.url, "watch", "brain/senses/#", "--count", "5")
    watch.wait_for_log("connected")
    transcripts = [
        (
            "brain/senses/microphone/kitchen/transcript",
            TranscriptEvent(source="kitchen", text=f"line {n}").to_json(),
        )
        for n in range(50)
    ]
    publish_many(mosquitto, transcripts)
    assert watch.process.wait(timeout=30) == 0
    shown = [line for line in watch.log().splitlines() if "brain/senses/microphone" in line]
    assert len(shown) == 5, shown


def test_brain_watch_shows_what_happens_and_leaves_frames_and_figures_out(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess]
) -> None:
    watch = brain_process("--mqtt", mosquitto.url, "watch", "--count", "2")
    watch.wait_for_log("connected")
    said = TranscriptEvent(source="kitchen", text="what do you see")
    publish_many(mosquitto, [
        ("brain/senses/camera/frontdoor/image", frame().to_json()),
        ("brain/stats/camera", Stats(source="frontdoor", node="camera", uptime_s=1).to_json()),
        ("brain/senses/microphone/kitchen/transcript", said.to_json()),
        ("brain/status/camera", b"online"),
    ])  # fmt: skip
    assert watch.process.wait(timeout=15) == 0
    assert 'text="what do you see"' in watch.log() and "brain/status/camera  online" in watch.log()
    assert "brain.image/1" not in watch.log() and "brain.stats/1" not in watch.log()
