"""Writing the bus into MCAP files that roll over, and keeping the folder within limits.

MCAP is the format ``ros2 bag`` and Foxglove use: each topic is a channel; brain's
events are JSON messages whose channel carries the event's JSON Schema (from
``schemas/``), so any MCAP tool can read them. Messages are kept in compressed chunks;
a chunk is on disk once it is full, so a crash, a kill -9 or a full disk loses at most
the chunk being filled (seconds), and the file stays readable up to there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import paho.mqtt.client as mqtt
import structlog
from mcap.writer import CompressionType, Writer

from brain._files import remove_oldest
from brain._topics import Topics
from schemas import EVENTS, Event, render_schema

log = structlog.get_logger()

#: Bytes of messages in a chunk before it is compressed and written: what a crash may lose.
CHUNK_BYTES = 256 * 1024
SUFFIX = ".mcap"
#: A channel's metadata: the topic prefix it was recorded under.
PREFIX_KEY = "brain.prefix"
#: The folder of the alerts' clips, beside the recordings (``Events`` writes them).
CLIPS = "clips"
#: A file smaller than this when its disk filled holds no chunk: nothing to read back.
_NO_CHUNK_BYTES = 4096


@dataclass(frozen=True)
class Limits:
    """When a file rolls over, and how much of the past the folder keeps."""

    file_bytes: int = 256 * 1024 * 1024
    file_seconds: float = 3600.0
    keep_seconds: float = 7 * 86400.0
    total_bytes: int = 8 * 1024**3
    #: What the folder's disk keeps free: the oldest files go before it is reached.
    free_bytes: int = 256 * 1024 * 1024


def event_type(topic: str, topics: Topics) -> type[Event] | None:
    """The event type a topic carries, by the contract's templates; None for the others
    (the plain-text status, raw snapshots)."""
    for kind in EVENTS:
        if _matches(topics.matching(kind), topic):
            return kind
    return None


def _matches(topic_filter: str, topic: str) -> bool:
    return bool(mqtt.topic_matches_sub(topic_filter, topic))


class RollingWriter:
    """Messages into ``directory/brain-<UTC time>.mcap`` files, a new one by size or age,
    the oldest deleted past the limits. One thread writes."""

    def __init__(
        self,
        directory: Path,
        *,
        topics: Topics,
        limits: Limits | None = None,
        removed: Callable[[list[Path]], None] | None = None,
    ) -> None:
        """``topics``: the prefix recorded, noted on each channel for ``brain replay``;
        ``removed``: told which files went to keep the limits (an index forgets them)."""
        self.directory = directory
        self.limits = limits or Limits()
        self._removed = removed
        self._topics = topics
        self._file: IO[bytes] | None = None
        self._writer: Writer | None = None
        self._channels: dict[str, int] = {}
        self._schemas: dict[str, int] = {}
        self._opened_at = 0.0
        self.path: Path | None = None
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def write(self, topic: str, payload: bytes, *, log_time_ns: int | None = None) -> None:
        """Record one message; ``OSError`` (a full disk) leaves the file readable up to
        its last whole chunk, and the next write starts a new file."""
        now_ns = log_time_ns if log_time_ns is not None else time.time_ns()
        if self._writer is None or self._due_to_roll():
            self._roll()
        assert self._writer is not None
        channel = self._channels.get(topic)
        if channel is None:
            channel = self._register(topic)
        try:
            self._writer.add_message(channel, log_time=now_ns, data=payload, publish_time=now_ns)
        except OSError:
            self._abandon(failed=True)
            raise

    def close(self) -> None:
        """Finish the file being written (its summary and footer, for fast reading), and
        keep the folder within the limits."""
        if self._writer is not None:
            try:
                self._writer.finish()  # type: ignore[no-untyped-call]
            except OSError:  # a full disk: the file is read up to its last whole chunk
                self._abandon(failed=True)
            finally:
                self._abandon()
        self.keep_within_limits()

    def _due_to_roll(self) -> bool:
        assert self._file is not None
        too_old = time.monotonic() - self._opened_at >= self.limits.file_seconds
        return too_old or self._file.tell() >= self.limits.file_bytes

    def _roll(self) -> None:
        self.close()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        self.path = self.directory / f"brain-{stamp}{SUFFIX}"
        # The user's alone: a recording holds every frame of the house.
        self._file = os.fdopen(
            os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb"
        )
        self._writer = Writer(self._file, chunk_size=CHUNK_BYTES, compression=CompressionType.ZSTD)
        self._writer.start(profile="", library="brain")
        self._channels, self._schemas = {}, {}
        self._opened_at = time.monotonic()
        log.info("recording into", file=str(self.path))

    def _register(self, topic: str) -> int:
        assert self._writer is not None
        kind = event_type(topic, self._topics)
        if kind is None:
            encoding, schema = "", 0  # not one of brain's events: bytes as they came
        else:
            encoding, schema = "json", self._schema(kind)
        channel = self._writer.register_channel(
            topic,
            message_encoding=encoding,
            schema_id=schema,
            metadata={PREFIX_KEY: self._topics.prefix},
        )
        self._channels[topic] = channel
        return channel

    def _schema(self, kind: type[Event]) -> int:
        assert self._writer is not None
        name = kind.schema_name()
        if name not in self._schemas:
            self._schemas[name] = self._writer.register_schema(
                name=name, encoding="jsonschema", data=render_schema(kind).encode()
            )
        return self._schemas[name]

    def _abandon(self, *, failed: bool = False) -> None:
        """Let the file go as it is (what is on disk stays readable); a file that failed
        before a chunk of it was on disk goes altogether."""
        if self._file is not None:
            # A full disk: what could not be flushed is the part that is lost.
            with contextlib.suppress(OSError):
                self._file.close()
            if failed and self.path is not None and _size(self.path) < _NO_CHUNK_BYTES:
                self.path.unlink(missing_ok=True)
        self._file, self._writer = None, None

    def keep_within_limits(self) -> list[Path]:
        """Delete the oldest files, recordings and clips alike (never the file being
        written), past the age and size limits and while the disk is short of its free
        space; return what went."""
        files = [*recordings(self.directory), *clip_files(self.directory)]
        removed = remove_oldest(
            (path for path in files if path != self.path),
            total_bytes=self.limits.total_bytes,
            keep_seconds=self.limits.keep_seconds,
            short_bytes=self.limits.free_bytes - free_space(self.directory),
        )
        if removed:
            log.info("removed old recordings and clips", files=len(removed))
            if self._removed is not None:
                self._removed(removed)
        return removed

    def has_room(self) -> bool:
        """Whether the disk has its free space, after the oldest files went if need be
        (and at least room for a few chunks, whatever the limit says)."""
        needed = max(self.limits.free_bytes, 4 * CHUNK_BYTES)
        if free_space(self.directory) >= needed:
            return True
        self.keep_within_limits()
        return free_space(self.directory) >= needed


def recordings(directory: Path) -> list[Path]:
    """The MCAP files of a folder, oldest first (their names sort by time)."""
    return sorted(directory.glob(f"*{SUFFIX}"))


def clip_files(directory: Path) -> list[Path]:
    """The alerts' clips kept beside a folder's recordings."""
    return sorted((directory / CLIPS).glob("*.mp4"))


def free_space(directory: Path) -> int:
    """Bytes free for us on the disk of ``directory`` (0 when it cannot be told)."""
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return 0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
