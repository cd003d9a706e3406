"""Masks: the parts of a camera's view where nothing is to be seen (a tree in the wind,
a busy road). They are polygons in the frame's proportions, so one holds at any
resolution; the camera leaves their motion out, the cortex what is found in them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from schemas import Box, Label, Polygon


def masked_area(masks: Sequence[Polygon], *, width: int, height: int) -> NDArray[np.bool_]:
    """A height x width picture of the masks: True where a mask covers."""
    import cv2  # here, not above: every node imports brain, few draw masks

    picture = np.zeros((height, width), np.uint8)
    for polygon in masks:
        cv2.fillPoly(picture, [np.round(_outline(polygon, width, height)).astype(np.int32)], 1)
    return picture.astype(bool)


def unmasked(
    labels: list[Label], masks: Sequence[Polygon], *, width: int, height: int
) -> list[Label]:
    """The labels found outside the masks. Where a thing stands is the middle of its
    box's bottom edge (a person's feet), as a tree's shadow on a path is not the path."""
    import cv2

    outlines = [_outline(polygon, width, height) for polygon in masks]
    kept = []
    for label in labels:
        box = label.box
        feet = None if box is None else _feet(box)
        if feet is None or not any(cv2.pointPolygonTest(o, feet, False) >= 0 for o in outlines):
            kept.append(label)
    return kept


def zones_of(box: Box, zones: Mapping[str, Polygon], *, width: int, height: int) -> list[str]:
    """The zones (polygons by name) that a thing in ``box`` stands in, as ``unmasked``
    judges where it stands."""
    import cv2

    feet = _feet(box)
    return [
        name
        for name, polygon in zones.items()
        if cv2.pointPolygonTest(_outline(polygon, width, height), feet, False) >= 0
    ]


def _feet(box: Box) -> tuple[float, float]:
    return (box.x + box.width / 2, float(box.bottom))


def _outline(polygon: Polygon, width: int, height: int) -> NDArray[np.float32]:
    """A polygon's corners in the pixels of a ``width`` x ``height`` frame."""
    return np.array([(x * width, y * height) for x, y in polygon], np.float32)
