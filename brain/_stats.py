"""Thread-safe counts that a node publishes on ``{prefix}/stats/{node}``."""

from __future__ import annotations

import threading


class Counters:
    """Named counts shared by the bus thread and the node's own threads: they only grow
    (Prometheus reads them as counters)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, int] = {}

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._values[name] = self._values.get(name, 0) + amount

    def get(self, name: str) -> int:
        with self._lock:
            return self._values.get(name, 0)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)
