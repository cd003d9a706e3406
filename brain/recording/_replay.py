"""Replaying recorded events onto the bus with the spacing they were recorded with."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from brain._bus import Bus
from brain.recording._reader import BY_SCHEMA, Recorded, RecordingError
from schemas import Command

_OFFSET = re.compile(r"^\+(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


@dataclass
class Replayed:
    """What a replay did: how many events, and how late each was against its schedule."""

    events: int = 0
    skipped: int = 0  # recorded messages that are not events (status words, raw snapshots)
    commands_skipped: int = 0  # orders (arm, disarm, close, enrol) not given again
    lateness_s: list[float] = field(default_factory=list)


def replay(
    recorded: Iterable[Recorded],
    bus: Bus,
    *,
    rate: float = 1.0,
    prefix: str | None = None,
    commands: bool = False,
) -> Replayed:
    """Publish each recorded event again, ``rate`` times as fast as it was recorded (0: as
    fast as the bus takes them), under ``prefix`` (default: the bus's). Commands only
    with ``commands``: a replayed "disarm" disarms whoever hears it."""
    prefix = prefix or bus.topics.prefix
    done = Replayed()
    first: int | None = None
    started = 0.0
    for message in recorded:
        kind = BY_SCHEMA.get(message.schema)
        if kind is None:
            done.skipped += 1
            continue
        if kind is Command and not commands:
            done.commands_skipped += 1
            continue
        if first is None:
            first, started = message.log_time_ns, time.monotonic()
        if rate > 0:
            due = started + (message.log_time_ns - first) / 1e9 / rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            done.lateness_s.append(time.monotonic() - due)
        bus.publish_raw(
            message.topic_under(prefix), message.payload, qos=kind.QOS, retain=kind.RETAIN
        )
        done.events += 1
    return done


def moment(text: str, *, first_ns: int | None) -> int:
    """``--from``/``--to``: an ISO time (2026-11-25T08:30:00+00:00), or ``+90s``, ``+5m``
    from the recording's first message; as nanoseconds since the epoch."""
    offset = _OFFSET.match(text)
    if offset:
        if first_ns is None:
            raise RecordingError("the recording is empty: nothing to replay from there")
        return first_ns + int(float(offset[1]) * _UNIT_SECONDS[offset[2]] * 1e9)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise RecordingError(
            f"{text!r} is no time: give an ISO time (2026-11-25T08:30:00) or an offset from "
            "the recording's start (+90s, +5m)"
        ) from None
    return int(at.astimezone().timestamp() * 1e9)
