"""Thread-safe counters and figures that a node publishes on ``{prefix}/stats/{node}``."""

from __future__ import annotations

import threading

from schemas import StatValue


class Counters:
    """Named figures shared by the bus thread and the node's own threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, StatValue] = {}

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            current = self._values.get(name, 0)
            self._values[name] = (current if isinstance(current, int | float) else 0) + amount

    def set(self, name: str, value: StatValue) -> None:
        with self._lock:
            self._values[name] = value

    def get(self, name: str) -> StatValue:
        with self._lock:
            return self._values.get(name, 0)

    def snapshot(self) -> dict[str, StatValue]:
        with self._lock:
            return dict(self._values)
