"""How a thing looks: the colours of what it wears, to tell it from another one.

A track lost for more than a moment (hidden behind a car, out of view) is taken up
again only by a detection that looks like it: a person who leaves at the car park's
edge is not the next one to come in there. The look is a hue and saturation histogram
of the box's middle (its edges are background), as ReID's simplest baselines use:
cheap, and steady as a person turns. Two looks are alike by their histograms'
Bhattacharyya distance.
"""

from __future__ import annotations

import numpy as np

from brain._model import RGB
from schemas import Box

#: Hue and saturation bins of a look.
HUES, SATURATIONS = 16, 4
#: The share of a box's width and height cut from each side: background, mostly.
EDGE = 0.15
#: How alike two looks must be (1 - Bhattacharyya distance) to be one thing's.
SAME_LOOK = 0.65

Look = list[float]


def look_of(pixels: RGB, box: Box) -> Look | None:
    """The look of what is in ``box`` of an RGB frame; None for a box too small to say."""
    import cv2

    left, right = round(box.x + EDGE * box.width), round(box.right - EDGE * box.width)
    top, bottom = round(box.y + EDGE * box.height), round(box.bottom - EDGE * box.height)
    middle = pixels[max(0, top) : max(0, bottom), max(0, left) : max(0, right)]
    if middle.shape[0] < 4 or middle.shape[1] < 2:
        return None
    hsv = cv2.cvtColor(np.ascontiguousarray(middle), cv2.COLOR_RGB2HSV)
    histogram = cv2.calcHist([hsv], [0, 1], None, [HUES, SATURATIONS], [0, 180, 0, 256])
    total = float(histogram.sum())
    return (histogram.ravel() / total).tolist() if total else None


def alike(a: Look, b: Look) -> float:
    """How alike two looks are: 1 the same, 0 nothing in common."""
    import cv2

    distance = cv2.compareHist(
        np.asarray(a, np.float32), np.asarray(b, np.float32), cv2.HISTCMP_BHATTACHARYYA
    )
    return 1.0 - float(distance)


def blend(old: Look | None, new: Look | None) -> Look | None:
    """A track's look, kept up to date as the light and its pose change."""
    if old is None or new is None:
        return new or old
    return [round(0.7 * o + 0.3 * n, 5) for o, n in zip(old, new, strict=True)]
