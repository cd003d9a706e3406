"""The recorder: the bus into MCAP files, rolling over and kept within limits, and the
index of what happened (alerts, their clips) that the review and ``brain events`` read.

It keeps a persistent session, so the broker holds the QoS 1 events that come while it
restarts. It keeps ``min_free_mb`` free on its disk: the oldest recordings and clips go
first, and when that is not enough it pauses, says so once, and records again once
there is room. A write that fails all the same (a disk filled by someone else) loses
the last seconds of the file being written, never the file. The index of alerts is
kept apart from the recordings: an alert is indexed even while recording is paused.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import time
from collections import deque
from pathlib import Path

import paho.mqtt.client as mqtt
from pydantic import Field, ValidationError

from brain import Node, NodeOptions, Queue
from brain.bus import describe_rejection
from brain.recording import (
    Events,
    Limits,
    RollingWriter,
    default_folder,
    event_type,
    free_space,
)
from schemas import Alert, Clip, Event, StatValue, Track

_GB, _MB = 1024**3, 1024**2
#: How often the free space is looked at (and, while paused, whether there is room):
#: after this long, or after this many bytes came, whichever is first.
CHECK_SECONDS, CHECK_BYTES = 1.0, 256 * 1024
#: Alerts, clips and visits that could not be indexed yet (a full disk), kept to try again.
_UNINDEXED = 1000


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
        description="The oldest recordings and clips go past this size (an SD card's share).",
    )
    min_free_mb: float = Field(
        default=256.0,
        ge=0,
        description="Space left free on the disk: the oldest recordings and clips go first, "
        "then recording pauses until there is room.",
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
            free_bytes=int(options.min_free_mb * _MB),
        )
        # The index first: a folder that cannot be written is one sentence, not a crash.
        self._events = Events(options.directory)
        self._writer = RollingWriter(
            options.directory,
            topics=self.topics,
            limits=self._limits,
            removed=self._events.forget_clips,  # the alerts stay, without their clips
        )
        prefix = self.topics.prefix
        self._exclude = [f"{prefix}/{topic_filter}" for topic_filter in options.exclude]
        self._paused = False
        self._next_check, self._since_check = 0.0, 0
        self._unindexed: deque[tuple[str, bytes, type[Event]]] = deque(maxlen=_UNINDEXED)
        # Per topic, worked out once (topics repeat): excluded, or the event type it carries.
        self._kind_of = functools.lru_cache(maxsize=10_000)(self._classify)
        for topic_filter in options.topics:
            self.listen(f"{prefix}/{topic_filter}", self.heard, keep=Queue(size=10_000))
        self.log.info("recording", folder=str(options.directory), topics=options.topics)

    def heard(self, topic: str, payload: bytes) -> None:
        kind = self._kind_of(topic)
        if not payload or kind is False:
            return
        if kind in (Alert, Clip, Track):  # whether or not the recording has room
            self._index(topic, payload, kind)
        self._since_check += len(payload)
        if self._since_check >= CHECK_BYTES or time.monotonic() >= self._next_check:
            self._check_space()
        if self._paused:
            self.stats.add("unwritten")
            return
        try:
            self._writer.write(topic, payload)
        except OSError as error:
            self.stats.add("unwritten")
            self._pause(error.strerror or str(error))
            return
        self.stats.add("recorded")

    def _check_space(self) -> None:
        self._next_check = time.monotonic() + CHECK_SECONDS
        self._since_check = 0
        room = self._writer.has_room()
        if not room:
            self._pause("the disk is short of its free space")
        elif self._paused:
            self._paused = False
            self.log.info("writing again", free_mb=self._free_mb())
        for _ in range(len(self._unindexed)):  # what a full disk kept out of the index
            if self._paused:
                break
            self._index(*self._unindexed.popleft())

    def _pause(self, reason: str) -> None:
        self._next_check = time.monotonic() + CHECK_SECONDS
        if self._paused:
            return  # said once for the whole spell
        self._paused = True
        self._writer.close()  # what is on disk stays readable; a new file when there is room
        self.log.error(
            "cannot write the recording: paused until there is room; alerts are still indexed",
            reason=reason,
            free_mb=self._free_mb(),
            fix="free some space, or lower recorder.total_gb or recorder.min_free_mb",
        )

    def _free_mb(self) -> float:
        return round(free_space(self.options.directory) / _MB, 1)

    def _classify(self, topic: str) -> type[Event] | bool | None:
        """False: not recorded; else the event type it carries (None: not an event)."""
        if any(mqtt.topic_matches_sub(f, topic) for f in self._exclude):
            return False
        return event_type(topic, self.topics)

    def _index(self, topic: str, payload: bytes, kind: type[Event]) -> None:
        try:
            event = kind.model_validate_json(payload)  # an Alert, a Clip or a Track
        except ValidationError as error:
            self.bus.report_error(describe_rejection(error, kind), topic=topic, payload=payload)
            return
        try:
            if isinstance(event, Alert):
                self._events.add_alert(event)
            elif isinstance(event, Clip):
                self._events.add_clip(event)
            elif isinstance(event, Track):
                self._events.add_track(event)
        except (OSError, sqlite3.Error) as error:  # a full disk: again when there is room
            self._unindexed.append((topic, payload, kind))
            self.stats.add("index_retries")
            self._pause(str(error))
            return
        self.stats.add("indexed")

    def run(self, stop: threading.Event) -> None:
        """Forget what is past keeping, hourly: alerts and clips in the index."""
        while not stop.is_set():
            self._events.forget_before(time.time() - self._limits.keep_seconds)
            self.sleep(3600.0)

    def close(self) -> None:
        self._writer.close()
        self._events.close()

    def current_stats(self) -> dict[str, StatValue]:
        return {"file": str(self._writer.path) if self._writer.path else None}
