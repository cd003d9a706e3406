"""CPU time per published frame at 640x480: the camera node against bare OpenCV.

The camera node runs as a process (as `brain run camera` starts it) on a video
file this script writes, publishing to a fresh Mosquitto: capture, resize check,
JPEG encode, the image event, publish. Bare OpenCV does only the capture and
the encode, on the same file, in the same run. Prints JSON: CPU milliseconds per
frame for each, the ratio, and the highest frame rate one core sustains.

    python -m benchmarks.camera [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks._support import cpu_seconds, start_mosquitto, start_node

FPS = 60  # the camera's highest setting: the node is never idle for long


def write_video(path: Path, frames: int = 120) -> Path:
    """640x480 frames with texture, so JPEG has real work to do."""
    noise = np.random.default_rng(7).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 30, (640, 480))
    for n in range(frames):
        writer.write(np.roll(noise, n * 5, axis=1))
    writer.release()
    return path


def bare_opencv_ms(video: Path, frames: int = 300) -> float:
    capture = cv2.VideoCapture(str(video))
    started = time.process_time()
    for _ in range(frames):
        ok, frame = capture.read()
        if not ok:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = capture.read()
        cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    capture.release()
    return (time.process_time() - started) / frames * 1000


def camera_node_ms(video: Path, port: int, seconds: float) -> tuple[float, float]:
    """CPU ms per published frame of the node process, and the frames per second it made."""
    count = 0
    lock = threading.Lock()

    def arrived(*_args: object) -> None:
        nonlocal count
        with lock:
            count += 1

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.on_message = arrived
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.subscribe("brain/senses/camera/bench/image")
    node = start_node(
        port,
        "camera",
        "--set",
        f"camera.source={json.dumps(str(video))}",
        "--set",
        "camera.name=bench",
        "--set",
        f"camera.fps={FPS}",
        "--set",
        "camera.width=640",
        ready='"event": "capturing"',
    )
    try:
        time.sleep(1)  # the first frames: not what is measured
        cpu_before, frames_before, began = cpu_seconds(node.pid), count, time.monotonic()
        time.sleep(seconds)
        cpu_after, frames_after, ended = cpu_seconds(node.pid), count, time.monotonic()
    finally:
        node.terminate()
        node.wait()
        client.loop_stop()
    frames = frames_after - frames_before
    return (cpu_after - cpu_before) / frames * 1000, frames / (ended - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="brain-bench-"))
    video = write_video(workdir / "bench.avi")
    port, broker = start_mosquitto(workdir)
    try:
        bare = bare_opencv_ms(video)
        node, achieved_fps = camera_node_ms(video, port, args.seconds)
    finally:
        broker.terminate()
        broker.wait()
    print(
        json.dumps(
            {
                "frame": "640x480 JPEG, quality 80",
                "bare_opencv_capture_encode_cpu_ms": round(bare, 2),
                "camera_node_cpu_ms_per_published_frame": round(node, 2),
                "ratio": round(node / bare, 2),
                "camera_node_fps_at_setting_60": round(achieved_fps, 1),
                "highest_sustainable_fps_one_core": round(1000 / node, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
