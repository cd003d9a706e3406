"""The frame attached to an alert, made small enough for a phone notification."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from schemas import ImageEvent, Snapshot


class SnapshotError(ValueError):
    """A frame that cannot be made into a snapshot; the message says why."""


def downscale(frame: ImageEvent, *, size: int, quality: int = 80) -> Snapshot:
    """The frame as a JPEG whose longest side is at most ``size`` pixels."""
    try:
        with Image.open(io.BytesIO(frame.data)) as image:
            image.thumbnail((size, size))
            small = image.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise SnapshotError(f"frame {frame.id} is not a readable image ({error})") from None
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=quality)
    return Snapshot(
        content_type="image/jpeg", data=out.getvalue(), width=small.width, height=small.height
    )
