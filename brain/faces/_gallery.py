"""The face library ("gallery"): who the family is, as embeddings and thumbnails on disk.

    GALLERY/gallery.json            format, embedding, and who is in it (the index)
    GALLERY/people/NAME/person.json when added, and each photo's id and origin
    GALLERY/people/NAME/ID.npy      the 128 numbers of one face
    GALLERY/people/NAME/ID.jpg      that face, for a person to look at

Every file is written whole or not at all, and the index last, so a reader (a
running cortex, which reloads when the index changes) sees the old gallery or
the new one. Removing a person deletes their folder: nothing of them is kept.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from brain._config import state_dir
from brain._errors import BrainError
from brain._files import OutsideFolderError, inside, write_whole
from brain._model import RGB
from brain.faces._embedding import EMBEDDING, Vector
from schemas import STRANGER, UNIDENTIFIED

FORMAT = "brain.gallery/1"
_RESERVED = {STRANGER, UNIDENTIFIED, "person"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_THUMBNAIL_PIXELS = 160


def default_gallery() -> Path:
    """The face library's folder unless ``cortex.gallery`` says another."""
    return state_dir() / "faces"


class GalleryError(BrainError, ValueError):
    """A gallery that cannot be used as asked; the message says how to fix it."""


def name_of(given: str) -> str:
    """A person's name as labels carry it: lower case, one word (``Anna Maria`` ->
    ``anna-maria``); a name that cannot be a label is refused with the rule."""
    name = "-".join(given.strip().lower().split())
    if not _NAME.match(name) or name in _RESERVED:
        raise GalleryError(
            f"{given!r} cannot be a name: use up to 32 letters, digits, '-' or '_' "
            f"(not {' or '.join(sorted(_RESERVED))})"
        )
    return name


def said_name(name: str) -> str:
    """How a label's name is said: ``anna-maria`` -> ``Anna Maria``."""
    return name.replace("-", " ").title()


def visitor(identity: str | None, label: str = "person") -> str:
    """How a visit's visitor is said: "Alice", "a stranger", "someone" (no face told),
    or the thing it is ("a car") when it has no identity."""
    if identity == STRANGER:
        return "a stranger"
    if identity == UNIDENTIFIED:
        return "someone"
    if identity is not None:
        return said_name(identity)
    return f"{'an' if label[:1].lower() in 'aeiou' else 'a'} {label}"


@dataclass(frozen=True)
class Person:
    name: str
    added: datetime
    photos: int


@dataclass(frozen=True)
class Match:
    #: The enrolled name, or ``STRANGER``.
    name: str
    #: The distance to the nearest enrolled face (inf with nobody enrolled).
    distance: float


