"""`brain run` on a machine where nothing listens on 127.0.0.1:1883.

This machine runs a Mosquitto on 1883, so the test makes a machine without one: a
fresh network namespace (root only), where 127.0.0.1:1883 is free.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.support import EXAMPLES, ROOT, Broker

needs_namespaces = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"),
    reason="needs root, unshare and ip to make a network namespace with a free port 1883",
)

SCRIPT = """
set -e
ip link set lo up
{brain} --plugins-dir {examples} --set heartbeat.interval=0.2 run heartbeat &
run=$!
{brain} watch --count 3 'brain/senses/#'
kill -INT $run
wait $run
"""


@needs_namespaces
def test_brain_run_without_a_broker_starts_the_embedded_one() -> None:
    brain = f"{sys.executable} -m brain"
    script = SCRIPT.format(brain=brain, examples=EXAMPLES)
    result = subprocess.run(
        ["unshare", "--net", "--", "sh", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "starting the embedded one" in result.stderr
    beats = [line for line in result.stdout.splitlines() if "[brain.transcript/1]" in line]
    assert len(beats) == 3, result.stdout
    assert all('text="beat ' in line for line in beats), beats


def test_a_busy_port_is_one_sentence(mosquitto: Broker) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "brain", "broker", "--port", str(mosquitto.port)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert f"something already listens on 127.0.0.1:{mosquitto.port}" in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
