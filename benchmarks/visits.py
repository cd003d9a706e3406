"""Visits: what brain's tracker costs per detection against the bare library doing the
same work, what the visits node costs, and what tracking makes of a real video.

1. The people model (NanoDet-g, real weights from npm) finds the people in each of the
   795 frames of OpenCV's car park (vtest.avi, 10 fps). On those same detections:
   - bare: the assignment every SORT-style tracker is built on, IoU and scipy's
     ``linear_sum_assignment`` (the Hungarian method), with the boxes of its tracks
     kept in numpy arrays, new ones added and old ones dropped: ids and nothing else;
   - brain's tracker (``CameraTracks.update``): the same, and a velocity guess, nearness
     where boxes do not overlap, confirmation after 3 detections, lost tracks, zones.
   ``ratio`` is bare / brain (1.0: brain's costs nothing more). The best of 15 rounds
   of each, interleaved: a shared VM's speed moves from run to run, their ratio much
   less. What a look costs (a colour histogram of a box, taken only when boxes overlap
   little or a lost track may be back) is measured apart.
2. The visits node on a broker in memory: the same detections as perceptions (JSON, as
   the bus brings them), and the time until it has handled them all, per detection.
3. The walks of ``tests/walks.py`` (twelve followed by eye): detections, tracks, walks
   kept in one track, and tracks that went on with another walker, at 10 and 5 fps.

    python -m benchmarks.visits
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from brain.cortex import CortexOptions
from brain.cortex.people import WEIGHTS, People
from brain.testing import MemoryBroker, record, running
from brain.visits import CameraTracks, Detection, Frame, Visits, look_of
from schemas import Label, Perception, Track
from tests.scenes import CACHE, opencv_samples
from tests.walks import OnVideo, track_vtest

ROUNDS = 15


def bare(frames: list[list[Detection]]) -> None:
    """IoU and the Hungarian method, with numpy arrays of boxes and ids: a bare tracker."""
    boxes = np.zeros((0, 4))
    missed = np.zeros(0)
    ids = np.zeros(0, np.int64)
    next_id = 0
    for found in frames:
        seen = np.array(
            [(d.box.x, d.box.y, d.box.right, d.box.bottom) for d in found], np.float64
        ).reshape(-1, 4)
        fresh = np.arange(len(seen))
        missed += 1
        if len(boxes) and len(seen):
            cost = 1.0 - _iou(boxes, seen)
            rows, columns = linear_sum_assignment(cost)
            good = cost[rows, columns] < 0.9
            boxes[rows[good]] = seen[columns[good]]
            missed[rows[good]] = 0
            fresh = np.setdiff1d(fresh, columns[good])
        boxes = np.concatenate([boxes, seen[fresh]])
        missed = np.concatenate([missed, np.zeros(len(fresh))])
        ids = np.concatenate([ids, np.arange(next_id, next_id + len(fresh))])
        next_id += len(fresh)
        kept = missed < 300  # 30 s at 10 fps
        boxes, missed, ids = boxes[kept], missed[kept], ids[kept]


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    left, top = np.maximum(a[:, None, 0], b[None, :, 0]), np.maximum(a[:, None, 1], b[None, :, 1])
    right = np.minimum(a[:, None, 2], b[None, :, 2])
    bottom = np.minimum(a[:, None, 3], b[None, :, 3])
    common = np.maximum(right - left, 0.0) * np.maximum(bottom - top, 0.0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    overlap: np.ndarray = common / np.maximum(area_a[:, None] + area_b[None, :] - common, 1e-9)
    return overlap


def brain_tracker(frames: list[list[Detection]]) -> None:
    camera = CameraTracks()
    for index, found in enumerate(frames):
        frame = Frame(at=index / 10, width=768, height=576)
        camera.update(frame, found, lost_after=30, min_hits=3, most=512)


def best_us(run: Callable[[list[list[Detection]]], None], frames: list[list[Detection]]) -> float:
    count = sum(len(found) for found in frames)
    began = time.perf_counter()
    run(frames)
    return (time.perf_counter() - began) / count * 1e6


def look_us(frames: list[list[Detection]]) -> float:
    """What one look costs: the histogram of a person's box in a 768x576 frame."""
    video = cv2.VideoCapture(str(opencv_samples() / "vtest.avi"))
    ok, bgr = video.read()
    video.release()
    assert ok
    rgb = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), np.uint8)
    boxes = [d.box for found in frames[:200] for d in found]
    began = time.perf_counter()
    for box in boxes:
        look_of(rgb, box)
    return (time.perf_counter() - began) / len(boxes) * 1e6


def node_us(frames: list[list[Detection]], workdir: Path) -> float:
    """The visits node, through a bus in memory: per detection, from the first
    perception sent until it has handled the last."""
    start = 1_765_000_000.0
    perceptions = [
        Perception(
            source="carpark",
            cause=f"frame{index}",
            sense="camera",
            kind="vision",
            labels=[Label(label=d.label, score=d.score, box=d.box) for d in found],
            text="I see people.",
            taken=datetime.fromtimestamp(start + index / 10, UTC),
            width=768,
            height=576,
        ).to_json()
        for index, found in enumerate(frames)
        if found
    ]
    broker = MemoryBroker()
    tracks = record(broker, Track)
    options = {"state_file": workdir / "visits.json"}
    with running(Visits, broker, options=options) as node:
        began = time.perf_counter()
        for payload in perceptions:
            broker.publish("brain/perceptions/camera/carpark", payload)
        node.idle(timeout=300)
        took = time.perf_counter() - began
    assert tracks.events, "the visits node made no track"
    return took / sum(len(found) for found in frames) * 1e6


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="brain-bench-"))
    os.environ["XDG_STATE_HOME"] = str(workdir / "state")  # never the user's own
    weights = CACHE / "models" / "people"
    if WEIGHTS.damaged(weights) is not None:
        WEIGHTS.fetch(weights)
    options = {"model": "people", "weights": weights, "gallery": workdir / "gallery"}
    model = People.load(CortexOptions.model_validate(options))

    on_video = {fps: track_vtest(model, fps=fps) for fps in (10, 5)}
    frames = [found for _, found in on_video[10].detections]
    best = {"bare": float("inf"), "brain": float("inf")}
    for _ in range(ROUNDS):
        best["bare"] = min(best["bare"], best_us(bare, frames))
        best["brain"] = min(best["brain"], best_us(brain_tracker, frames))
    print(
        json.dumps(
            {
                "cpu": _cpu(),
                "detections": sum(len(found) for found in frames),
                "frames": len(frames),
                "bare_us_per_detection": round(best["bare"], 2),
                "tracker_us_per_detection": round(best["brain"], 2),
                "ratio": round(best["bare"] / best["brain"], 2),
                "look_us": round(look_us(frames), 2),
                "node_us_per_detection": round(node_us(frames, workdir), 2),
                "video": {f"{fps}fps": _figures(result) for fps, result in on_video.items()},
            }
        )
    )


def _figures(result: OnVideo) -> dict[str, object]:
    figures = result.figures()
    split = figures.pop("tracks_per_walk")
    assert isinstance(split, dict)
    return figures | {"walks_split": {name: count for name, count in split.items() if count != 1}}


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
