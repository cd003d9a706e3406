"""A visit's best view: the thing cropped out of its frame, as large, sharp and
face-on as it was seen.

A view is judged by the box's area, twice that when a face was told apart in it (a
face-on view), times how sharp the crop is (the variance of its Laplacian, squashed to
0..1: a walker's motion blur loses to a step that stood still). Only a box that could
beat the best so far on area alone is cropped at all: most frames cost nothing.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from brain._model import RGB
from schemas import Box, Snapshot

#: Room around the box in the crop, as a share of its size: a person's outline whole.
MARGIN = 0.15
#: A Laplacian variance that counts as half sharp (JPEG frames of a few hundred pixels).
HALF_SHARP = 50.0


def could_beat(best: float, box: Box, *, face: bool) -> bool:
    """Whether a view of ``box`` may be better than ``best``, were it perfectly sharp."""
    return _size(box, face=face) > best


def view_of(pixels: RGB, box: Box, *, face: bool, size: int) -> tuple[Snapshot, float]:
    """The crop of ``box`` (with a margin) from a frame's RGB ``pixels``, at most
    ``size`` pixels long, and how good a view it is."""
    height, width = pixels.shape[:2]
    left = max(0, round(box.x - MARGIN * box.width))
    top = max(0, round(box.y - MARGIN * box.height))
    right = min(width, round(box.right + MARGIN * box.width))
    bottom = min(height, round(box.bottom + MARGIN * box.height))
    crop = pixels[top : max(top + 1, bottom), left : max(left + 1, right)]
    sharp = _sharpness(crop.mean(axis=2, dtype=np.float32))
    image = Image.fromarray(np.ascontiguousarray(crop))
    image.thumbnail((size, size), reducing_gap=1.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    snapshot = Snapshot(
        content_type="image/jpeg",
        data=out.getvalue(),
        width=image.width,
        height=image.height,
        scale=min(1.0, image.width / crop.shape[1]),
    )
    return snapshot, _size(box, face=face) * sharp / (sharp + HALF_SHARP)


def _size(box: Box, *, face: bool) -> float:
    return float(box.width * box.height) * (2.0 if face else 1.0)


def _sharpness(grey: np.ndarray) -> float:
    """The variance of the image's Laplacian: how much fine detail (edges) it holds."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    laplacian = (
        4 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - grey[1:-1, 2:]
    )
    return float(laplacian.var())
