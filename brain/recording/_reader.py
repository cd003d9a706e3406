"""Reading recordings back: every message of MCAP files in order, what can be read of a
file cut short, and one sentence about a file that cannot be read at all."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import paho.mqtt.client as mqtt
import zstandard
from mcap.exceptions import InvalidMagic, McapError
from mcap.reader import make_reader
from mcap.records import Channel, Chunk, McapRecord, Message, Schema
from mcap.stream_reader import CRCValidationError, StreamReader, breakup_chunk

from brain._errors import BrainError
from brain.recording._writer import PREFIX_KEY, SUFFIX, recordings
from schemas import EVENTS, Event

#: How every MCAP file begins.
MAGIC = b"\x89MCAP0\r\n"
#: The most a chunk may open into: the recorder's chunks are 256 kB of messages, and a
#: message is 3 MiB at most. More is damage, or a bomb.
MAX_CHUNK_BYTES = 16 * 1024 * 1024
#: The events this brain reads, by their schema id (brain.image/1).
BY_SCHEMA: dict[str, type[Event]] = {kind.schema_name(): kind for kind in EVENTS}


class RecordingError(BrainError, ValueError):
    """A recording that cannot be read or replayed; the message says why, and what to do."""


@dataclass(frozen=True)
class Recorded:
    topic: str
    payload: bytes
    log_time_ns: int
    schema: str  # e.g. brain.image/1; empty for a message that is not one of brain's events
    prefix: str  # the topic prefix it was recorded under

    def topic_under(self, prefix: str) -> str:
        """Its topic under another prefix (a replay beside the live system)."""
        return prefix + self.topic[len(self.prefix) :]


def files_of(paths: Iterable[Path]) -> list[Path]:
    """The MCAP files the user named: files as they are, folders' recordings oldest first."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += recordings(path)
        elif path.exists():
            found.append(path)
        else:
            raise RecordingError(f"there is no recording {path}; give MCAP files or folders")
    return found


def read(
    paths: Iterable[Path],
    *,
    topics: str | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    warn: Callable[[str], None] = lambda _sentence: None,
) -> Iterator[Recorded]:
    """Every message of the files in turn, in the order it was recorded; ``topics`` an
    MQTT filter. A file cut short (a crash) gives what it has and ``warn`` says so."""
    for path in files_of(paths):
        for recorded in _read_one(path, warn):
            if topics is not None and not mqtt.topic_matches_sub(topics, recorded.topic):
                continue
            if start_ns is not None and recorded.log_time_ns < start_ns:
                continue
            if end_ns is not None and recorded.log_time_ns > end_ns:
                continue
            yield recorded


def _records(reader: StreamReader, damaged: list[int]) -> Iterator[McapRecord]:
    """The file's records, its chunks' opened; a chunk whose CRC is wrong, or that says
    it opens into more than a chunk can hold, is counted in ``damaged`` and skipped."""
    for record in reader.records:
        if not isinstance(record, Chunk):
            yield record
        elif record.uncompressed_size > MAX_CHUNK_BYTES:
            damaged.append(1)  # a bomb: never opened
        else:
            try:
                yield from breakup_chunk(record, validate_crc=True)
            except (CRCValidationError, McapError, zstandard.ZstdError):
                damaged.append(1)


def _read_one(path: Path, warn: Callable[[str], None]) -> Iterator[Recorded]:
    schemas: dict[int, str] = {}
    channels: dict[int, tuple[str, str, str]] = {}
    complete = False
    damaged: list[int] = []
    try:
        with path.open("rb") as stream:
            start = stream.read(len(MAGIC))
            if not MAGIC.startswith(start):  # an empty file, or its magic cut, is cut short
                raise InvalidMagic(start)
            # A closed file lists its schemas and channels at its end: with them, the
            # messages after a damaged chunk (which may have held their channel) still read.
            stream.seek(0)
            for record in _summary(stream):
                _learn(record, schemas, channels, path)
            stream.seek(0)
            reader = StreamReader(stream, emit_chunks=True, record_size_limit=MAX_CHUNK_BYTES)
            for record in _records(reader, damaged):
                if not isinstance(record, Message):
                    _learn(record, schemas, channels, path)
                elif record.channel_id in channels:
                    topic, schema, prefix = channels[record.channel_id]
                    yield Recorded(topic, record.data, record.log_time, schema, prefix)
            complete = True
    except (RecordingError, GeneratorExit):
        raise
    except OSError as error:
        raise RecordingError(f"cannot read {path} ({error.strerror})") from None
    except InvalidMagic:
        raise RecordingError(
            f"{path} is not an MCAP recording (it does not begin as one); give files that "
            f"`brain record` or `brain run recorder` wrote (*{SUFFIX})"
        ) from None
    except Exception:
        pass  # `complete` stays False: said below
    if damaged:
        warn(f"{path} has {len(damaged)} damaged chunks (their checksums are wrong): skipped")
    if not complete:
        warn(f"{path} ends early (its recorder stopped without closing it): read up to there")


def _summary(stream: IO[bytes]) -> list[McapRecord]:
    """The schemas and channels a closed file lists at its end; none for a file cut short."""
    try:
        summary = make_reader(stream).get_summary()
    except Exception:  # cut short, or damaged there: the stream says the rest
        return []
    if summary is None:
        return []
    return [*summary.schemas.values(), *summary.channels.values()]


def _learn(
    record: McapRecord,
    schemas: dict[int, str],
    channels: dict[int, tuple[str, str, str]],
    path: Path,
) -> None:
    """Note a schema's name, or a channel's topic, schema and prefix."""
    if isinstance(record, Schema):
        schemas[record.id] = record.name
    elif isinstance(record, Channel):
        schema = schemas.get(record.schema_id, "")
        if schema.startswith("brain.") and schema not in BY_SCHEMA:
            raise RecordingError(
                f"{path} holds {schema} events ({record.topic}), newer than this "
                f"brain reads ({_known(schema)}); upgrade brain to replay it"
            )
        prefix = record.metadata.get(PREFIX_KEY, record.topic.split("/")[0])
        channels[record.id] = (record.topic, schema, prefix)


def _known(schema: str) -> str:
    family = schema.rsplit("/", 1)[0] + "/"
    return ", ".join(sorted(s for s in BY_SCHEMA if s.startswith(family))) or "none of it"
