"""People: the detector through the cortex against the bare engine, recall on real
photos, cameras per machine, and what an idle camera and the cortex cost.

1. Throughput: LiteRT (the engine the cortex chooses) running NanoDet-g's graph on the
   same decoded 640x480 frames of OpenCV's car park (vtest.avi), with the pre- and
   post-processing written out here (resize, normalize, boxes, NMS), and TensorFlow
   the same way; then the cortex (``people``) on a real broker, fed by 4 cameras
   streaming those frames faster than it can follow.
2. Recall and false persons on the real photos of ``tests/scenes.py``: people found
   of those counted by eye, and persons said in photos without anyone.
3. Cameras per machine: N camera nodes at 5 fps, 640x480, each on a real video; one
   in ten (at least one) shows the empty car park, then people walking in (vtest.avi),
   over and over; the rest a still scene. For each walk-in: from the first frame that
   moved, as the broker delivers it, to the first perception of a person from it or
   after. ``max_cameras``: the most N for which every walk-in was seen within 1 s.
4. The CPU an idle camera costs, against OpenCV reading the same video at 5 fps and
   doing nothing else (the floor); the cortex's peak RSS.

    python -m benchmarks.people [--seconds 20] [--cameras 16,32,48,64]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks._stream import Watcher, rss_mb, streamed
from benchmarks._support import cpu_seconds, start_mosquitto, start_node
from brain.cortex import CortexOptions
from brain.cortex.people import WEIGHTS, People
from schemas import ImageEvent, Perception
from tests.scenes import (
    PHOTOS_WITH_PEOPLE,
    PHOTOS_WITHOUT_PEOPLE,
    VTEST_PEOPLE,
    empty_car_park,
    photo,
    video_frames,
    write_video,
)

FPS = 5
#: An engine's run: NanoDet's input batch in, its outputs out.
Run = Callable[[np.ndarray], list[np.ndarray]]
#: A walk-in is seen in time when a person is perceived within this long.
IN_TIME_S = 1.0


def camera_frames(count: int) -> list[np.ndarray]:
    """``count`` frames of the car park with people walking, 640x480, BGR."""
    return [cv2.resize(f, (640, 480)) for f in video_frames("vtest.avi", 0, count)]


def bare_tensorflow(weights: Path) -> Run:
    from brain.cortex import graph_model  # the graph as TF runs it, no more

    return graph_model(weights / "nanodet.json", fix="pull it")


def bare_litert(weights: Path, folder: Path) -> Run:
    """LiteRT's interpreter, as its documentation uses it, on the graph converted once."""
    from ai_edge_litert.interpreter import Interpreter

    from brain.cortex import graph_tflite

    model = folder / "nanodet.tflite"
    model.write_bytes(graph_tflite(weights / "nanodet.json", fix="pull it"))
    interpreter = Interpreter(model_path=str(model), num_threads=os.cpu_count())
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]["index"]
    targets = [output["index"] for output in interpreter.get_output_details()]

    def run(batch: np.ndarray) -> list[np.ndarray]:
        interpreter.set_tensor(source, batch)
        interpreter.invoke()
        return [interpreter.get_tensor(target) for target in targets]

    return run