class Gallery:
    """One gallery folder: read it with ``open``, change it with ``add`` and ``remove``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._names: list[str] = []  # one per enrolled face, beside...
        self._vectors = np.zeros((0, 128), np.float32)  # ... its 128 numbers
        self._stamp: int | None = None

    @classmethod
    def open(cls, directory: Path) -> Gallery:
        """The gallery in ``directory`` (an empty one when there is none yet)."""
        gallery = cls(directory)
        gallery.reload()
        return gallery

    @property
    def _index(self) -> Path:
        return self.directory / "gallery.json"

    def changed(self) -> bool:
        """Whether the gallery changed on disk since it was read (a cheap stat)."""
        return self._stamp != _stamp(self._index)

    def reload(self) -> None:
        """Read the gallery again; ``GalleryError`` says what is damaged and how to fix it
        (and ``changed`` stays False until the gallery changes once more)."""
        self._stamp = _stamp(self._index)
        names, vectors = [], []
        for person in self._read_index():
            for photo in self._photos(person):
                path = self._person_dir(person) / f"{photo['id']}.npy"
                try:
                    vector = np.load(path, allow_pickle=False)
                except (OSError, ValueError) as error:
                    raise self._damaged(path, person, error) from None
                if vector.shape != (128,):
                    raise self._damaged(path, person, f"shape {vector.shape}, not (128,)")
                names.append(person)
                vectors.append(vector.astype(np.float32))
        self._names = names
        self._vectors = np.stack(vectors) if vectors else np.zeros((0, 128), np.float32)

    @property
    def empty(self) -> bool:
        return not self._names

    def people(self) -> list[Person]:
        found = []
        for name in self._read_index():
            record = self._person_record(name)
            added = datetime.fromisoformat(record["added"])
            found.append(Person(name=name, added=added, photos=len(record["photos"])))
        return found

    def match(self, vector: Vector, *, threshold: float) -> Match:
        """Who ``vector`` is: the nearest enrolled face's name within ``threshold``."""
        if self.empty:
            return Match(STRANGER, float("inf"))
        distances = np.linalg.norm(self._vectors - vector, axis=1)
        nearest = int(distances.argmin())
        distance = float(distances[nearest])
        return Match(self._names[nearest] if distance <= threshold else STRANGER, distance)

    def add(self, name: str, vector: Vector, face: RGB, *, origin: str) -> None:
        """Enrol one face of ``name`` (seen in ``origin``: a file, or a camera's frame)."""
        name = name_of(name)
        people = self._read_index()
        record = self._person_record(name) if name in people else _new_person()
        photo = secrets.token_hex(6)
        folder = self._person_dir(name)
        write_whole(folder / f"{photo}.npy", _npy(vector))
        write_whole(folder / f"{photo}.jpg", _jpeg(face))
        record["photos"].append({"id": photo, "origin": origin, "added": _now()})
        write_whole(folder / "person.json", json.dumps(record, indent=1).encode())
        self._write_index(sorted({*people, name}))
        self.reload()

    def photo_ids(self, name: str) -> list[str]:
        """The ids of ``name``'s enrolled faces, oldest first."""
        return [photo["id"] for photo in self._photos(self._enrolled(name))]

    def photo_file(self, name: str, photo: str) -> Path | None:
        """The thumbnail of one enrolled face; None when there is no such face."""
        name = self._enrolled(name)
        if photo not in self.photo_ids(name):
            return None
        return self._person_dir(name) / f"{photo}.jpg"

    def rename(self, name: str, new: str) -> None:
        """Call ``name`` ``new`` from now on: their faces, thumbnails and record move."""
        old, new = self._enrolled(name), name_of(new)
        people = self._read_index()
        if new in people:
            raise GalleryError(f"{new!r} is enrolled already: remove them first, or pick a name")
        self._person_dir(old).rename(self._person_dir(new))
        self._write_index(sorted({*people, new} - {old}))
        self.reload()

    def remove(self, name: str) -> None:
        """Forget ``name``: their embeddings, thumbnails and record are deleted."""
        key = self._enrolled(name)
        self._write_index([p for p in self._read_index() if p != key])  # gone for readers at once
        folder = self._person_dir(key)
        doomed = folder.with_name(f".removed-{key}-{secrets.token_hex(4)}")
        folder.rename(doomed)
        shutil.rmtree(doomed)
        self.reload()

    # -- on disk -------------------------------------------------------------------

    def _enrolled(self, name: str) -> str:
        """``name`` as the gallery keys it; ``GalleryError`` when no one is called so."""
        people = self._read_index()
        key = "-".join(name.strip().lower().split())
        if key not in people:
            who = ", ".join(people) or "no one yet"
            raise GalleryError(
                f"there is no {name!r} in the gallery {self.directory} (it holds: {who})"
            )
        return key

    def _person_dir(self, name: str) -> Path:
        try:
            return inside(self.directory / "people", name)
        except OutsideFolderError:
            raise GalleryError(
                f"{self._index} names {name!r}, which is no one's folder; restore it from a "
                "backup, or move the folder aside and enrol the family again"
            ) from None

    def _read_index(self) -> list[str]:
        if not self._index.exists():
            return []
        try:
            index = json.loads(self._index.read_text(encoding="utf-8"))
            form, embedding, people = index["format"], index["embedding"], index["people"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise GalleryError(
                f"{self._index} is damaged ({error}); restore it from a backup, or move "
                f"the folder aside and enrol the family again"
            ) from None
        if form != FORMAT:
            raise GalleryError(
                f"{self._index} is a {form!r} gallery, not {FORMAT!r}; "
                "it was made by another version of brain: upgrade brain, or use another --gallery"
            )
        if embedding != EMBEDDING:
            raise GalleryError(
                f"the gallery {self.directory} was made with the {embedding!r} embedding, not "
                f"{EMBEDDING!r}: its faces cannot be compared; enrol the family again "
                "in a new --gallery"
            )
        return [str(name) for name in people]

    def _write_index(self, people: list[str]) -> None:
        index = {"format": FORMAT, "embedding": EMBEDDING, "changed": _now(), "people": people}
        write_whole(self._index, json.dumps(index, indent=1).encode())

    def _person_record(self, name: str) -> dict[str, Any]:
        path = self._person_dir(name) / "person.json"
        try:
            record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(record.get("photos"), list) or "added" not in record:
                raise ValueError("no 'added' or 'photos'")
        except (OSError, ValueError, AttributeError) as error:
            raise self._damaged(path, name, error) from None
        return record

    def _photos(self, name: str) -> list[dict[str, str]]:
        photos: list[dict[str, str]] = self._person_record(name)["photos"]
        return photos

    def _damaged(self, path: Path, name: str, why: object) -> GalleryError:
        return GalleryError(
            f"{path} is damaged ({why}); run `brain faces remove {name}` and add them again"
        )


def _stamp(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _new_person() -> dict[str, Any]:
    return {"added": _now(), "photos": []}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _npy(vector: Vector) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(vector, np.float32), allow_pickle=False)
    return buffer.getvalue()


def _jpeg(face: RGB) -> bytes:
    image = Image.fromarray(face)
    image.thumbnail((_THUMBNAIL_PIXELS, _THUMBNAIL_PIXELS))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()
