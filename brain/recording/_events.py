"""What happened, at a glance: the visits, the alerts and their clips, indexed beside
the recordings.

The recordings hold everything, frames included; reading hours of them to list a
day's alerts would take long. So the recorder also keeps this small SQLite index: one
row a visit (as its track last said it: who, how long, its best view), one row an
alert, with its snapshot, the visit it was of and, once it comes, its clip's file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from brain._files import OutsideFolderError, inside, open_database, write_whole
from brain.recording._writer import CLIPS
from schemas import Alert, Clip, Track

INDEX = "events.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    ts REAL NOT NULL,
    rule TEXT NOT NULL,
    source TEXT NOT NULL,
    text TEXT NOT NULL,
    who TEXT NOT NULL,
    armed INTEGER NOT NULL,
    snapshot BLOB,
    clip TEXT,
    clip_seconds REAL
);
CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (ts);
CREATE TABLE IF NOT EXISTS visits (
    track TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    label TEXT NOT NULL,
    identity TEXT,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    ended INTEGER NOT NULL,
    text TEXT NOT NULL,
    snapshot BLOB
);
CREATE INDEX IF NOT EXISTS visits_by_time ON visits (first_seen);
"""
#: Columns added since the index was first written, and how (an older index gets them).
_ADDED = {
    ("alerts", "track"): "ALTER TABLE alerts ADD COLUMN track TEXT",
    ("alerts", "clip_moment"): "ALTER TABLE alerts ADD COLUMN clip_moment REAL",
}


@dataclass(frozen=True)
class Happened:
    """One alert, as the review lists it."""

    id: str
    at: datetime
    rule: str
    source: str
    text: str
    who: list[str]  # the enrolled names and strangers in it
    armed: bool
    has_snapshot: bool
    clip: Path | None
    clip_seconds: float | None
    track: str | None = None  # the visit it was of, for a rule that judges visits
    clip_moment: float | None = None  # seconds into the clip at which it fired


@dataclass(frozen=True)
class Visit:
    """One visit, as the review lists it: who, where, how long, and what it fired."""

    track: str
    source: str
    label: str
    identity: str | None
    first_seen: datetime
    last_seen: datetime
    ended: bool
    text: str
    has_snapshot: bool
    alerts: list[str]  # the rules it fired
    clip: Path | None  # its first alert's...
    clip_alert: str | None = None  # ... which is this alert
    clip_moment: float | None = None  # the seconds into that clip at which the alert fired

    @property
    def seconds(self) -> float:
        return (self.last_seen - self.first_seen).total_seconds()


