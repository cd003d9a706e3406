"""A long wait on the command line says what it does, and keeps saying it."""

from __future__ import annotations

import io
import time

from brain.cli._progress import saying


def test_a_wait_says_what_it_does_then_how_long_it_has_taken() -> None:
    out = io.StringIO()  # not a terminal: a line at a time
    with saying("exporting door to TFLite", about_s=60, every_s=0.01, stream=out):
        deadline = time.monotonic() + 30
        while out.getvalue().count("\n") < 3:  # the wait goes on until two lines more
            assert time.monotonic() < deadline, out.getvalue()
            time.sleep(0.01)
    first, second, *_ = out.getvalue().splitlines()
    assert first == "exporting door to TFLite (about 60 s)..."
    assert second.startswith("  exporting door to TFLite: ") and second.endswith("of about 60 s")
