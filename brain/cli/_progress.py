"""Long waits on the command line say what they do, and for how long so far."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

import click


@contextmanager
def saying(
    what: str, *, about_s: float, every_s: float = 10.0, stream: TextIO | None = None
) -> Iterator[None]:
    """Say ``what`` is being done, then how long it has taken while it lasts: on a
    terminal one line redrawn each second, elsewhere a line every ``every_s``."""
    out = stream or sys.stderr
    terminal = out.isatty()
    click.echo(f"{what} (about {about_s:.0f} s)...", file=out)
    began, done = time.monotonic(), threading.Event()

    def tick() -> None:
        while not done.wait(1.0 if terminal else every_s):
            spent = time.monotonic() - began
            line = f"  {what}: {spent:.0f} s of about {about_s:.0f} s"
            click.echo(f"\r{line}" if terminal else line, file=out, nl=not terminal)

    ticker = threading.Thread(target=tick, name="progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        if terminal:
            click.echo("", file=out)
