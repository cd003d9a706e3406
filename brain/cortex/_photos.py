"""The photos a network is calibrated and checked on below float32.

int8 is calibrated on photos (the range of each layer's values), and ``auto`` serves
a lower precision only if it gives float32's top label to enough of them
(``MIN_AGREEMENT``). A bundle has its own training photos. A network without any (the
stock InceptionV3) uses what every install has: scikit-image's sample photos, each
whole, mirrored and cropped, as a camera frames a scene in many ways. Six photos
alone made a coarse judge: one label out of six is 17 %.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from brain._model import RGB
from brain.cortex._scaling import Images, scaled

#: Photos that int8 is calibrated on and agreement is measured on (as many as `brain
#: export` takes). Calibrated on 32, the tests' bundle in LiteRT's int8 gave float32's
#: label to 86 % of its held-out photos, and NNCF's agreed on 91 % of the 32; on 100,
#: both agreed on every one.
CALIBRATION_PHOTOS = 100
#: scikit-image's photos in colour, and in grey: a camera sees in grey at night.
_COLOUR = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "retina")
_GREY = ("camera", "coins", "moon", "clock", "page", "text", "brick", "grass", "gravel")


def calibration_images(
    size: tuple[int, int],
    scaling: str,
    folder: Path | None = None,
    *,
    count: int = CALIBRATION_PHOTOS,
) -> Images:
    """Up to ``count`` photos (``sample_photos``), scaled for the network."""
    return scaled(sample_photos(size, folder, count=count), scaling)


def sample_photos(
    size: tuple[int, int], folder: Path | None = None, *, count: int = CALIBRATION_PHOTOS
) -> list[RGB]:
    """Up to ``count`` photos of ``size``: from ``folder`` (a bundle's training photos,
    drawn at random with a fixed seed) when it has any, else views of scikit-image's
    sample photos, which every install has."""
    from brain._images import DecodeError, decode_bytes, resized

    pictures: list[RGB] = []
    if folder is not None and folder.is_dir():
        files = sorted(path for path in folder.rglob("*") if path.is_file())
        random.Random(0).shuffle(files)  # a sample of every class, the same each time
        for path in files:
            if len(pictures) == count:
                break
            try:
                pictures.append(decode_bytes(path.read_bytes(), size=size))
            except (OSError, DecodeError):
                continue
    if not pictures:
        # Every photo's first view, then every photo's second, and so on: a few are varied.
        by_view = zip(*(_views(photo) for photo in _scikit_image_photos()), strict=True)
        views = [view for each in by_view for view in each][:count]
        pictures = [resized(np.ascontiguousarray(view), size) for view in views]
    return pictures


def _scikit_image_photos() -> list[RGB]:
    from skimage import data

    left, right, _disparity = data.stereo_motorcycle()
    colour = [getattr(data, name)() for name in _COLOUR] + [left, right]
    grey = [np.repeat(getattr(data, name)()[..., None], 3, axis=2) for name in _GREY]
    return colour + grey


def _views(photo: RGB) -> Iterator[RGB]:
    """The photo whole and mirrored, and five crops of three fifths of it (its middle,
    and each corner, two of them mirrored)."""
    height, width = photo.shape[:2]
    tall, wide = height * 3 // 5, width * 3 // 5
    top, left = (height - tall) // 2, (width - wide) // 2
    yield photo
    yield photo[:, ::-1]
    yield photo[top : top + tall, left : left + wide]
    yield photo[:tall, :wide]
    yield photo[:tall, -wide:][:, ::-1]
    yield photo[-tall:, :wide][:, ::-1]
    yield photo[-tall:, -wide:]