class Bare:
    """NanoDet-g on an engine as it comes, with its input and output handled here, as its
    authors' demo does: letterbox to 416, normalize, run, decode the boxes, NMS."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.mean = np.array([103.53, 116.28, 123.675], np.float32)
        self.std = np.array([57.375, 57.12, 58.395], np.float32)
        cells = [(s, 416 // s) for s in (8, 16, 32)]
        self.centres = np.concatenate(
            [
                np.stack(
                    [
                        (np.arange(n * n) % n + 0.5) * s,
                        (np.arange(n * n) // n + 0.5) * s,
                        np.full(n * n, s),
                    ],
                    1,
                )
                for s, n in cells
            ]
        ).astype(np.float32)

    def boxes(self, jpeg: bytes) -> int:
        frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert frame is not None
        scale = 416 / max(frame.shape[:2])
        small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        canvas = np.zeros((416, 416, 3), np.float32)
        canvas[: small.shape[0], : small.shape[1]] = (small - self.mean) / self.std
        outputs = sorted(
            (o[0] for o in self.run(canvas.transpose(2, 0, 1)[None])), key=len, reverse=True
        )
        scores = np.concatenate([o for o in outputs if o.shape[-1] == 80])
        sides = np.concatenate([o for o in outputs if o.shape[-1] != 80])
        keep = np.flatnonzero(scores.max(1) >= 0.4)
        logits = sides[keep].reshape(-1, 4, 11)
        p = np.exp(logits - logits.max(2, keepdims=True))
        d = (
            (p / p.sum(2, keepdims=True))
            @ np.arange(11, dtype=np.float32)
            * self.centres[keep, 2:3]
        )
        c = self.centres[keep]
        rects = [
            (float(x - a), float(y - b), float(a + r), float(b + t))
            for (x, y, _), (a, b, r, t) in zip(c, d, strict=True)
        ]
        chosen = cv2.dnn.NMSBoxesBatched(
            rects, scores[keep].max(1).tolist(), scores[keep].argmax(1).tolist(), 0.4, 0.5
        )
        return len(chosen)

    def per_s(self, jpegs: list[bytes], seconds: float) -> float:
        for jpeg in jpegs[:3]:
            self.boxes(jpeg)
        done, began = 0, time.perf_counter()
        while time.perf_counter() - began < seconds:
            for jpeg in jpegs:
                self.boxes(jpeg)
                done += 1
        return done / (time.perf_counter() - began)


def recall(weights: Path, gallery: Path) -> dict[str, object]:
    """People found on the real photos, and persons said where there is nobody."""
    model = People.load(CortexOptions(model="people", weights=weights, gallery=gallery))

    def persons(pixels: np.ndarray) -> int:
        [labels] = model.classify([pixels])
        return sum(label.label == "person" for label in labels)

    shown = {name: (photo(name), count) for name, count in PHOTOS_WITH_PEOPLE.items()}
    for index, count in VTEST_PEOPLE.items():
        [frame] = video_frames("vtest.avi", index)
        shown[f"vtest.avi#{index}"] = (cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), count)
    found = {name: persons(pixels) for name, (pixels, _) in shown.items()}
    counted = sum(count for _, count in shown.values())
    recalled = sum(min(found[name], count) for name, (_, count) in shown.items())
    false = {name: persons(photo(name)) for name in PHOTOS_WITHOUT_PEOPLE}
    return {
        "photos_with_people": len(shown),
        "photos_where_a_person_was_found": sum(n > 0 for n in found.values()),
        "people_counted_by_eye": counted,
        "people_found": recalled,
        "person_recall": round(recalled / counted, 3),
        "persons_said_beyond_the_count": sum(max(0, found[n] - c) for n, (_, c) in shown.items()),
        "photos_without_people": len(false),
        "false_persons": sum(false.values()),
        "each": {name: f"{found[name]} of {count}" for name, (_, count) in shown.items()},
    }


class Entries:
    """Frames and perceptions on the broker: when each camera's walk-ins were seen."""

    def __init__(self, port: int) -> None:
        self.lock = threading.Lock()
        self.moving_since: dict[str, tuple[int, float]] = {}  # camera -> (seq, arrival)
        self.last_moved: dict[str, float] = {}
        self.seqs: dict[str, int] = {}  # frame id -> seq
        self.waits: list[float] = []
        self.missed = 0
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(
            [("brain/senses/camera/+/image", 0), ("brain/perceptions/camera/+", 1)]
        )
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()
        with self.lock:
            if "/image" in message.topic:
                frame = ImageEvent.model_validate_json(message.payload)
                self.seqs[frame.id] = frame.seq
                if not frame.motion:
                    return  # a keep-alive frame: nothing moved
                quiet = now - self.last_moved.get(frame.source, now) > 2.0  # after a still while
                self.last_moved[frame.source] = now
                if quiet:
                    if frame.source in self.moving_since:
                        self.missed += 1  # the last walk-in was never seen
                    self.moving_since[frame.source] = (frame.seq, now)
                return
            perception = Perception.model_validate_json(message.payload)
            entry = self.moving_since.get(perception.source)
            seq = self.seqs.get(perception.cause, -1)
            if entry and seq >= entry[0] and any(x.label == "person" for x in perception.labels):
                self.waits.append(now - entry[1])
                del self.moving_since[perception.source]

    def close(self) -> None:
        """Stop listening; a walk-in still unseen after ``IN_TIME_S`` is a miss."""
        now = time.perf_counter()
        self.missed += sum(now - since > IN_TIME_S for _, since in self.moving_since.values())
        self.client.loop_stop()
        self.client.disconnect()


def cameras_trial(port: int, count: int, seconds: float, videos: dict[str, Path]) -> dict[str, Any]:
    active = max(1, round(count / 10))
    entries = Entries(port)
    nodes = []
    try:
        for n in range(count):
            video = videos["walking" if n < active else "still"]
            sets = (
                "--set",
                f"camera.name=cam{n}",
                "--set",
                f'camera.source="{video}"',
                "--set",
                f"camera.fps={FPS}",
            )
            nodes.append(start_node(port, "camera", *sets, ready='"event": "capturing"'))
        idle = nodes[active:]
        began = time.perf_counter()
        idle_cpu = [cpu_seconds(node.pid) for node in idle]
        time.sleep(seconds)
        spent = time.perf_counter() - began
        idle_share = [(cpu_seconds(n.pid) - c) / spent for n, c in zip(idle, idle_cpu, strict=True)]
    finally:
        for node in nodes:
            node.terminate()
        for node in nodes:
            node.wait()
        entries.close()
    waits = sorted(entries.waits)
    late = sum(wait > IN_TIME_S for wait in waits) + entries.missed
    return {
        "cameras": count,
        "active": active,
        "walk_ins": len(waits) + entries.missed,
        "seen_within_1s": len(waits) - sum(wait > IN_TIME_S for wait in waits),
        "slowest_s": round(waits[-1], 2) if waits else None,
        "all_in_time": bool(waits) and late == 0,
        "idle_camera_cpu_percent": round(100 * float(np.mean(idle_share)), 2)
        if idle_share
        else None,
    }


