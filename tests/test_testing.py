"""brain.testing: the broker in memory behaves as Mosquitto does where nodes rely on it;
frames are built as a camera sends them."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from brain.bus import Bus, Topics
from brain.images import decode
from brain.testing import MemoryBroker, frame, record, send
from schemas import TranscriptEvent

WAIT = 30


def connected(broker: MemoryBroker, node: str, *, presence: bool = False) -> Bus:
    bus = Bus(node=node, transport=broker.transport(), presence=presence)
    bus.connect(timeout=WAIT)
    return bus


def test_wildcards_route_and_a_shared_group_gets_each_event_once() -> None:
    broker = MemoryBroker()
    everything, shared = [], {"a": [], "b": []}
    watcher = connected(broker, "watcher")
    watcher.subscribe_raw("brain/#", lambda topic, _payload: everything.append(topic))
    for name, into in shared.items():
        member = connected(broker, f"cortex-{name}")
        member.subscribe(TranscriptEvent, lambda e, _t, into=into: into.append(e.text), shared="g")
    texts = [f"number {n}" for n in range(10)]
    heard = record(broker, TranscriptEvent)
    for text in texts:
        send(broker, TranscriptEvent(source="kitchen", text=text))
    heard.wait(10)
    assert broker.wait_drained(WAIT)
    assert sorted(shared["a"] + shared["b"]) == sorted(texts)
    assert shared["a"] and shared["b"]
    assert everything == ["brain/senses/microphone/kitchen/transcript"] * 10


def test_a_retained_message_reaches_a_later_subscriber_and_a_will_is_said() -> None:
    broker = MemoryBroker()
    node = Bus(node="echo", transport=(transport := broker.transport()))
    node.connect(timeout=WAIT)
    status = Topics().status("echo")
    got = threading.Event()
    seen: list[bytes] = []
    late = connected(broker, "late")
    late.subscribe_raw(status, lambda _t, payload: (seen.append(bytes(payload)), got.set()))
    assert got.wait(WAIT) and seen == [b"online"]
    transport.vanish()
    assert broker.retained(status) == b"offline"


def test_a_frame_is_built_from_a_colour_pixels_or_a_photo_as_a_camera_sends_it(
    tmp_path: Path,
) -> None:
    red = frame((255, 0, 0), source="hall", seq=3, size=(32, 24), kind="PNG")
    assert (red.source, red.seq, red.content_type, red.width, red.height) == (
        "hall", 3, "image/png", 32, 24,
    )  # fmt: skip
    assert decode(red)[0, 0].tolist() == [255, 0, 0]
    pixels = np.zeros((20, 30, 3), np.uint8)
    dark = frame(pixels)
    assert (dark.content_type, dark.width, dark.height) == (
        "image/jpeg",
        30,
        20,
    )
    (tmp_path / "photo.jpg").write_bytes(dark.data)
    assert frame(tmp_path / "photo.jpg").data == dark.data
