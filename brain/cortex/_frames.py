"""Latest frame wins: per source only the newest unprocessed frame waits.

When a camera outpaces the model, older frames are dropped (and counted), so the
delay stays one inference long however fast frames come. Frames of different
sources that wait together are taken as one batch.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestFrames(Generic[T]):
    def __init__(self) -> None:
        self._waiting: OrderedDict[str, T] = OrderedDict()
        self._changed = threading.Condition()
        self.dropped = 0

    def put(self, source: str, frame: T) -> None:
        with self._changed:
            if source in self._waiting:
                self.dropped += 1
                del self._waiting[source]  # the newer one goes to the back of the line
            self._waiting[source] = frame
            self._changed.notify()

    def depth(self) -> int:
        with self._changed:
            return len(self._waiting)

    def take(self, *, batch: int, max_wait: float, timeout: float) -> list[T]:
        """Up to ``batch`` frames; after the first arrives, wait ``max_wait`` for company."""
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self._waiting), timeout):
                return []
            deadline = time.monotonic() + max_wait
            while len(self._waiting) < batch:
                left = deadline - time.monotonic()
                if left <= 0 or not self._changed.wait(left):
                    break
            taken: list[T] = []
            while self._waiting and len(taken) < batch:
                taken.append(self._waiting.popitem(last=False)[1])
            return taken