class Events:
    """The index of a recordings folder; usable from several threads."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._db = open_database(
            directory / INDEX,
            _SCHEMA,
            what="the events index",
            fix="choose another folder for the recordings (recorder.directory)",
        )
        self._lock = threading.Lock()
        for (table, column), change in _ADDED.items():
            columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in columns:
                self._db.execute(change)

    def add_alert(self, alert: Alert) -> None:
        who = [label.label for label in alert.perception.labels if label.distance is not None]
        if alert.track is not None and alert.track.identity and not who:
            who = [alert.track.identity]
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO alerts (id, ts, rule, source, text, who, armed, snapshot,"
                " track) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    alert.id,
                    alert.ts.timestamp(),
                    alert.rule,
                    alert.source,
                    alert.track.text if alert.track else alert.perception.text,
                    ",".join(who),
                    int(alert.armed),
                    alert.snapshot.data if alert.snapshot else None,
                    alert.track.track if alert.track else None,
                ),
            )

    def add_track(self, track: Track) -> None:
        """A visit, as its newest event says it; an ended one stays as it ended."""
        with self._lock:
            self._db.execute(
                "INSERT INTO visits (track, source, label, identity, first_seen, last_seen, ended,"
                " text, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (track) DO UPDATE"
                " SET identity = excluded.identity, last_seen = excluded.last_seen,"
                " ended = excluded.ended, text = excluded.text,"
                " snapshot = COALESCE(excluded.snapshot, snapshot) WHERE NOT ended",
                (
                    track.track,
                    track.source,
                    track.label,
                    track.identity,
                    track.first_seen.timestamp(),
                    track.last_seen.timestamp(),
                    int(track.state == "ended"),
                    track.text,
                    track.snapshot.data if track.snapshot else None,
                ),
            )

    def add_clip(self, clip: Clip) -> Path:
        """Keep the clip's video as a file of the folder, and note it on its alert."""
        path = inside(self.directory / CLIPS, clip.alert, ".mp4")
        write_whole(path, clip.data)
        with self._lock:
            self._db.execute(
                "UPDATE alerts SET clip = ?, clip_seconds = ?, clip_moment = ? WHERE id = ?",
                (path.name, clip.seconds, clip.moment, clip.alert),
            )
        return path

    def visits(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        source: str | None = None,
        track: str | None = None,
        limit: int = 500,
    ) -> list[Visit]:
        """The visits, newest first, with the rules each fired and its first clip."""
        where: list[str] = ["first_seen >= ?"]
        args: list[object] = [since or 0.0]
        for clause, value in (
            ("first_seen < ?", until),
            ("v.source = ?", source),
            ("v.track = ?", track),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        with self._lock:
            rows = self._db.execute(
                "SELECT v.track, v.source, label, identity, first_seen, last_seen, ended, v.text,"
                " v.snapshot IS NOT NULL, (SELECT group_concat(rule) FROM alerts"
                " WHERE alerts.track = v.track), a.clip, a.id, a.clip_moment"
                " FROM visits v LEFT JOIN alerts a ON a.id = (SELECT id FROM alerts"
                " WHERE alerts.track = v.track AND clip IS NOT NULL ORDER BY ts LIMIT 1)"
                f" WHERE {' AND '.join(where)} ORDER BY first_seen DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [
            Visit(
                track=row[0],
                source=row[1],
                label=row[2],
                identity=row[3],
                first_seen=datetime.fromtimestamp(row[4]).astimezone(),
                last_seen=datetime.fromtimestamp(row[5]).astimezone(),
                ended=bool(row[6]),
                text=row[7],
                has_snapshot=bool(row[8]),
                alerts=sorted(set((row[9] or "").split(",")) - {""}),
                clip=self._clip_file(row[10]),
                clip_alert=row[11],
                clip_moment=row[12],
            )
            for row in rows
        ]

    def visit_snapshot(self, track: str) -> bytes | None:
        """A visit's best view."""
        with self._lock:
            row = self._db.execute(
                "SELECT snapshot FROM visits WHERE track = ?", (track,)
            ).fetchone()
        return row[0] if row else None

    def list(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        rule: str | None = None,
        source: str | None = None,
        limit: int = 500,
    ) -> list[Happened]:
        """The alerts, newest first, narrowed as asked."""
        where, args = ["1 = 1"], []
        for clause, value in (
            ("ts >= ?", since),
            ("ts < ?", until),
            ("rule = ?", rule),
            ("source = ?", source),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        with self._lock:
            rows = self._db.execute(
                "SELECT id, ts, rule, source, text, who, armed, snapshot IS NOT NULL, clip,"
                f" clip_seconds, track, clip_moment FROM alerts WHERE {' AND '.join(where)}"
                " ORDER BY ts DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [
            Happened(
                id=row[0],
                at=datetime.fromtimestamp(row[1]).astimezone(),
                rule=row[2],
                source=row[3],
                text=row[4],
                who=[name for name in row[5].split(",") if name],
                armed=bool(row[6]),
                has_snapshot=bool(row[7]),
                clip=self._clip_file(row[8]),
                clip_seconds=row[9],
                track=row[10],
                clip_moment=row[11],
            )
            for row in rows
        ]

    def snapshot(self, alert_id: str) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT snapshot FROM alerts WHERE id = ?", (alert_id,)
            ).fetchone()
        return row[0] if row else None

    def clip(self, alert_id: str) -> Path | None:
        """The file of the alert's clip, if it has one and it is still there."""
        with self._lock:
            row = self._db.execute("SELECT clip FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        path = self._clip_file(row[0]) if row else None
        return path if path is not None and path.is_file() else None

    def _clip_file(self, name: str | None) -> Path | None:
        # The index names the file; a name that leads elsewhere (an index written by an
        # older brain, or by hand) is no clip.
        try:
            return inside(self.directory / CLIPS, name) if name else None
        except OutsideFolderError:
            return None

    def forget_clips(self, files: Iterable[Path]) -> None:
        """Those files are gone (past the limits): the alerts whose clips they were have
        none now."""
        with self._lock:
            self._db.executemany(
                "UPDATE alerts SET clip = NULL, clip_seconds = NULL WHERE clip = ?",
                [(path.name,) for path in files],
            )

    def forget_before(self, moment: float) -> int:
        """Drop the alerts older than ``moment`` (seconds since the epoch), their clips too."""
        with self._lock:
            clips = self._db.execute(
                "SELECT clip FROM alerts WHERE ts < ? AND clip IS NOT NULL", (moment,)
            ).fetchall()
            count = self._db.execute("DELETE FROM alerts WHERE ts < ?", (moment,)).rowcount
            self._db.execute("DELETE FROM visits WHERE last_seen < ?", (moment,))
        for (name,) in clips:
            path = self._clip_file(name)
            if path is not None:
                path.unlink(missing_ok=True)
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()
