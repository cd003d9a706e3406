"""Test plugin: turns every transcript into a speech perception, to prove delivery."""

from __future__ import annotations

from brain import Node, NodeOptions, on
from schemas import Perception, TranscriptEvent


class Echo(Node[NodeOptions]):
    """Repeats transcripts as perceptions."""

    name = "echo"
    publishes = (Perception,)

    @on(TranscriptEvent)
    def hear(self, transcript: TranscriptEvent) -> None:
        perception = Perception(
            source=transcript.source,
            cause=transcript.id,
            sense="microphone",
            kind="speech",
            text=transcript.text,
        )
        self.publish(perception)
