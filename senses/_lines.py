"""Typed transcripts: lines from stdin, a FIFO or a text file, read off the node's thread.

Reads block until a line comes; a thread does the waiting, so the node can still
stop when it is told to (``interrupt``).
"""

from __future__ import annotations

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
            # A FIFO ends with each writer (`echo hi > /tmp/say`): open it again for the
            # next one, so the node takes line after line; a file ends once.
            while True:
                with path.open(encoding="utf-8") as file:  # a FIFO waits here for a writer
                    self._pump(file)
                if not path.is_fifo():
                    return
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
