"""NanoDet's input and output: a frame in, boxes of COCO classes out.

NanoDet (RangiLyu, Apache-2.0) is an anchor-free detector trained on COCO. For each
cell of three grids (strides 8, 16 and 32 over a 416x416 input) it gives a score for
each of the 80 classes and, for each side of a box, a distribution over 0 to 10
strides from the cell's centre (Generalized Focal Loss): the box's side is that
distribution's mean. Boxes of one class that overlap are then cut to the best one.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

import numpy as np
from numpy.typing import NDArray

from brain._model import RGB
from schemas import Box

#: The side of the square NanoDet-g sees.
SIDE = 416
STRIDES = (8, 16, 32)
#: Each side of a box is a distribution over 0..REG_MAX strides.
REG_MAX = 10
#: How NanoDet was trained: BGR, less its mean, over its spread.
MEAN_BGR = np.array([103.53, 116.28, 123.675], np.float32)
STD_BGR = np.array([57.375, 57.12, 58.395], np.float32)
#: The least score a thing found needs to be said (``cortex.min_score``).
MIN_SCORE = 0.4
#: What a home's camera cares about, of COCO's 80 classes (``cortex.objects``): people,
#: what they come in or on, the animals of a garden, and what a person carries. The
#: rest (a sports ball, a kite...) is left out: on a driveway it is mostly mistaken.
CCTV_OBJECTS = (
    "person", "bicycle", "car", "motorcycle", "bus", "truck", "bird", "cat", "dog", "horse",
    "backpack", "umbrella", "handbag", "suitcase",
)  # fmt: skip
#: Two boxes of one class that overlap more than this (IoU) are one thing.
OVERLAP = 0.5
#: The most candidates NMS weighs, and the most boxes a frame gives: a crowd, or a
#: damaged frame full of noise, costs a bounded time and a bounded message.
MAX_CANDIDATES = 1000
MAX_BOXES = 100
#: What moved is looked at closely only when it spans at most this much of the
#: network's side: the rest is room for the parts of a person that did not move.
ROOM = 0.75


def coco_classes() -> list[str]:
    """The 80 COCO class names, in the order of NanoDet's scores."""
    text = files("brain.cortex").joinpath("coco_classes.txt").read_text(encoding="utf-8")
    return text.splitlines()


@dataclass(frozen=True)
class Detection:
    """One thing found: its class's index, its score, and its box in frame pixels."""

    kind: int
    score: float
    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class Window:
    """The part of a frame the detector sees, scaled to the network's side."""

    left: int
    top: int
    scale: float


def network_input(
    frame: RGB, window: tuple[int, int, int, int] | None = None
) -> tuple[NDArray[np.float32], Window]:
    """``frame`` (or its ``window``: left, top, width, height) scaled to fit the
    network's square, the rest black, as NanoDet's NCHW batch of one."""
    import cv2  # here, not above: importing the cortex loads no image library

    left, top = (0, 0) if window is None else window[:2]
    if window is not None:
        frame = frame[top : top + window[3], left : left + window[2]]
    height, width = frame.shape[:2]
    scale = SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    shrinking = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    seen = frame if scale == 1 else cv2.resize(frame, size, interpolation=shrinking)
    # Channels first, BGR, normalized as NanoDet was trained, each channel in place;
    # the padding stays 0, as its own did.
    canvas = np.zeros((1, 3, SIDE, SIDE), np.float32)
    height, width = seen.shape[:2]
    for channel, (mean, std) in enumerate(zip(MEAN_BGR, STD_BGR, strict=True)):
        plane = canvas[0, channel, :height, :width]
        np.subtract(seen[..., 2 - channel], mean, out=plane, dtype=np.float32)
        plane *= 1 / std
    return canvas, Window(left, top, scale)


