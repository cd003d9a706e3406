"""`brain demo` shows the point on a machine with no webcam: the family told from a
stranger, in readable lines, without a library's noise."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from tests.support import Broker, NodeProcess

pytest.importorskip("mtcnn")


def test_the_demo_enrols_eileen_collins_and_tells_her_from_a_stranger(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess]
) -> None:
    demo = brain_process("--mqtt", mosquitto.url, "--log-format", "console", "demo")
    demo.wait_for_log("eileen-collins: 1 photos added", timeout=300)
    demo.wait_for_log("text='I see Eileen Collins.'", timeout=300)
    demo.wait_for_log("text='I see a stranger.'", timeout=60)
    assert demo.stop(signal.SIGINT, timeout=30) == 0
    assert "oneDNN" not in demo.log() and "absl" not in demo.log()
    assert not [line for line in demo.output if line.startswith("{")]
