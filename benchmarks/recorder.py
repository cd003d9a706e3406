"""The recorder under 8 cameras at 5 fps, against bare paho writing the same messages to a
plain file; and how faithfully a replay keeps the recorded spacing.

A publisher sends real photos as 640x480 JPEG image events (8 sources, 5 a second each)
to a fresh Mosquitto. The recorder node (a process, as `brain run recorder` starts it)
and a bare paho subscriber (a process that appends each payload to a file) hear the
same traffic in the same run. Printed: CPU milliseconds per frame of each and their
ratio, bytes an hour of each, what an hour of one camera at the camera's default
(2 fps) costs the recorder, and the replay's timing error (p50, p99 of the difference
between replayed and recorded spacing, at 20 events a second).

    python -m benchmarks.recorder [--seconds 20]
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image
from skimage import data

from benchmarks._support import cpu_seconds, start_mosquitto, start_node
from brain.bus import BrokerUrl, Bus, Topics
from brain.recording import RollingWriter, read, recordings, replay
from schemas import ImageEvent, TranscriptEvent
from tests.support import hang_up

CAMERAS, FPS = 8, 5.0
DEFAULT_FPS = 2.0  # the camera node's default


def photos(count: int = 120) -> list[bytes]:
    """Real photos, as a camera node sends them (640x480 JPEG at quality 80), each a few
    pixels on from the last: no two frames are the same bytes, as with a real camera."""
    found = []
    for n in range(count):
        name = ("astronaut", "coffee", "chelsea", "rocket")[n % 4]
        picture = np.roll(getattr(data, name)(), 3 * n, axis=1)
        encoded = io.BytesIO()
        Image.fromarray(picture).convert("RGB").resize((640, 480)).save(encoded, "JPEG", quality=80)
        found.append(encoded.getvalue())
    return found


def client(port: int) -> mqtt.Client:
    connection = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    connection.connect("127.0.0.1", port)
    connection.loop_start()
    return connection


def bare_writer(port: int, path: str, ready: Any) -> None:
    """What a recorder must do at the least: hear every message, append it to a file."""
    connection = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    with Path(path).open("ab") as out:

        def keep(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
            topic = message.topic.encode()
            out.write(len(topic).to_bytes(2, "big") + topic)
            out.write(len(message.payload).to_bytes(4, "big") + message.payload)

        def subscribe(subscriber: mqtt.Client, *_: Any) -> None:
            subscriber.subscribe("brain/#", qos=1)
            ready.set()

        connection.on_message = keep
        connection.on_connect = subscribe
        connection.connect("127.0.0.1", port)
        connection.loop_forever()


def load(port: int, seconds: float) -> int:
    """Send the cameras' frames for ``seconds``; how many were sent."""
    pictures, sender = photos(), client(port)
    payloads = [
        ImageEvent(source="cam", content_type="image/jpeg", data=picture, width=640, height=480,
                   seq=0).to_json()
        for picture in pictures
    ]  # fmt: skip
    sent, began = 0, time.monotonic()
    while time.monotonic() - began < seconds:
        for camera in range(CAMERAS):
            topic = f"brain/senses/camera/cam{camera}/image"
            sender.publish(topic, payloads[sent % len(payloads)], qos=0)
            sent += 1
        time.sleep(max(0.0, began + sent / CAMERAS / FPS - time.monotonic()))
    time.sleep(1.0)  # the last ones arrive
    hang_up(sender)
    return sent


def replay_timing(
    workdir: Path, port: int, count: int = 200, spacing: float = 0.05
) -> dict[str, float]:
    """Record ``count`` events ``spacing`` apart, replay them, and compare the spacing."""
    folder = workdir / "timing"
    writer = RollingWriter(folder, topics=Topics())
    start = time.time_ns()
    for n in range(count):
        event = TranscriptEvent(source="timing", text=f"number {n}")
        writer.write(
            Topics().of(event), event.to_json(), log_time_ns=start + int(n * spacing * 1e9)
        )
    writer.close()
    arrivals: list[float] = []
    done = threading.Event()
    listener = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)

    def arrived(*_: Any) -> None:
        arrivals.append(time.perf_counter())
        if len(arrivals) >= count:
            done.set()

    listener.on_message = arrived
    listener.connect("127.0.0.1", port)
    listener.subscribe("brain/senses/microphone/timing/transcript", qos=1)
    listener.loop_start()
    time.sleep(0.5)
    bus = Bus(node="replay", url=BrokerUrl(port=port), presence=False)
    bus.connect(timeout=10)
    replay(read([folder]), bus, rate=1.0)
    done.wait(30)
    bus.close()
    listener.loop_stop()
    errors = sorted(abs((b - a) - spacing) * 1000 for a, b in itertools.pairwise(arrivals))
    return {
        "replayed": len(arrivals),
        "spacing_ms": spacing * 1000,
        "p50_error_ms": round(statistics.median(errors), 2),
        "p99_error_ms": round(errors[int(0.99 * (len(errors) - 1))], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="brain-bench-recorder-") as scratch:
        workdir = Path(scratch)
        port, broker = start_mosquitto(workdir)
        try:
            folder = workdir / "recordings"
            recorder = start_node(port, "recorder", "--set", f'recorder.directory="{folder}"',
                                  ready='"event": "connected"')  # fmt: skip
            ready = mp.Event()
            bare = mp.Process(target=bare_writer, args=(port, str(workdir / "bare.bin"), ready))
            bare.start()
            ready.wait(30)
            time.sleep(0.5)
            cpu = {"recorder": cpu_seconds(recorder.pid), "bare": cpu_seconds(bare.pid or 0)}
            began = time.monotonic()
            sent = load(port, args.seconds)
            elapsed = time.monotonic() - began
            used = {
                "recorder": cpu_seconds(recorder.pid) - cpu["recorder"],
                "bare": cpu_seconds(bare.pid or 0) - cpu["bare"],
            }
            recorder.terminate()
            recorder.wait(30)
            bare.terminate()
            recorded = sum(1 for r in read([folder]) if r.schema == "brain.image/1")
            sizes = {
                "recorder": sum(p.stat().st_size for p in recordings(folder)),
                "bare": (workdir / "bare.bin").stat().st_size,
            }
            timing = replay_timing(workdir, port)
        finally:
            broker.terminate()
    per_frame = {name: used[name] / sent * 1000 for name in used}
    per_hour = {name: sizes[name] / elapsed * 3600 for name in sizes}
    figures = {
        "cameras": CAMERAS,
        "fps_each": FPS,
        "seconds": round(elapsed, 1),
        "frames_sent": sent,
        "frames_recorded": recorded,
        "recorder_cpu_ms_per_frame": round(per_frame["recorder"], 3),
        "bare_paho_cpu_ms_per_frame": round(per_frame["bare"], 3),
        "cpu_ratio": round(per_frame["recorder"] / per_frame["bare"], 2),
        "recorder_gb_per_hour": round(per_hour["recorder"] / 1e9, 2),
        "bare_gb_per_hour": round(per_hour["bare"] / 1e9, 2),
        "one_camera_at_2fps_mb_per_hour": round(
            per_hour["recorder"] / (CAMERAS * FPS) * DEFAULT_FPS / 1e6, 1
        ),
        "replay": timing,
    }
    json.dump(figures, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
