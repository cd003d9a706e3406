"""Small typed events per second through brain's bus, against raw paho-mqtt.

Both sides send the same bytes to the same broker in the same run, at QoS 0 (the
contract's QoS for frames, the busiest events). Each starts from the same
messages in memory and ends with them delivered: raw paho publishes the encoded
bytes of N small image events and counts arrivals; brain serializes the same N
``ImageEvent`` objects with ``Bus.publish`` and validates every arrival back into
the model with ``Bus.subscribe``, each on the topic its type owns. Publisher and
subscriber are separate processes, as nodes are. Raw paho runs paho's own network
thread (``loop_start``), as paho's documentation shows; brain runs its transport's loop,
which writes from the publishing thread and reads messages in a row
(``brain/_transport.py``).
Building an event (new id, timestamp, validation) is the caller's work, like
encoding the raw payload; its cost is printed separately, measured in the same run.

    python -m benchmarks.bus [--messages 100000] [--rounds 7] [--mqtt URL]

Without --mqtt it starts its own Mosquitto on a free port. Prints JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks._support import start_mosquitto
from brain import BrokerUrl, Bus, Topics
from schemas import ImageEvent

TOPIC = "brain/senses/camera/bench/image"
#: The smallest valid PNG (1x1): a small event whose shape is a real frame's.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
IDLE_TIMEOUT = 2.0


def sample_event(seq: int = 0) -> ImageEvent:
    return ImageEvent(
        source="bench", content_type="image/png", data=PIXEL, width=1, height=1, seq=seq
    )


def raw_client(url: BrokerUrl) -> mqtt.Client:
    # paho's defaults (MQTT 3.1.1): what a user of the bare library gets.
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect(url.host, url.port)
    client.loop_start()
    return client


def pin(core: int) -> None:
    """Keep this process on one core (when there are two or more): the publisher and the
    subscriber then never trade places, and rounds vary less."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1:
        os.sched_setaffinity(0, {cores[core % len(cores)]})


def subscribe(kind: str, url: BrokerUrl, messages: int, ready: EventType, out: Any) -> None:
    pin(1)
    times: list[float] = []
    done = threading.Event()

    def arrived(*_args: Any) -> None:
        times.append(time.perf_counter())
        if len(times) >= messages:
            done.set()

    if kind == "raw":
        client = raw_client(url)
        client.on_message = arrived
        client.subscribe(TOPIC, qos=0)
    else:
        bus = Bus(node="bench-sub", url=url, presence=False)
        bus.subscribe(ImageEvent, arrived, source="bench")
        bus.connect(timeout=10)
    time.sleep(0.5)
    ready.set()
    while not done.wait(IDLE_TIMEOUT):
        if times and time.perf_counter() - times[-1] > IDLE_TIMEOUT:
            break
    out.put((len(times), times[0] if times else 0.0, times[-1] if times else 0.0))


def publish(kind: str, url: BrokerUrl, messages: int, out: Any) -> None:
    pin(0)
    # Both sides start from the same messages in memory: raw paho from the bytes of
    # these events, brain from the events themselves. Built before timing, then
    # frozen so the cyclic GC does not walk them on every full collection.
    events = [sample_event(seq) for seq in range(messages)]
    if kind == "raw":
        client = raw_client(url)
        payloads = [event.to_json() for event in events]
        gc.freeze()
        out.put(time.perf_counter())  # CLOCK_MONOTONIC: comparable across processes
        for payload in payloads:
            client.publish(TOPIC, payload, qos=0)
        client.disconnect()
        client.loop_stop()
    else:
        bus = Bus(node="bench-pub", url=url, presence=False)
        bus.connect(timeout=10)
        gc.freeze()
        out.put(time.perf_counter())
        for event in events:
            bus.publish(event)
        bus.close()


def one_round(kind: str, url: BrokerUrl, messages: int) -> dict[str, float]:
    """Messages per second from the first publish to the last arrival."""
    ready = mp.Event()
    received_out: mp.Queue[tuple[int, float, float]] = mp.Queue()
    started_out: mp.Queue[float] = mp.Queue()
    reader = mp.Process(target=subscribe, args=(kind, url, messages, ready, received_out))
    reader.start()
    ready.wait(20)
    writer = mp.Process(target=publish, args=(kind, url, messages, started_out))
    writer.start()
    started = started_out.get(timeout=60)
    writer.join()
    received, _first, last = received_out.get(timeout=300)
    reader.join()
    return {"received": received, "per_s": received / (last - started) if received else 0.0}


def cost_us(step: Callable[[], object], count: int = 20_000) -> float:
    """Microseconds one call of ``step`` takes, on average over ``count``."""
    started = time.perf_counter()
    for _ in range(count):
        step()
    return round((time.perf_counter() - started) / count * 1e6, 2)


def where_brain_spends() -> dict[str, float]:
    """What brain does for each message that raw paho does not, in microseconds: where the
    ratio goes (the rest of a message, 20 us or more, is paho's and the broker's)."""
    event = sample_event()
    payload = event.to_json()
    topics = Topics()
    return {
        "build_event_us": cost_us(sample_event),  # the caller's work, as encoding is raw's
        "publish_topic_us": cost_us(lambda: topics.of(event)),
        "publish_serialize_us": cost_us(event.to_json),
        "receive_validate_us": cost_us(
            lambda: ImageEvent.__pydantic_validator__.validate_json(payload)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--mqtt", help="an existing broker instead of a fresh Mosquitto")
    args = parser.parse_args()

    broker = None
    if args.mqtt:
        url = BrokerUrl.parse(args.mqtt)
    else:
        # An unbounded queue: a subscriber that lags is measured, not dropped from.
        extra = "max_queued_messages 0\nmax_queued_bytes 0\n"
        port, broker = start_mosquitto(Path(tempfile.mkdtemp()), extra=extra)
        url = BrokerUrl(port=port)
    try:
        results: dict[str, list[dict[str, float]]] = {"raw": [], "brain": []}
        for _ in range(args.rounds):  # interleaved, so drift in the machine hits both
            for kind in results:
                results[kind].append(one_round(kind, url, args.messages))
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait()

    raw = statistics.median(r["per_s"] for r in results["raw"])
    ours = statistics.median(r["per_s"] for r in results["brain"])
    # Each round measures both back to back, so a round's ratio shares the machine's mood.
    ratios = [
        b["per_s"] / r["per_s"] for r, b in zip(results["raw"], results["brain"], strict=True)
    ]
    print(
        json.dumps(
            {
                "broker": str(url) if args.mqtt else "mosquitto (fresh)",
                "messages_per_round": args.messages,
                "payload_bytes": len(sample_event().to_json()),
                "raw_paho_per_s": round(raw),
                "brain_per_s": round(ours),
                "ratio": round(statistics.median(ratios), 3),
                "round_ratios": [round(r, 3) for r in ratios],
                # How far the rounds stray from their median, in per cent of it.
                "spread_percent": round(
                    100
                    * max(abs(r - statistics.median(ratios)) for r in ratios)
                    / statistics.median(ratios),
                    1,
                ),
                "goal_ratio": 0.9,
                "brain_per_message": where_brain_spends(),
                "delivered": {k: [int(r["received"]) for r in v] for k, v in results.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
