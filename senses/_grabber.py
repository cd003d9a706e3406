"""Live sources run at their own pace: a thread keeps only their newest frame.

A camera's driver queues frames; reading one at 2 fps from a 30 fps camera
would hand out ever older frames. The grabber reads all of them and keeps the
last, so the sense always publishes what the camera sees now.
"""

from __future__ import annotations

import threading
import time

from senses._capture import Capture, Frame, SourceError


class Grabber:
    def __init__(self, capture: Capture, *, stall_timeout: float) -> None:
        self._capture = capture
        self._stall_timeout = stall_timeout
        self._lock = threading.Lock()
        self._frame: Frame | None = None
        self._at = time.monotonic()
        self._problem: SourceError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._grab, name="grabber", daemon=True)
        self._thread.start()

    def _grab(self) -> None:
        while not self._stop.is_set():
            try:
                frame = self._capture.read()
            except SourceError as problem:
                with self._lock:
                    self._problem = problem
                return
            with self._lock:
                self._frame, self._at = frame, time.monotonic()

    def newest(self) -> Frame | None:
        """The newest frame not handed out yet (None if there is none yet)."""
        with self._lock:
            if self._problem is not None:
                raise self._problem
            if time.monotonic() - self._at > self._stall_timeout:
                raise SourceError(f"no frame for {self._stall_timeout:g} s")
            frame, self._frame = self._frame, None
            return frame

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._stall_timeout)
        self._capture.close()
