"""The frame attached to an alert, made small enough for a phone notification."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from brain import BrainError
from brain.images import DEFAULT_MAX_PIXELS, DecodeError, image_header
from schemas import ImageEvent, Snapshot


class SnapshotError(BrainError, ValueError):
    """A frame that cannot be made into a snapshot; the message says why."""


def downscale(
    frame: ImageEvent, *, size: int, quality: int = 80, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Snapshot:
    """The frame as a JPEG whose longest side is at most ``size`` pixels; a frame of more
    than ``max_pixels`` is refused from its header, before a pixel is decoded."""
    try:
        image_header(frame.data, max_pixels=max_pixels)
    except DecodeError as error:
        raise SnapshotError(f"frame {frame.id}: {error}") from None
    try:
        with Image.open(io.BytesIO(frame.data)) as image:
            width = image.width
            image.draft("RGB", (size, size))  # a JPEG decodes straight at 1/2, 1/4 or 1/8 size
            # A fast integer reduce first, then bicubic: 1.1 ms instead of 4.1 for 640x480.
            image.thumbnail((size, size), reducing_gap=1.0)
            small = image.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise SnapshotError(f"frame {frame.id} is not a readable image ({error})") from None
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=quality)
    return Snapshot(
        content_type="image/jpeg",
        data=out.getvalue(),
        width=small.width,
        height=small.height,
        scale=min(1.0, small.width / width),
    )
