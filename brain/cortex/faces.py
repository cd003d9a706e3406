"""Faces with MTCNN: a `person` label per face, with its box. Works offline, untrained.

The ``mtcnn`` package ships its weights, so the CCTV's person alert needs no
download and no training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from brain._model import RGB, Model
from schemas import Box, Label

MIN_CONFIDENCE = 0.9


class Faces(Model):
    """Face detection (MTCNN): who is at the door, not what."""

    name = "faces"

    def __init__(self, detector: Any, *, min_confidence: float = MIN_CONFIDENCE) -> None:
        self._detector = detector
        self._min_confidence = min_confidence

    @classmethod
    def load(cls, options: Any) -> Faces:
        from mtcnn import MTCNN

        return cls(MTCNN(device="CPU:0"))

    def classify(self, frames: list[RGB]) -> list[list[Label]]:
        return [self._people(frame) for frame in frames]

    def _people(self, frame: RGB) -> list[Label]:
        found = [
            face
            for face in self._detector.detect_faces(frame)
            if face["confidence"] >= self._min_confidence
        ]
        found.sort(key=lambda face: -face["confidence"])
        return [
            Label(
                label="person",
                score=float(face["confidence"]),
                box=Box(
                    x=int(face["box"][0]),
                    y=int(face["box"][1]),
                    width=int(face["box"][2]),
                    height=int(face["box"][3]),
                ),
            )
            for face in found
        ]

    def describe(self) -> str:
        return "faces (MTCNN, weights from the mtcnn package)"

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        try:
            import mtcnn
        except ImportError:
            return False, "the mtcnn package is missing: pip install 'brain[cortex]'"
        return True, f"weights in the mtcnn package ({Path(mtcnn.__file__).parent})"
