"""Safe image decoding: a corrupt, truncated, huge or foreign payload is a refusal, never a crash.

The pixel limit is checked on the header, before any pixel is decoded, so a
decompression bomb costs nothing. JPEGs decode straight at a reduced scale when
the model wants a smaller image (Pillow's draft mode), which is most of the
speed of the whole path.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from schemas import ImageEvent

#: 4096 x 4096: more than any camera frame the bus carries, far less than a bomb.
DEFAULT_MAX_PIXELS = 16_777_216
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}

RGB = NDArray[np.uint8]


class DecodeError(ValueError):
    """Why an image event cannot be used, in one sentence."""


def decode(
    event: ImageEvent, *, max_pixels: int = DEFAULT_MAX_PIXELS, size: tuple[int, int] | None = None
) -> RGB:
    """The image as RGB pixels, resized to ``size`` (width, height) when given."""
    if not event.data:
        raise DecodeError("the image is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(event.data))
            if opened.format not in FORMATS:
                raise DecodeError(
                    f"the image is {opened.format or 'not an image'}, not JPEG or PNG"
                )
            if opened.width * opened.height > max_pixels:
                raise DecodeError(
                    f"the image is {opened.width}x{opened.height}, over the "
                    f"limit of {max_pixels} pixels"
                )
            if size is not None:
                opened.draft("RGB", size)
            image = opened.convert("RGB")  # decodes: truncation and corruption show here
            if size is not None and image.size != size:
                image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    except DecodeError:
        raise
    except UnidentifiedImageError:
        raise DecodeError("the payload is not an image: not JPEG or PNG") from None
    except (
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as error:
        raise DecodeError(f"the image cannot be decoded ({error})") from None
    return np.asarray(image, dtype=np.uint8)
