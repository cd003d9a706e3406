"""Typed transcripts: lines from stdin, a FIFO or a text file, read off the node's thread.

Reads block until a line comes; a thread does the waiting, so the node can still
stop when it is told to (``interrupt``).
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

_END = None


class LineReader:
    def __init__(self, source: str) -> None:
        self.description = "standard input" if source == "stdin" else source
        self._source = source
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, name="lines", daemon=True).start()

    def _read(self) -> None:
        try:
            if self._source == "stdin":
                self._pump(sys.stdin)
                return
            path = Path(self._source)
            if not path.is_fifo():
                with path.open(encoding="utf-8") as file:
                    self._pump(file)
                return
            # Opened for writing too, a FIFO never ends between two writers (`echo hi >
            # /tmp/say`, then another), and no writer finds it closed: line after line.
            with open(os.open(path, os.O_RDWR), encoding="utf-8") as file:  # noqa: PTH123
                self._pump(file)
        finally:
            self._lines.put(_END)

    def _pump(self, stream: TextIO) -> None:
        for line in stream:
            if line.strip():
                self._lines.put(line.strip())

    def lines(self) -> Iterator[str]:
        """Each line as it comes; ends with the input, or when interrupted."""
        while (line := self._lines.get()) is not _END:
            yield line

    def interrupt(self) -> None:
        """End ``lines`` now (from any thread)."""
        self._lines.put(_END)
