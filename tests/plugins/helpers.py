"""Test plugin: a node with a helper process of its own, as the speaker has espeak-ng."""

from __future__ import annotations

import subprocess
import threading

from brain import Node, NodeOptions
from brain.processes import die_with_parent


class Keeper(Node[NodeOptions]):
    """Runs `sleep` beside itself until it stops."""

    name = "keeper"

    def run(self, stop: threading.Event) -> None:
        helper = subprocess.Popen(["sleep", "300"], preexec_fn=die_with_parent)
        self.log.info("helper started", helper_pid=helper.pid)
        stop.wait()
        helper.kill()
        helper.wait()
