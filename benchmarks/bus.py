"""Small typed events per second through brain's bus, against raw paho-mqtt.

Both sides send the same bytes to the same broker in the same run, at QoS 0 (the
contract's QoS for frames, the busiest events). Each starts from the same
messages in memory and ends with them delivered: raw paho publishes the encoded
bytes of N small image events and counts arrivals; brain serializes the same N
``ImageEvent`` objects with ``Bus.publish`` and validates every arrival back into
the model with ``Bus.subscribe``, each on the topic its type owns. Publisher and
subscriber are separate processes, as nodes are. Raw paho runs paho's own network
thread (``loop_start``), as paho's documentation shows; brain runs its transport's loop,
which writes from the publishing thread, a burst's messages in one write, and reads a
burst of messages a system call (``brain/_transport.py``).
Building an event (new id, timestamp, validation) is the caller's work, like
encoding the raw payload; its cost is printed separately, measured in the same run.

Three busy processes share two cores: the publisher and the subscriber each keep to
one, and the broker to the publisher's unless told otherwise (``--broker-core``; -1
leaves it to the scheduler). Where the broker runs moves the ratio, and left to the
scheduler it moved from round to round; on a Zen 3 brain's ratio was lowest with the
broker on the publisher's core (0.92, against 0.975 on the subscriber's), so that is
the default: the placement that flatters brain least.

A round is 16 short runs of each side (12,500 messages), the sides taking turns and
which goes first alternating, and its figures are over all of them. On a shared VM a
core's speed moves by a fifth from one second to the next: runs of 100,000 messages,
one of each side a round, gave rounds that strayed 19 to 26 % from their median (raw
paho's own, 16 to 21 %); the same messages in short turns, 6.5 %. Beside messages per
second, each round counts the CPU time a message costs the publisher, the subscriber
and the broker: where the time goes.

    python -m benchmarks.bus [--messages 12500] [--turns 16] [--rounds 5] [--mqtt URL]
                             [--broker-core N]

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

from benchmarks._support import cpu_seconds, start_mosquitto
from brain.bus import BrokerUrl, Bus, Topics
from brain.processes import configure_logging
from schemas import ImageEvent
from tests.support import hang_up

TOPIC = "brain/senses/camera/bench/image"
#: The smallest valid PNG (1x1): a small event whose shape is a real frame's.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
IDLE_TIMEOUT = 2.0
#: What one run measured of one side: messages, seconds and each process's CPU seconds.
Run = dict[str, float]
#: A round's figures for one side, over its runs: its rate, the CPU a message cost each.
Round = dict[str, float]


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
    """Counts arrivals; puts their count, the last one's time and the CPU it took."""
    configure_logging(node="bench-sub")  # logs to stderr: stdout is the JSON
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
    cpu_before = time.process_time()  # every thread of this process: paho's too
    ready.set()
    while not done.wait(IDLE_TIMEOUT):
        if times and time.perf_counter() - times[-1] > IDLE_TIMEOUT:
            break
    out.put((len(times), times[-1] if times else 0.0, time.process_time() - cpu_before))


def publish(kind: str, url: BrokerUrl, messages: int, out: Any) -> None:
    """Sends the messages; puts the time it started, then the CPU sending took."""
    configure_logging(node="bench-pub")
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
        cpu_before = time.process_time()
        for payload in payloads:
            client.publish(TOPIC, payload, qos=0)
        hang_up(client)
    else:
        bus = Bus(node="bench-pub", url=url, presence=False)
        bus.connect(timeout=10)
        gc.freeze()
        out.put(time.perf_counter())
        cpu_before = time.process_time()
        for event in events:
            bus.publish(event)
        bus.close()
    out.put(time.process_time() - cpu_before)


def one_run(kind: str, url: BrokerUrl, messages: int, broker_pid: int | None) -> Run:
    """The seconds from the first publish to the last arrival, the messages received, and
    the CPU seconds each process spent (the broker's when it is ours)."""
    ready = mp.Event()
    received_out: mp.Queue[tuple[int, float, float]] = mp.Queue()
    publisher_out: mp.Queue[float] = mp.Queue()
    reader = mp.Process(target=subscribe, args=(kind, url, messages, ready, received_out))
    reader.start()
    ready.wait(20)
    broker_before = cpu_seconds(broker_pid) if broker_pid else 0.0
    writer = mp.Process(target=publish, args=(kind, url, messages, publisher_out))
    writer.start()
    started = publisher_out.get(timeout=60)
    publisher_cpu = publisher_out.get(timeout=300)
    writer.join()
    received, last, subscriber_cpu = received_out.get(timeout=300)
    broker_cpu = cpu_seconds(broker_pid) - broker_before if broker_pid else 0.0
    reader.join()
    return {
        "received": received,
        "seconds": last - started if received else 0.0,
        "publisher_cpu": publisher_cpu,
        "subscriber_cpu": subscriber_cpu,
        "broker_cpu": broker_cpu,
    }


