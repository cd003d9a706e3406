"""``brain watch``: the bus traffic as readable lines, images summarised."""

from __future__ import annotations

import json
from typing import Any

#: Base64 text longer than this is shown as its size, not dumped.
_LONG_TEXT = 80


class _Summary(str):
    """Text that stands for a long value; shown as it is, never quoted."""


def summarize(topic: str, payload: bytes) -> str:
    """One readable line for one message."""
    try:
        document = json.loads(payload)
    except ValueError:
        return f"{topic}  {payload[: _LONG_TEXT * 2].decode('utf-8', errors='replace')}"
    if not isinstance(document, dict):
        return f"{topic}  {json.dumps(document)}"
    document = _shorten(document)
    schema = document.pop("schema", "?")
    for envelope in ("id", "source"):
        document.pop(envelope, None)
    stamp = str(document.pop("ts", ""))[11:23]
    fields = "  ".join(f"{key}={_show(value)}" for key, value in document.items())
    return f"{stamp} {topic} [{schema}]  {fields}".strip()


def raw_line(topic: str, payload: bytes) -> str:
    """One JSON line per message, for ``--json`` and tools such as jq."""
    try:
        body: Any = json.loads(payload)
    except ValueError:
        body = payload.decode("utf-8", errors="replace")
    return json.dumps({"topic": topic, "payload": body}, separators=(",", ":"))


def _shorten(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _shorten_field(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shorten(item) for item in value]
    return value


def _shorten_field(key: str, value: Any) -> Any:
    if key == "data" and isinstance(value, str) and len(value) > _LONG_TEXT:
        return _Summary(f"<{len(value) * 3 // 4} bytes>")
    return _shorten(value)


def _show(value: Any) -> str:
    if isinstance(value, _Summary):
        return value
    if isinstance(value, str):
        return value if value and " " not in value else json.dumps(value)
    return json.dumps(value, separators=(",", ":"))
