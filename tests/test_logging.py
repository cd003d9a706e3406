"""Logs: one line an event, with its node; a library's known chatter is left out."""

from __future__ import annotations

import io

import pytest

from brain import _logging

TENSORFLOW_START = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796668712.740055    4199 port.cc:153] oneDNN custom operations are on. You "
    "may see slightly different numerical results due to floating-point round-off errors.",
    "I0000 00:00:1796668712.771244    4199 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags.",
]


@pytest.mark.parametrize(("level", "shown"), [("info", 0), ("debug", len(TENSORFLOW_START))])
def test_tensorflow_s_start_lines_are_shown_only_at_debug(
    monkeypatch: pytest.MonkeyPatch, level: str, shown: int
) -> None:
    monkeypatch.setenv(_logging.LOG_FORMAT_ENV, "console")
    _logging.configure(node="test", level=level)
    out = io.StringIO()
    relay = _logging.LineRelay(stream=out)
    for line in TENSORFLOW_START:
        relay.relay("cortex", line + "\n")
    relay.relay("cortex", "Segmentation fault (core dumped)\n")
    relay.relay("cortex", '{"event": "model ready", "level": "info"}\n')
    lines = out.getvalue().splitlines()
    assert len(lines) == shown + 2
    assert "Segmentation fault" in lines[-2] and "node=cortex" in lines[-2]
    assert "model ready" in lines[-1] and not lines[-1].startswith("{")
    _logging.configure(node="test")
