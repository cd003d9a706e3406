"""Write the JSON Schema of every event, so non-Python clients can rely on the contract."""

from __future__ import annotations

import json
from pathlib import Path

from schemas._base import Event
from schemas._events import EVENTS

#: Where the committed schema files live: next to the models that define them.
SCHEMA_DIR = Path(__file__).parent


def schema_filename(event: type[Event]) -> str:
    """``brain.image/1`` becomes ``brain.image.v1.schema.json``."""
    name, _, version = event.schema_name().partition("/")
    return f"{name}.v{version}.schema.json"


def render_schema(event: type[Event]) -> str:
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": event.schema_name(),
        **event.model_json_schema(by_alias=True, mode="serialization"),
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write one file per event into ``directory`` and return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event in EVENTS:
        path = directory / schema_filename(event)
        path.write_text(render_schema(event), encoding="utf-8")
        written.append(path)
    return written
