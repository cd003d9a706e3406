"""An example drop-in plugin: a sense that publishes a heartbeat transcript.

Copy it into ./plugins (or pass --plugins-dir examples/plugins) and run
`brain run heartbeat`; watch it with `brain watch`.
"""

from __future__ import annotations

import threading

from pydantic import Field

from brain import NodeOptions, Sense
from schemas import TranscriptEvent


class HeartbeatOptions(NodeOptions):
    interval: float = Field(default=1.0, gt=0, description="Seconds between two beats.")
    source: str = Field(default="heart", description="The {source} level of the topic.")


class Heartbeat(Sense[HeartbeatOptions]):
    """Says "beat N" every few seconds, to show a sense is alive."""

    name = "heartbeat"
    sense = "microphone"
    Options = HeartbeatOptions
    publishes = (TranscriptEvent,)

    def run(self, stop: threading.Event) -> None:
        beat = 0
        while not stop.wait(self.options.interval):
            beat += 1
            self.emit(TranscriptEvent(source=self.options.source, text=f"beat {beat}"))
            self.stats.add("beats")  # a count: Prometheus sees brain_beats_total
            self.log.info("beat", beat=beat)  # what `brain run heartbeat` shows
