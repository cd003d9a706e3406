"""The paho transport against a real Mosquitto: who writes, and that nothing is lost or
reordered when the socket is full or paho's in-flight window is. (A transport does not
care which broker it talks to, so these run on Mosquitto only.)"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Sequence

from brain._buffered import BufferedSocket
from brain.bus import BrokerUrl, Bus, PahoTransport, Sent
from schemas import MAX_IMAGE_BYTES, Event, ImageEvent, TranscriptEvent
from tests.support import Broker, Recorder, connected_bus, topic_is

# Frames as big as the contract allows fill a socket's send buffer within a few.
BIG_FRAME = bytes(range(256)) * (MAX_IMAGE_BYTES // 256)
FRAMES = 20


def frame(seq: int, data: bytes = b"x") -> ImageEvent:
    return ImageEvent(
        source="door", content_type="image/jpeg", data=data, width=1, height=1, seq=seq
    )


def field_of(name: str, messages: list[tuple[str, bytes]]) -> list[object]:
    return [json.loads(payload)[name] for _topic, payload in messages]


def test_a_small_frame_has_left_when_publish_returns(
    mosquitto: Broker, record: Callable[..., Recorder]
) -> None:
    # The publishing thread writes its own message: no hand-over to another thread, and
    # no frame waiting for one (the camera skips a frame while the last has not left).
    frames = record(mosquitto, "brain/senses/camera/#")
    writer = connected_bus(mosquitto, "writer", presence=False)
    info = writer.publish(frame(0))
    assert info.is_published()
    assert field_of("seq", frames.wait_for(topic_is("brain/senses/camera/door/image"))) == [0]
    writer.close()


def test_frames_behind_a_stalled_broker_all_arrive_in_order(
    mosquitto: Broker, record: Callable[..., Recorder]
) -> None:
    # A broker that stops reading fills the socket: what it cannot take stays queued,
    # and the loop's thread writes it once the broker reads again.
    frames = record(mosquitto, "brain/senses/camera/#")
    writer = connected_bus(mosquitto, "writer", presence=False)
    events = [frame(seq, BIG_FRAME) for seq in range(FRAMES)]
    stalled = mosquitto.process
    assert stalled is not None
    stalled.send_signal(signal.SIGSTOP)
    try:
        sent = [writer.publish(event) for event in events]
        assert not sent[-1].is_published(), "the socket took everything: the test proves nothing"
    finally:
        stalled.send_signal(signal.SIGCONT)
    arrived = frames.wait_for(topic_is("brain/senses/camera/door/image"), count=FRAMES, timeout=120)
    assert field_of("seq", arrived) == list(range(FRAMES))
    assert all(info.is_published() for info in sent)
    writer.close()


def assert_arrive_in_order(
    broker: Broker, record: Callable[..., Recorder], events: Sequence[Event], field: str
) -> Sent:
    """Publish ``events`` as fast as one thread can; each arrives once, in order. Returns
    what publishing the last one gave."""
    heard = record(broker, "brain/#")
    writer = connected_bus(broker, "writer", presence=False)
    sent = [writer.publish(event) for event in events]
    topic = writer.topics.of(events[0])
    arrived = heard.wait_for(topic_is(topic), count=len(events), timeout=60)
    assert field_of(field, arrived) == [getattr(event, field) for event in events]
    writer.close()
    return sent[-1]


def test_confirmed_events_beyond_the_in_flight_window_all_arrive_in_order(
    mosquitto: Broker, record: Callable[..., Recorder]
) -> None:
    # paho keeps 20 QoS 1 messages in flight; the rest go out from the loop's thread as
    # the broker's acknowledgements come in.
    said = [TranscriptEvent(source="kitchen", text=str(number)) for number in range(500)]
    last = assert_arrive_in_order(mosquitto, record, said, "text")
    assert Bus.wait_confirmed(last, timeout=60)


def test_a_burst_arrives_whole_and_in_order_with_nothing_after_it(
    mosquitto: Broker, record: Callable[..., Recorder]
) -> None:
    # A burst's messages are held and written together; the last ones, with no publish
    # after them to carry them out, are written by the loop's thread once the burst pauses
    # (the writer closes only after they all arrived).
    assert_arrive_in_order(mosquitto, record, [frame(seq) for seq in range(2_000)], "seq")


def test_big_and_small_frames_reach_a_subscriber_intact(mosquitto: Broker) -> None:
    # The reader takes a burst of bytes at a time: a frame many times that size, and small
    # messages around it, must each come out whole.
    got: list[ImageEvent] = []
    done = threading.Event()

    def arrived(event: ImageEvent, _topic: str) -> None:
        got.append(event)
        if len(got) == FRAMES:
            done.set()

    reader = Bus(node="reader", url=BrokerUrl.parse(mosquitto.url), presence=False)
    reader.subscribe(ImageEvent, arrived)
    reader.connect(timeout=10)
    writer = connected_bus(mosquitto, "writer", presence=False)
    sizes = [BIG_FRAME if seq % 2 else b"x" * seq for seq in range(FRAMES)]
    for seq, data in enumerate(sizes):
        writer.publish(frame(seq, data))
    assert done.wait(120), f"{len(got)} of {FRAMES} frames arrived"
    assert [(event.seq, event.data) for event in got] == list(enumerate(sizes))
    writer.close()
    reader.close()


def test_paho_reads_and_writes_through_brains_buffers(mosquitto: Broker) -> None:
    # paho's hook for its socket is private: a release that renames it would leave every
    # node unbuffered, and slower, with every other test still passing.
    bus = connected_bus(mosquitto, "buffered", presence=False)
    transport = bus._transport
    assert isinstance(transport, PahoTransport)
    assert isinstance(transport._client.socket(), BufferedSocket)
    bus.close()
