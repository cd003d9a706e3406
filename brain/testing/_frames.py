"""Camera frames for tests, built the one way a camera sends them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from brain._images import image_header
from brain._model import RGB
from schemas import ImageEvent

Colour = tuple[int, int, int]


def frame(
    picture: bytes | Path | RGB | Colour,
    *,
    source: str = "door",
    seq: int = 0,
    size: tuple[int, int] = (64, 48),
    kind: str = "JPEG",
) -> ImageEvent:
    """An ``ImageEvent`` of ``picture``: a JPEG or PNG (its bytes or its file, sent as
    it is), RGB pixels, or a plain colour of ``size`` (width, height); pixels and
    colours are encoded as ``kind`` (JPEG or PNG)."""
    if isinstance(picture, Path):
        picture = picture.read_bytes()
    if not isinstance(picture, bytes):
        pixels = (
            Image.new("RGB", size, picture)
            if isinstance(picture, tuple)
            else Image.fromarray(np.asarray(picture, dtype=np.uint8))
        )
        encoded = io.BytesIO()
        pixels.save(encoded, format=kind, quality=90)
        picture = encoded.getvalue()
    found, width, height = image_header(picture)
    return ImageEvent(
        source=source,
        content_type=f"image/{found.lower()}",
        data=picture,
        width=width,
        height=height,
        seq=seq,
    )