def bare_idle_cpu(video: Path, seconds: float) -> float:
    """OpenCV reading the still video at 5 fps and doing nothing with it: % of a core."""
    capture = cv2.VideoCapture(str(video))
    began, cpu = time.perf_counter(), time.process_time()
    frames = 0
    while time.perf_counter() - began < seconds:
        ok, _ = capture.read()
        if not ok:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        frames += 1
        time.sleep(max(0.0, frames / FPS - (time.perf_counter() - began)))
    return 100 * (time.process_time() - cpu) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--cameras", default="16,32,48,64")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="brain-bench-"))
    weights = workdir / "weights"
    WEIGHTS.fetch(weights)

    scene = cv2.resize(empty_car_park(), (640, 480))
    walking = camera_frames(40)
    videos = {
        "still": write_video(workdir / "still.avi", [scene] * 50, fps=FPS),
        "walking": write_video(workdir / "walking.avi", [scene] * 50 + walking, fps=FPS),
    }
    jpegs = [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes() for f in walking]
    bare_tf = Bare(bare_tensorflow(weights)).per_s(jpegs, args.seconds / 2)
    bare = Bare(bare_litert(weights, workdir))
    bare_before = bare.per_s(jpegs, args.seconds / 2)

    # Before the cortex: its model converted for LiteRT once, as a first start does, so
    # the cortex measured is as every later start runs, without TensorFlow.
    found = recall(weights, workdir / "gallery")
    port, broker = start_mosquitto(workdir)
    sets = ("--set", "cortex.model=people", "--set", f'cortex.weights="{weights}"')
    cortex = start_node(port, "cortex", *sets, ready='"event": "model ready"')
    try:
        watcher = Watcher(port)
        time.sleep(1)
        cameras = [
            [
                ImageEvent(
                    source=f"door{n}",
                    content_type="image/jpeg",
                    data=jpeg,
                    width=640,
                    height=480,
                    seq=0,
                )
                for jpeg in jpegs
            ]
            for n in range(4)
        ]
        ours = streamed(watcher, cameras, 2 * bare_before, args.seconds)
        watcher.client.loop_stop()
        trials = []
        for count in (int(n) for n in args.cameras.split(",")):
            trial = cameras_trial(port, count, 3 * args.seconds, videos)
            trials.append(trial)
            if not trial["all_in_time"]:
                break
        peak = rss_mb(cortex.pid, "VmHWM")
        tensorflow = "/site-packages/tensorflow/" in Path(f"/proc/{cortex.pid}/maps").read_text()
    finally:
        cortex.terminate()
        cortex.wait()
        broker.terminate()
        broker.wait()
    bare_per_s = max(bare_before, bare.per_s(jpegs, args.seconds / 2))
    passed = [t["cameras"] for t in trials if t["all_in_time"]]
    idle = [
        t["idle_camera_cpu_percent"] for t in trials if t["idle_camera_cpu_percent"] is not None
    ]
    print(
        json.dumps(
            {
                "model": "NanoDet-g 416x416 (COCO val mAP 22.9 as published)",
                "frames": "640x480 JPEG of vtest.avi (OpenCV's samples, from Debian's opencv-doc)",
                "engine": "LiteRT (XNNPACK), the cortex's choice where it is installed",
                "bare_litert_frames_per_s": round(bare_per_s, 2),
                "bare_tensorflow_frames_per_s": round(bare_tf, 2),
                "cortex_frames_per_s": round(ours, 2),
                "ratio": round(ours / bare_per_s, 3),
                "goal_ratio": 0.9,
                "recall": found,
                "camera_trials": trials,
                "max_cameras": max(passed) if passed else 0,
                "goal_max_cameras": 16,
                "idle_camera_cpu_percent": round(float(np.mean(idle)), 2) if idle else None,
                "bare_opencv_reading_at_5fps_cpu_percent": round(
                    bare_idle_cpu(videos["still"], 10), 2
                ),
                "cortex_peak_rss_mb": round(peak),
                "cortex_loaded_tensorflow": tensorflow,
                "goal_peak_rss_mb": 1024,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
