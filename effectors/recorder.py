"""The recorder: the bus into MCAP files, rolling over and kept within limits, and the
index of what happened (alerts, their clips) that the review and ``brain events`` read.

It keeps a persistent session, so the broker holds the QoS 1 events that come while it
restarts. A write that fails (a full disk) loses the last seconds of the file being
written, never the file: the recorder says so, frees the oldest recordings and goes on
in a new file.
"""

from __future__ import annotations

import functools
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from pydantic import Field, ValidationError

from brain import Node, NodeOptions, Queue, describe_rejection
from brain.recording import Events, Limits, RollingWriter, default_folder, event_type
from schemas import Alert, Clip, Event, StatValue

_GB, _MB = 1024**3, 1024**2
#: While writes fail, what comes meanwhile is dropped (and counted) for this long.
RETRY_SECONDS = 1.0


class RecorderOptions(NodeOptions):
    directory: Path = Field(default_factory=default_folder, description="Where the recordings go.")
    topics: list[str] = Field(
        default=["#"], min_length=1, description="What to record: topic filters under the prefix."
    )
    exclude: list[str] = Field(
        default=["stats/#"], description="What not to record, of that: filters under the prefix."
    )
    file_mb: int = Field(default=256, ge=1, description="A new file after this many MB.")
    file_minutes: float = Field(default=60.0, gt=0, description="A new file after this long.")
    keep_days: float = Field(default=7.0, gt=0, description="Older recordings are deleted.")
    total_gb: float = Field(
        default=4.0,
        gt=0,
        description="The oldest recordings go past this size (an SD card's share).",
    )


class Recorder(Node[RecorderOptions]):
    """Records the bus into MCAP files (for brain replay, Foxglove, ros2 bag tools)."""

    name = "recorder"
    Options = RecorderOptions
    persistent = True  # what comes while it restarts is held by the broker

    def start(self) -> None:
        options = self.options
        self._limits = Limits(
            file_bytes=options.file_mb * _MB,
            file_seconds=options.file_minutes * 60,
            keep_seconds=options.keep_days * 86400,
            total_bytes=int(options.total_gb * _GB),
        )
        # The index first: a folder that cannot be written is one sentence, not a crash.
        self._events = Events(options.directory)
        self._writer = RollingWriter(options.directory, topics=self.topics, limits=self._limits)
        prefix = self.topics.prefix
        self._exclude = [f"{prefix}/{topic_filter}" for topic_filter in options.exclude]
        self._failing = False
        self._next_try = 0.0
        # Per topic, worked out once (topics repeat): excluded, or the event type it carries.
        self._kind_of = functools.lru_cache(maxsize=10_000)(self._classify)
        for topic_filter in options.topics:
            self.listen(f"{prefix}/{topic_filter}", self.heard, keep=Queue(size=10_000))
        self.log.info("recording", folder=str(options.directory), topics=options.topics)

    def heard(self, topic: str, payload: bytes) -> None:
        kind = self._kind_of(topic)
        if not payload or kind is False:
            return
        if self._failing and time.monotonic() < self._next_try:
            self.stats.add("unwritten")  # the disk was full a moment ago: try again soon
            return
        try:
            self._writer.write(topic, payload)
        except OSError as error:
            self._cannot_write(error)
            return
        if self._failing:
            self._failing = False
            self.log.info("writing again", file=str(self._writer.path))
        self.stats.add("recorded")
        if kind is Alert or kind is Clip:
            self._index(topic, payload, kind)

    def _classify(self, topic: str) -> type[Event] | bool | None:
        """False: not recorded; else the event type it carries (None: not an event)."""
        if any(mqtt.topic_matches_sub(f, topic) for f in self._exclude):
            return False
        return event_type(topic, self.topics)

    def _cannot_write(self, error: OSError) -> None:
        self.stats.add("unwritten")
        self._next_try = time.monotonic() + RETRY_SECONDS
        if self._failing:
            return  # said once for the whole spell
        self._failing = True
        removed = self._writer.keep_within_limits()
        self.log.error(
            "cannot write the recording; the last seconds of its file are lost, and it "
            "goes on in a new file",
            reason=error.strerror or str(error),
            old_files_removed=len(removed),
            fix="free some space, or lower recorder.total_gb",
        )

    def _index(self, topic: str, payload: bytes, kind: type[Event]) -> None:
        try:
            event = kind.model_validate_json(payload)  # an Alert or a Clip
        except ValidationError as error:
            self.bus.report_error(describe_rejection(error, kind), topic=topic, payload=payload)
            return
        if isinstance(event, Alert):
            self._events.add_alert(event)
        elif isinstance(event, Clip):
            self._events.add_clip(event)
        self.stats.add("indexed")

    def run(self, stop: threading.Event) -> None:
        """Forget what is past keeping, hourly: alerts and clips in the index."""
        while not stop.is_set():
            self._events.forget_before(time.time() - self._limits.keep_seconds)
            self.sleep(3600.0)

    def close(self) -> None:
        self._writer.close()
        self._events.close()

    def figures(self) -> dict[str, StatValue]:
        return {"file": str(self._writer.path) if self._writer.path else None}