def _centres() -> NDArray[np.float32]:
    """Each cell's centre and stride, in the order of NanoDet's outputs."""
    rows = []
    for stride in STRIDES:
        cells = SIDE // stride
        ys, xs = np.mgrid[0:cells, 0:cells]
        rows.append(
            np.stack(
                [
                    (xs.ravel() + 0.5) * stride,
                    (ys.ravel() + 0.5) * stride,
                    np.full(cells * cells, stride),
                ],
                1,
            )
        )
    return np.concatenate(rows).astype(np.float32)


CENTRES = _centres()


def detections(
    scores: NDArray[np.float32],
    distances: NDArray[np.float32],
    window: Window,
    *,
    min_score: float,
) -> list[Detection]:
    """The boxes in NanoDet's outputs, all levels joined: ``scores`` (cells x 80, after
    the sigmoid) and ``distances`` (cells x 4 x (REG_MAX + 1) logits); best first."""
    import cv2

    best = scores.max(axis=1)
    kept = np.flatnonzero(best >= min_score)
    if kept.size > MAX_CANDIDATES:
        kept = kept[np.argsort(-best[kept])[:MAX_CANDIDATES]]
    if kept.size == 0:
        return []
    logits = distances[kept].reshape(-1, 4, REG_MAX + 1)
    weights = np.exp(logits - logits.max(axis=2, keepdims=True))
    sides = (weights / weights.sum(axis=2, keepdims=True)) @ np.arange(
        REG_MAX + 1, dtype=np.float32
    )
    centre = CENTRES[kept]
    sides *= centre[:, 2:3]
    boxes = np.stack(
        [
            centre[:, 0] - sides[:, 0],
            centre[:, 1] - sides[:, 1],
            centre[:, 0] + sides[:, 2],
            centre[:, 1] + sides[:, 3],
        ],
        axis=1,
    )
    kinds = scores[kept].argmax(axis=1)
    confidence = best[kept]
    chosen = cv2.dnn.NMSBoxesBatched(
        [(float(x0), float(y0), float(x1 - x0), float(y1 - y0)) for x0, y0, x1, y1 in boxes],
        confidence.tolist(),
        kinds.tolist(),
        min_score,
        OVERLAP,
    )
    order = sorted(np.asarray(chosen, dtype=int).ravel(), key=lambda i: -confidence[i])[:MAX_BOXES]
    return [
        Detection(
            kind=int(kinds[i]),
            score=float(confidence[i]),
            left=float(boxes[i, 0] / window.scale + window.left),
            top=float(boxes[i, 1] / window.scale + window.top),
            right=float(boxes[i, 2] / window.scale + window.left),
            bottom=float(boxes[i, 3] / window.scale + window.top),
        )
        for i in order
    ]


def window_for(
    moved: list[Box] | None, width: int, height: int
) -> tuple[int, int, int, int] | None:
    """The part of a frame worth the network's whole input (left, top, width, height): a
    square of ``SIDE`` pixels around what moved, when all of it fits with room around
    it, so a far-off person is seen at full resolution; None: the whole frame."""
    if not moved or max(width, height) <= SIDE:
        return None
    inside = [
        (max(0, box.x), max(0, box.y), min(width, box.right), min(height, box.bottom))
        for box in moved
    ]
    inside = [(x0, y0, x1, y1) for x0, y0, x1, y1 in inside if x1 > x0 and y1 > y0]
    if not inside:  # every region lies outside the frame: a camera's mistake, not ours
        return None
    left, top = min(b[0] for b in inside), min(b[1] for b in inside)
    right, bottom = max(b[2] for b in inside), max(b[3] for b in inside)
    if max(right - left, bottom - top) > ROOM * SIDE:
        return None
    side_x, side_y = min(SIDE, width), min(SIDE, height)
    x = min(max(0, (left + right) // 2 - side_x // 2), width - side_x)
    y = min(max(0, (top + bottom) // 2 - side_y // 2), height - side_y)
    return x, y, side_x, side_y
