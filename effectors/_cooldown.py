"""Not the same thing twice within a while: shared by the speaker and the alerts."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable


class Cooldown:
    """Remembers when each key last went through, and holds it back for ``seconds``."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[Hashable, float] = {}

    def acquire(self, *keys: Hashable) -> bool:
        """True, and start the cooldown of every key, unless any key is still cooling down."""
        now = self._clock()
        if any(now - self._last.get(key, -self.seconds - 1) < self.seconds for key in keys):
            return False
        for key in keys:
            self._last[key] = now
        self._forget_older_than(now - self.seconds)
        return True

    def _forget_older_than(self, moment: float) -> None:
        # Bounded memory however many different sentences or sources go through.
        if len(self._last) > 1024:
            self._last = {key: at for key, at in self._last.items() if at >= moment}
