"""The house's health: which nodes run, their key figures, the errors of the last hour,
and the disk the recordings use. All of it is on the bus already (``brain/status/#``,
``brain/stats/#``, ``brain/errors/#``); the page asks ``/health`` every few seconds.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from schemas import ErrorEvent, Stats

#: The figures a page shows first, when a node has them; the rest are one tap away.
KEY_FIGURES = (
    "fps",
    "frames_out",
    "inference_ms",
    "lag_ms",
    "received",
    "published",
    "dropped",
    "errors",
    "pages",
    "tracks",
    "waiting",
)
#: Errors are counted over this many seconds...
ERRORS_OVER = 3600.0
#: ... and at most this many are kept, so a flood of bad input cannot fill memory.
MAX_ERRORS = 200
#: Nodes (and each camera of several) the page lists; more are left out, not kept.
MAX_NODES = 200
#: Seconds the disk's figures are kept before they are measured again (a walk of the folder).
DISK_EVERY = 30.0


class Health:
    """What the bus says of the nodes; fed on the inbox thread, read on the web server's."""

    def __init__(self) -> None:
        self._status: dict[str, str] = {}
        self._stats: dict[str, Stats] = {}
        self._errors: deque[tuple[float, ErrorEvent]] = deque(maxlen=MAX_ERRORS)
        self._lock = threading.Lock()

    def status(self, node: str, said: str) -> None:
        with self._lock:
            if not said:  # a status cleared: the node is gone for good
                self._status.pop(node, None)
            elif node in self._status or len(self._status) < MAX_NODES:
                self._status[node] = said

    def stats(self, stats: Stats) -> None:
        key = stats.node if stats.source == stats.node else f"{stats.node}/{stats.source}"
        with self._lock:
            if key in self._stats or len(self._stats) < MAX_NODES:
                self._stats[key] = stats

    def error(self, error: ErrorEvent) -> None:
        with self._lock:
            self._errors.append((time.time(), error))

    def nodes(self) -> list[dict[str, object]]:
        with self._lock:
            names = sorted({*self._status, *self._stats})
            return [self._node(name) for name in names]

    def _node(self, name: str) -> dict[str, object]:
        """One node's presence and figures. Under the lock."""
        # A camera of several has its own figures but shares its node's presence.
        status = self._status.get(name) or self._status.get(name.split("/")[0], "unknown")
        stats = self._stats.get(name)
        figures = stats.figures if stats else {}
        key = {k: figures[k] for k in KEY_FIGURES if k in figures}
        return {
            "node": name,
            "status": status,
            "uptime_s": round(stats.uptime_s) if stats else None,
            "key": key,
            "figures": {k: v for k, v in figures.items() if k not in key},
        }

    def errors(self) -> list[dict[str, object]]:
        since = time.time() - ERRORS_OVER
        with self._lock:
            recent = [(at, error) for at, error in self._errors if at >= since]
        return [
            {"at": error.ts.isoformat(), "node": error.node, "reason": error.reason}
            for _, error in reversed(recent)
        ]


def add_health(
    app: web.Application, health: Health, *, recordings: Path, false_alarms: Callable[[], int]
) -> None:
    """``/health``: the nodes, the errors of the last hour and the disk, as JSON."""
    disk = _Disk(recordings)

    async def report(_request: web.Request) -> web.StreamResponse:
        errors = health.errors()
        return web.json_response(
            {
                "nodes": health.nodes(),
                "errors": errors[:20],
                "errors_last_hour": len(errors),
                "disk": await disk.measured(),
                "false_alarms": false_alarms(),
            }
        )

    app.router.add_get("/health", report)


class _Disk:
    """The recordings' size and the space left, measured at most every ``DISK_EVERY`` s."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._measured: dict[str, object] = {}
        self._at = float("-inf")

    async def measured(self) -> dict[str, object]:
        if time.monotonic() - self._at >= DISK_EVERY:
            self._measured = await asyncio.to_thread(self._measure)
            self._at = time.monotonic()
        return self._measured

    def _measure(self) -> dict[str, object]:
        clips = _size(self._folder / "clips")
        free = shutil.disk_usage(self._folder).free if self._folder.exists() else None
        return {
            "folder": str(self._folder),
            "recordings": _size(self._folder) - clips,
            "clips": clips,
            "free": free,
        }


def _size(folder: Path) -> int:
    """Bytes in the files under ``folder`` (0 when there is none); links are not followed."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += (Path(root) / name).lstat().st_size
            except OSError:  # removed while we walked
                continue
    return total
