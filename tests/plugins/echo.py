"""Test plugin: turns every transcript into a speech perception, to prove delivery."""

from __future__ import annotations

from brain import Node, NodeOptions
from schemas import Perception, TranscriptEvent


class Echo(Node[NodeOptions]):
    """Repeats transcripts as perceptions."""

    name = "echo"
    subscribes = (TranscriptEvent,)
    publishes = (Perception,)

    def start(self) -> None:
        self.bus.subscribe(self.topics.sense("microphone"), TranscriptEvent, self.hear)

    def hear(self, transcript: TranscriptEvent) -> None:
        perception = Perception(
            source=transcript.source,
            cause=transcript.id,
            sense="microphone",
            kind="speech",
            text=transcript.text,
        )
        self.bus.publish(self.topics.perception("microphone", transcript.source), perception)
