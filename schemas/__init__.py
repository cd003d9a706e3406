"""The wire contract: pydantic models of every event on the bus, and their JSON Schemas."""

from schemas._base import Event, SenseEvent
from schemas._events import (
    EVENTS,
    VOICE_COMMANDS,
    Alert,
    Box,
    Command,
    CommandName,
    ErrorEvent,
    ImageEvent,
    Label,
    MentionEvent,
    Perception,
    PerceptionKind,
    Snapshot,
    State,
    Stats,
    StatValue,
    TranscriptEvent,
)
from schemas._export import SCHEMA_DIR, render_schema, schema_filename, write_schemas
from schemas._fields import MAX_IMAGE_BYTES, MAX_TEXT_CHARS, TopicName, new_id

__all__ = [
    "EVENTS",
    "MAX_IMAGE_BYTES",
    "MAX_TEXT_CHARS",
    "SCHEMA_DIR",
    "VOICE_COMMANDS",
    "Alert",
    "Box",
    "Command",
    "CommandName",
    "ErrorEvent",
    "Event",
    "ImageEvent",
    "Label",
    "MentionEvent",
    "Perception",
    "PerceptionKind",
    "SenseEvent",
    "Snapshot",
    "StatValue",
    "State",
    "Stats",
    "TopicName",
    "TranscriptEvent",
    "new_id",
    "render_schema",
    "schema_filename",
    "write_schemas",
]
