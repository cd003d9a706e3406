"""Field types shared by the events: ids, timestamps, topic-safe names, base64 bytes."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, StringConstraints, WithJsonSchema

#: The contract's default limit on image bytes (after base64 decoding).
MAX_IMAGE_BYTES = 2 * 1024 * 1024


def new_id() -> str:
    """A unique event id; uuid4 hex is unique without coordination between machines."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def _decode_base64(value: Any) -> Any:
    # Python callers hand us raw bytes; the wire (JSON) carries base64 text.
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValueError(f"not valid base64 ({error})") from None
    return value


def _encode_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


#: Bytes in Python, standard base64 (no line breaks) in JSON.
Base64Bytes = Annotated[
    bytes,
    BeforeValidator(_decode_base64),
    PlainSerializer(_encode_base64, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]

#: A name that is safe as one MQTT topic level: no separators, no wildcards.
TopicName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
]
