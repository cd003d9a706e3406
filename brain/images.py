"""Images as they come on the bus: decoded within bounds, or refused with a reason; and
the masks a camera's view may have."""

from brain._images import DEFAULT_MAX_PIXELS, DecodeError, decode, decode_bytes, image_header
from brain._masks import masked_area, unmasked, zones_of

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DecodeError",
    "decode",
    "decode_bytes",
    "image_header",
    "masked_area",
    "unmasked",
    "zones_of",
]
