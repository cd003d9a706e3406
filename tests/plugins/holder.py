"""Test plugin: a persistent node that says it has a transcript, then holds on to it (as
the alerts hold a perception until its alert is in the outbox) until it is killed."""

from __future__ import annotations

import threading

from brain import Node, NodeOptions, Queue, on
from schemas import Perception, TranscriptEvent


class Holder(Node[NodeOptions]):
    """Says 'holding' for each transcript, then never finishes handling it."""

    name = "holder"
    publishes = (Perception,)
    persistent = True

    @on(TranscriptEvent, keep=Queue(size=10, before_ack=True))
    def hold(self, transcript: TranscriptEvent) -> None:
        said = Perception(source=transcript.source, cause=transcript.id, sense="microphone",
                          kind="speech", text="holding")  # fmt: skip
        self.publish(said)  # a write of this node's, while the transcript is not handled
        threading.Event().wait()  # until kill -9
