"""Faces found and embedded: MTCNN finds them, dlib aligns and embeds each one.

MTCNN (the ``faces`` model's detector since the first version) gives the boxes;
dlib's 5-point shape predictor aligns each face and its ResNet turns it into 128
numbers, with the weights that the ``face_recognition_models`` package ships.
Two faces of one person lie closer than ``THRESHOLD`` in that space: dlib's
published figure, 99.38 % on Labeled Faces in the Wild (LFW) at 0.6.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from brain._errors import FatalError
from brain._model import RGB
from schemas import Box

#: The embedding this code makes; a gallery made by another one cannot be matched.
EMBEDDING = "dlib_face_recognition_resnet_model_v1"
#: dlib's published distance under which two faces are one person (99.38 % on LFW).
THRESHOLD = 0.6
#: MTCNN's confidence under which a detection is not taken for a face.
MIN_CONFIDENCE = 0.9
#: Faces smaller than this (pixels, either side) are people, but too small to tell who.
MIN_FACE_PIXELS = 48

Vector = NDArray[np.float32]
INSTALL = "pip install 'brain[cortex,faces]'"


@dataclass(frozen=True)
class Face:
    box: Box
    confidence: float
    #: 128 numbers, or None for a face too small to tell who it is.
    vector: Vector | None

    @property
    def area(self) -> int:
        return self.box.width * self.box.height

    def thumbnail(self, frame: RGB) -> RGB:
        """The face cut out of its frame, with a margin, for a person to look at."""
        margin = max(self.box.width, self.box.height) // 4
        top, left = max(0, self.box.y - margin), max(0, self.box.x - margin)
        bottom = min(frame.shape[0], self.box.y + self.box.height + margin)
        right = min(frame.shape[1], self.box.x + self.box.width + margin)
        return frame[top:bottom, left:right]


class Embedder:
    """dlib's 5-point alignment and ResNet: a face's box in a frame -> its 128 numbers."""

    def __init__(self) -> None:
        ready, why = identity_availability()
        if not ready:
            raise FatalError(why)
        import dlib
        import face_recognition_models as weights

        self._aligner = dlib.shape_predictor(weights.pose_predictor_five_point_model_location())
        self._network = dlib.face_recognition_model_v1(weights.face_recognition_model_location())

    def embed(self, frame: RGB, box: Box) -> Vector:
        import dlib

        frame = np.ascontiguousarray(frame)
        shape = self._aligner(frame, dlib.rectangle(box.x, box.y, box.right, box.bottom))
        return np.asarray(self._network.compute_face_descriptor(frame, shape), np.float32)


class FaceFinder:
    """Finds the faces in a frame (MTCNN); with an ``Embedder``, the numbers of each too."""

    def __init__(self) -> None:
        try:
            from mtcnn import MTCNN
        except ImportError:
            raise FatalError(f"the mtcnn package is missing: {INSTALL}") from None
        self._detector = MTCNN(device="CPU:0")

    def find(self, frame: RGB, embedder: Embedder | None = None) -> list[Face]:
        """The faces in ``frame``, most confident first."""
        found = [f for f in self._detector.detect_faces(frame) if f["confidence"] >= MIN_CONFIDENCE]
        found.sort(key=lambda face: -face["confidence"])
        faces = []
        for face in found:
            x, y, width, height = (int(v) for v in face["box"])
            box = Box(x=x, y=y, width=width, height=height)
            big_enough = min(width, height) >= MIN_FACE_PIXELS
            vector = embedder.embed(frame, box) if embedder and big_enough else None
            faces.append(Face(box=box, confidence=float(face["confidence"]), vector=vector))
        return faces


def identity_availability() -> tuple[bool, str]:
    """Whether faces can be told apart here, and where the weights are or how to get them."""
    try:
        import dlib  # noqa: F401
        import face_recognition_models
    except ImportError:
        return False, f"telling faces apart needs dlib and face_recognition_models: {INSTALL}"
    return True, f"weights in {face_recognition_models.face_recognition_model_location()}"
