"""Per-page limits on frames: a page that sends too much is told and slowed, alone."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class FrameLimiter:
    """A token bucket: ``fps`` frames a second on average, bursts of up to one second's worth.

    A bucket rather than a fixed interval, so a page whose timer jitters is not
    punished for one early frame.
    """

    fps: float
    _tokens: float = field(init=False)
    _last: float = field(init=False, default_factory=time.monotonic)
    _last_warning: float = field(init=False, default=float("-inf"))

    def __post_init__(self) -> None:
        self._tokens = self.fps

    def allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.fps, self._tokens + (now - self._last) * self.fps)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def should_warn(self, every: float = 1.0) -> bool:
        """Whether to tell the page again; once a second is enough."""
        now = time.monotonic()
        if now - self._last_warning >= every:
            self._last_warning = now
            return True
        return False
