"""Faces: a `person` label per face, with its box; given a gallery, who each one is.

MTCNN finds the faces (the ``mtcnn`` package ships its weights), so the CCTV's
person alert needs no download and no training. Once the gallery
(``cortex.gallery``, filled by ``brain faces add``) has anyone in it, each face
big enough to tell also gets a second label with the same box: the enrolled
name, or ``stranger``. The gallery is read again whenever it changes on disk.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar

import structlog

from brain._model import RGB, Model
from brain.faces import (
    STRANGER,
    Embedder,
    Face,
    FaceFinder,
    Gallery,
    GalleryError,
    default_gallery,
    identity_availability,
    name_of,
)
from schemas import Box, Label

log = structlog.get_logger()


class Faces(Model):
    """Face detection (MTCNN), and who each face is when there is a gallery (dlib)."""

    name = "faces"
    #: Each label is a face found, not a guess in a ranking: none is cut.
    cut_to_top_k: ClassVar[bool] = False

    def __init__(self, finder: FaceFinder, gallery: Gallery, *, threshold: float) -> None:
        self._finder = finder
        self._gallery = gallery
        self._threshold = threshold
        self._embedder: Embedder | None = None
        # Frames are classified on the node's thread, and faces enrolled from the bus's:
        # dlib's network runs one face at a time.
        self._lock = threading.Lock()
        self._identify()

    @classmethod
    def load(cls, options: Any) -> Faces:
        gallery = Gallery(getattr(options, "gallery", None) or default_gallery())
        faces = cls(FaceFinder(), gallery, threshold=options.face_threshold)
        faces._refresh()  # a damaged gallery: people are still seen, and it is said why
        return faces

    @classmethod
    def labels(cls, options: Any) -> frozenset[str]:
        """A person per face; who, of the people in the gallery now, or a stranger."""
        try:
            people = Gallery.open(getattr(options, "gallery", None) or default_gallery()).people()
        except GalleryError:  # said when the cortex starts; here only the names matter
            people = []
        return frozenset({"person", STRANGER, *(person.name for person in people)})

    def classify(self, frames: list[RGB]) -> list[list[Label]]:
        with self._lock:
            self._refresh()
            return [self._labels(frame) for frame in frames]

    def told_apart(self, frame: RGB) -> list[Label]:
        """Who each face in ``frame`` big enough to tell is: an enrolled name, or a
        stranger, with the face's box; none while the gallery is empty."""
        with self._lock:
            self._refresh()
            if self._embedder is None:
                return []
            return [told for _, told in self._faces(frame) if told is not None]

    def _labels(self, frame: RGB) -> list[Label]:
        labels = []
        for face, told in self._faces(frame):
            labels.append(Label(label="person", score=face.confidence, box=face.box))
            if told is not None:
                labels.append(told)
        return labels

    def _faces(self, frame: RGB) -> list[tuple[Face, Label | None]]:
        """Each face, and who it is when it is big enough to tell and there is a gallery."""
        found: list[tuple[Face, Label | None]] = []
        for face in self._finder.find(frame, self._embedder):
            told = None
            if face.vector is not None:
                match = self._gallery.match(face.vector, threshold=self._threshold)
                told = Label(
                    label=match.name,
                    score=face.confidence,
                    box=face.box,
                    distance=round(match.distance, 4),
                )
            found.append((face, told))
        return found

    def enrol(self, name: str, frame: RGB, box: Box) -> str:
        """Enrol the face at ``box`` in ``frame`` as ``name`` (from the page: "this is Bob");
        ``GalleryError`` says why not."""
        with self._lock:
            if self._embedder is None:
                self._embedder = Embedder()
            found = [f for f in self._finder.find(frame, self._embedder) if _same(f.box, box)]
            if not found or found[0].vector is None:
                raise GalleryError(f"there is no face big enough to tell at {box} in that frame")
            self._gallery.add(name, found[0].vector, found[0].thumbnail(frame), origin="the camera")
        return f"enrolled {name_of(name)}"

    def _refresh(self) -> None:
        """Read the gallery again if it changed; a damaged one leaves the faces known before."""
        if not self._gallery.changed():
            return
        try:
            self._gallery.reload()
        except GalleryError as error:
            log.error("gallery unreadable; keeping the faces known before it", reason=str(error))
            return
        self._identify()

    def _identify(self) -> None:
        """Load the embedder once the gallery has someone in it (not before: it costs)."""
        if self._embedder is None and not self._gallery.empty:
            self._embedder = Embedder()
            log.info("telling faces apart", gallery=str(self._gallery.directory))

    def describe(self) -> str:
        who = "" if self._gallery.empty else f", who from the gallery {self._gallery.directory}"
        return f"faces (MTCNN, weights from the mtcnn package{who})"

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        try:
            import mtcnn
        except ImportError:
            return False, "the mtcnn package is missing: pip install 'brain[cortex]'"
        _, who = identity_availability()
        return True, f"weights in the mtcnn package ({Path(mtcnn.__file__).parent}); who: {who}"


def _same(found: Box, asked: Box) -> bool:
    """Whether two boxes are the same face: they overlap by more than half."""
    width = min(found.right, asked.right) - max(found.x, asked.x)
    height = min(found.bottom, asked.bottom) - max(found.y, asked.y)
    overlap = max(0, width) * max(0, height)
    union = found.width * found.height + asked.width * asked.height - overlap
    return union > 0 and overlap / union > 0.5