def one_round(
    url: BrokerUrl, messages: int, turns: int, broker_pid: int | None
) -> dict[str, Round]:
    """Each side's messages per second over ``turns`` runs, the sides taking turns, and the
    microseconds of CPU a message cost each process."""
    runs: dict[str, list[Run]] = {"raw": [], "brain": []}
    for turn in range(turns):  # which side goes first alternates: drift hits both alike
        for kind in sorted(runs, reverse=bool(turn % 2)):
            runs[kind].append(one_run(kind, url, messages, broker_pid))
    rounds = {}
    for kind, each in runs.items():
        total = {key: sum(run[key] for run in each) for key in each[0]}
        per_message = 1e6 / max(total["received"], 1)
        parts = ("publisher", "subscriber", "broker")
        rounds[kind] = {
            "received": total["received"],
            "per_s": total["received"] / total["seconds"] if total["seconds"] else 0.0,
            **{f"{part}_cpu_us": total[f"{part}_cpu"] * per_message for part in parts},
            "cpu_us": sum(total[f"{part}_cpu"] for part in parts) * per_message,
        }
    return rounds


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


def ratios(
    raw: list[Round], brain: list[Round], faster: Callable[[Round, Round], float]
) -> dict[str, object]:
    """The median of the rounds' ratios, each round's, and how far the rounds stray from
    their median in per cent of it. The sides take turns within a round, so a round's
    ratio shares the machine's mood."""
    each = [faster(r, b) for r, b in zip(raw, brain, strict=True)]
    return {
        "ratio": round(statistics.median(each), 3),
        "round_ratios": [round(ratio, 3) for ratio in each],
        "spread_percent": spread_percent(each),
    }


def spread_percent(values: list[float]) -> float:
    """How far the farthest of ``values`` strays from their median, in per cent of it."""
    middle = statistics.median(values)
    return round(100 * max(abs(value - middle) for value in values) / middle, 1)


def median_of(rounds: list[Round], key: str) -> float:
    return round(statistics.median(r[key] for r in rounds), 1)


def count(text: str) -> int:
    """An option that counts messages, runs or rounds: a round needs one of each."""
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is too few; give 1 or more")
    return number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=count, default=12_500, help="a run's messages")
    parser.add_argument("--turns", type=count, default=16, help="runs of each side a round")
    parser.add_argument("--rounds", type=count, default=5)
    parser.add_argument("--mqtt", help="an existing broker instead of a fresh Mosquitto")
    parser.add_argument(
        "--broker-core",
        type=int,
        default=0,
        help="keep the fresh Mosquitto on this core (0: the publisher's; -1: any)",
    )
    args = parser.parse_args()

    broker = None
    if args.mqtt:
        url = BrokerUrl.parse(args.mqtt)
    else:
        # An unbounded queue: a subscriber that lags is measured, not dropped from.
        extra = "max_queued_messages 0\nmax_queued_bytes 0\n"
        port, broker = start_mosquitto(Path(tempfile.mkdtemp()), extra=extra)
        url = BrokerUrl(port=port)
        if args.broker_core >= 0:
            cores = sorted(os.sched_getaffinity(0))
            os.sched_setaffinity(broker.pid, {cores[args.broker_core % len(cores)]})
    broker_pid = broker.pid if broker is not None else None
    try:
        results: dict[str, list[dict[str, float]]] = {"raw": [], "brain": []}
        for _ in range(args.rounds):
            for kind, figures in one_round(url, args.messages, args.turns, broker_pid).items():
                results[kind].append(figures)
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait()

    raw, ours = results["raw"], results["brain"]
    print(
        json.dumps(
            {
                "broker": str(url) if args.mqtt else "mosquitto (fresh)",
                "broker_core": None if args.mqtt else args.broker_core,
                "messages_per_round": args.messages * args.turns,
                "payload_bytes": len(sample_event().to_json()),
                "raw_paho_per_s": round(median_of(raw, "per_s")),
                "brain_per_s": round(median_of(ours, "per_s")),
                **ratios(raw, ours, lambda r, b: b["per_s"] / r["per_s"]),
                # Microseconds of CPU a message costs, all processes together (medians).
                "cpu_us_per_message": {
                    kind: {
                        part: median_of(rounds, f"{part}_cpu_us")
                        for part in ("publisher", "subscriber", "broker")
                    }
                    | {"total": median_of(rounds, "cpu_us")}
                    for kind, rounds in results.items()
                },
                "cpu": ratios(raw, ours, lambda r, b: r["cpu_us"] / b["cpu_us"]),
                "goal_ratio": 0.9,
                "brain_per_message": where_brain_spends(),
                # Each side's own rounds: how much the machine moved under both.
                "round_per_s": {k: [round(r["per_s"]) for r in v] for k, v in results.items()},
                # Raw paho's rounds against each other: the machine's own spread, for the
                # goal of rounds within 10 % to be read against.
                "raw_rounds_spread_percent": spread_percent([r["per_s"] for r in raw]),
                "delivered": {k: [int(r["received"]) for r in v] for k, v in results.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
