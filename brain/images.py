"""Images as they come on the bus: decoded within bounds, or refused with a reason."""

from brain._images import DEFAULT_MAX_PIXELS, DecodeError, decode, decode_bytes, image_header

__all__ = ["DEFAULT_MAX_PIXELS", "DecodeError", "decode", "decode_bytes", "image_header"]
