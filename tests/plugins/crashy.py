"""Test plugins: a node that crashes, and one that cannot run at all."""

from __future__ import annotations

import threading

from brain import FatalError, Node, NodeOptions


class CrashyOptions(NodeOptions):
    after: float = 0.1


class Crashy(Node[CrashyOptions]):
    """Crashes shortly after it starts."""

    name = "crashy"
    Options = CrashyOptions

    def run(self, stop: threading.Event) -> None:
        stop.wait(self.options.after)
        raise RuntimeError("crashed on purpose")


class Hopeless(Node[NodeOptions]):
    """Refuses to start, as a node without its device would."""

    name = "hopeless"

    def start(self) -> None:
        raise FatalError("no such device: plug it in or choose another with --set")
