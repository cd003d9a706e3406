"""Motion: where a camera's scene changes, found on a small grey copy of each frame.

Each frame is compared with a background that follows the scene slowly (a running
average), so light that shifts over minutes is not motion and a person walking in
is. What changed, less the masks, is grown a little and cut into boxes. When most of
the frame changes at once, the camera was moved or the light switched: the scene is
learnt again from that frame, and the whole of it counts as moved once, so the
cortex looks at the new scene.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from brain.images import masked_area
from schemas import Box, Polygon
from senses._capture import Frame

#: The width of the grey copy motion is looked for on: cheap, and enough for a person.
WIDTH = 160
#: A pixel changed when its grey level differs from the background's by more than this.
THRESHOLD = 25
#: How fast the background follows the scene (each frame's share of it).
LEARNING = 0.05
#: More of the frame than this changing at once is a new scene, not motion in it.
SCENE_CUT = 0.6
#: The most regions one frame names; beyond it they are joined into one.
JOINED_BEYOND = 16


class Motion:
    """Where each frame of one camera moved, in its pixels."""

    def __init__(self, *, masks: Sequence[Polygon], min_area: float) -> None:
        self._masks = list(masks)
        self._min_area = min_area
        self._background: NDArray[np.float32] | None = None
        self._unmasked: NDArray[np.bool_] | None = None

    def forget(self) -> None:
        """Learn the scene again from the next frame (which counts as moved)."""
        self._background = None

    def covered(self, width: int, height: int) -> float:
        """The share of a frame of this size that the masks cover."""
        if not self._masks:
            return 0.0
        return float(masked_area(self._masks, width=width, height=height).mean())

    def regions(self, frame: Frame) -> list[Box]:
        """The boxes of ``frame`` (BGR, as it will be sent) where the scene moved."""
        height, width = frame.shape[:2]
        small_height = max(1, round(height * WIDTH / width))
        small = cv2.resize(frame, (WIDTH, small_height), interpolation=cv2.INTER_AREA)
        grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
        if self._background is None or self._background.shape != grey.shape:
            return self._new_scene(grey, width, height)
        changed = cv2.absdiff(grey, cv2.convertScaleAbs(self._background)) > THRESHOLD
        changed &= self._visible(grey.shape)
        if changed.mean() > SCENE_CUT:
            return self._new_scene(grey, width, height)
        cv2.accumulateWeighted(grey, self._background, LEARNING)
        return self._boxes(changed, width, height)

    def _new_scene(self, grey: NDArray[Any], width: int, height: int) -> list[Box]:
        self._background = grey.astype(np.float32)
        return [Box(x=0, y=0, width=width, height=height)]

    def _visible(self, shape: tuple[int, ...]) -> NDArray[np.bool_]:
        if self._unmasked is None or self._unmasked.shape != shape:
            masked = masked_area(self._masks, width=shape[1], height=shape[0])
            self._unmasked = ~masked
        return self._unmasked

    def _boxes(self, changed: NDArray[np.bool_], width: int, height: int) -> list[Box]:
        grown = cv2.dilate(changed.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2)
        contours, _ = cv2.findContours(grown, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        least = self._min_area * changed.size
        rects = [cv2.boundingRect(c) for c in contours if cv2.contourArea(c) >= least]
        if len(rects) > JOINED_BEYOND:  # rain, snow, noise: one region around all of it
            xs = [x for x, _, w, _ in rects] + [x + w for x, _, w, _ in rects]
            ys = [y for _, y, _, h in rects] + [y + h for _, y, _, h in rects]
            rects = [(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))]
        across, down = width / changed.shape[1], height / changed.shape[0]
        return [
            Box(
                x=int(x * across),
                y=int(y * down),
                width=min(width, int(np.ceil((x + w) * across))) - int(x * across),
                height=min(height, int(np.ceil((y + h) * down))) - int(y * down),
            )
            for x, y, w, h in rects
        ]
