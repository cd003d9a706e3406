"""structlog, configured once per process: readable on a terminal, JSON lines otherwise.

Every line carries ``node``. Node processes started by ``brain run`` always write
JSON lines; the supervisor reads them and renders them once more in its own
format, so lines of all nodes interleave whole and look alike.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from typing import Any, TextIO

import structlog

#: "json" or "console" (``--log-format``); the supervisor sets "json" for its children.
LOG_FORMAT_ENV = "BRAIN_LOG_FORMAT"

_write_lock = threading.Lock()
#: This process's choices (``configure``): its level (the relay shows a library's noise
#: only at debug) and its format (``--log-format``; None: by the environment, then the
#: stream). Module state, not the environment, so a node started from here has its own.
_chosen: dict[str, Any] = {"level": logging.INFO, "format": None}

#: What TensorFlow writes to standard error on every start, before any logging is set up
#: and whatever TF_CPP_MIN_LOG_LEVEL says: said by a node that loads it, it is noise.
LIBRARY_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\)"
    r"|I\d{4} .*\] (oneDNN custom operations are on|This TensorFlow binary is optimized)"
    r"|To enable the following instructions: .* rebuild TensorFlow"
    r"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU\."
)


def wants_json(stream: TextIO) -> bool:
    forced = (_chosen["format"] or os.environ.get(LOG_FORMAT_ENV, "")).lower()
    if forced in ("json", "console"):
        return forced == "json"
    return not stream.isatty()


def _renderer(json_lines: bool) -> Any:
    if json_lines:
        return structlog.processors.JSONRenderer(sort_keys=False)
    return structlog.dev.ConsoleRenderer(colors=False, pad_event_to=30)


def configure(
    *,
    node: str,
    level: str = "info",
    log_format: str | None = None,
    stream: TextIO | None = None,
) -> None:
    """Configure structlog for this process; ``node`` is stamped on every line.
    ``log_format``: "console" or "json" (default: as ``BRAIN_LOG_FORMAT`` says, else
    console on a terminal and JSON lines otherwise)."""
    out = stream or sys.stderr
    _chosen.update(level=logging.getLevelName(level.upper()), format=log_format)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _stamp_node(node),
            structlog.processors.format_exc_info,
            _renderer(wants_json(out)),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_chosen["level"]),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


def _stamp_node(node: str) -> Any:
    def stamp(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict.setdefault("node", node)
        return event_dict

    return stamp


class LineRelay:
    """Renders the output lines of a child process in this process's format."""

    def __init__(self, *, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._render = _renderer(wants_json(self._stream))

    def relay(self, node: str, line: str) -> dict[str, Any] | None:
        """Write one line of ``node``'s output; return it as an event, if it was one."""
        line = line.rstrip("\n")
        if not line:
            return None
        try:
            event_dict = json.loads(line)
        except ValueError:
            event_dict = None
        if not isinstance(event_dict, dict) or "event" not in event_dict:
            # Output that did not come through structlog (a C library, a crash):
            # still one whole line with its node; a library's known chatter only at debug.
            if LIBRARY_NOISE.match(line) and _chosen["level"] > logging.DEBUG:
                return None
            event_dict = {"event": line, "level": "info", "output": "raw"}
        event_dict.setdefault("node", node)
        rendered = self._render(None, event_dict.get("level", "info"), event_dict)
        with _write_lock:
            self._stream.write(rendered + "\n")
            self._stream.flush()
        return event_dict
