"""Photos given on the command line: files and folders of JPEG and PNG, read safely."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from brain._errors import BrainError
from brain._images import DecodeError, decode_bytes
from brain._model import RGB
from brain.faces._embedding import Face
from brain.faces._gallery import Gallery

#: A phone's photo, with room to spare; a bigger one is refused before decoding.
MAX_PHOTO_PIXELS = 64_000_000
#: Photos are scaled down to this (longest side) before faces are looked for in them:
#: a camera frame's size, at which detection takes a fraction of a second.
WORKING_SIDE = 1280
_EXTENSIONS = {".jpg", ".jpeg", ".png"}


class PhotoError(BrainError, ValueError):
    """Why a photo cannot be used, in one sentence (the caller names the photo)."""


def photos_in(paths: list[Path]) -> Iterator[Path]:
    """Each file given, and the JPEG and PNG files in each folder given (sorted)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in _EXTENSIONS)
        else:
            yield path


def read_photo(path: Path) -> RGB:
    """The photo as RGB pixels, its longest side at most ``WORKING_SIDE``."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PhotoError(f"cannot be read ({error.strerror or error})") from None
    return photo_pixels(data)


def photo_pixels(data: bytes) -> RGB:
    """An encoded photo (JPEG or PNG) as RGB pixels, its longest side at most
    ``WORKING_SIDE``."""
    try:
        pixels = decode_bytes(data, max_pixels=MAX_PHOTO_PIXELS)
    except DecodeError as error:
        raise PhotoError(str(error)) from None
    height, width = pixels.shape[:2]
    scale = WORKING_SIDE / max(height, width)
    if scale >= 1:
        return pixels
    size = (round(width * scale), round(height * scale))
    import cv2  # here: importing brain loads no image library (OpenCV sets LD_LIBRARY_PATH)

    return np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), np.uint8)


def enrol_from(
    gallery: Gallery, name: str, frame: RGB, found: list[Face], *, largest: bool, origin: str
) -> None:
    """Enrol ``name`` from a photo (``frame``) and the faces ``found`` in it: the one face
    it shows (with ``largest``, the largest of several); ``PhotoError`` says why there
    is none to enrol."""
    usable = [face for face in found if face.vector is not None]
    if not usable:
        small = " big enough to tell" if found else ""
        raise PhotoError(f"no face{small} found")
    if len(usable) > 1 and not largest:
        raise PhotoError(f"{len(usable)} faces; give a photo of one person, or --pick largest")
    face = max(usable, key=lambda face: face.area)
    assert face.vector is not None
    gallery.add(name, face.vector, face.thumbnail(frame), origin=origin)
