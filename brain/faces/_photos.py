"""Photos given on the command line: files and folders of JPEG and PNG, read safely."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from brain._errors import BrainError
from brain._images import DecodeError, decode_bytes
from brain._model import RGB

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
