"""Field types shared by the events: ids, timestamps, topic-safe names, base64 bytes."""

from __future__ import annotations

import base64
import itertools
import os
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer, Strict, StringConstraints, WithJsonSchema

#: The contract's default limit on image bytes (after base64 decoding).
MAX_IMAGE_BYTES = 2 * 1024 * 1024
#: The longest text a transcript or a mention carries (a long post; a sense cuts longer ones).
MAX_TEXT_CHARS = 10_000


_id_prefix = ""
_id_counter = itertools.count()


def _reseed_ids() -> None:
    # 64 random bits per process, then a counter: unique across processes and machines
    # without coordination, and several times cheaper than uuid4 on the hot path.
    global _id_prefix, _id_counter
    _id_prefix, _id_counter = os.urandom(8).hex(), itertools.count()


_reseed_ids()
os.register_at_fork(after_in_child=_reseed_ids)  # a forked child must not repeat its parent


def new_id() -> str:
    """A unique event id (``next`` on a count is atomic under the GIL)."""
    return f"{_id_prefix}{next(_id_counter):x}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _encode_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


#: Bytes in Python, standard base64 (no line breaks) in JSON. Models that hold it set
#: ``val_json_bytes="base64"`` so pydantic-core decodes it natively; strict, so a base64
#: *string* handed over from Python is refused instead of being taken as raw bytes.
#: (pydantic's own base64 serializer writes the URL-safe alphabet, which atob() refuses.)
Base64Bytes = Annotated[
    bytes,
    Strict(),
    PlainSerializer(_encode_base64, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]


def _one_topic_level(value: str) -> str:
    # Plain `in` tests: as strict as a regex here, and several times cheaper per event.
    if "/" in value or "+" in value or "#" in value or "\0" in value:
        raise ValueError("must be a single MQTT topic level: no '/', '+', '#' or NUL")
    return value


#: A name that is safe as one MQTT topic level: no separators, no wildcards.
TopicName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_one_topic_level),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[^/+#\u0000]+$"}
    ),
]


#: What an event id may hold. Ids come off the bus from anyone allowed to publish, and
#: some become file names (an alert's clip is ``{alert id}.mp4``): letters, digits, '-'
#: and '_' only, so no id can name a folder, go up one (``..``) or hide a file (``.x``).
EVENT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

#: An event's id, or the id of the event another one refers to (a perception's cause).
EventId = Annotated[str, StringConstraints(pattern=EVENT_ID_PATTERN)]
