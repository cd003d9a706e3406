"""A durable outbox: alerts wait on disk until their target has them.

SQLite, so a target that is down, or a restart of the node, loses nothing: a
delivery leaves the outbox only once its target has accepted it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from brain.files import open_database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    alert_id TEXT NOT NULL,
    target TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    snapshot BLOB,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    last_error TEXT,
    delivered REAL,
    UNIQUE (alert_id, target)
);
CREATE INDEX IF NOT EXISTS waiting ON outbox (next_attempt) WHERE delivered IS NULL;
CREATE TABLE IF NOT EXISTS fired (alert_id TEXT PRIMARY KEY, at REAL NOT NULL);
"""


@dataclass(frozen=True)
class Delivery:
    id: int
    alert_id: str
    target: str
    title: str
    body: str
    snapshot: bytes | None
    attempts: int


class Outbox:
    def __init__(self, path: Path) -> None:
        self._db = open_database(
            path,
            _SCHEMA,
            what="the alerts outbox",
            fix="choose another file with --set alerts.outbox=FILE",
        )
        self._lock = threading.Lock()

    def add(
        self, *, alert_id: str, targets: list[str], title: str, body: str, snapshot: bytes | None
    ) -> None:
        now = time.time()
        with self._lock:
            self._db.executemany(
                "INSERT OR IGNORE INTO outbox (alert_id, target, title, body, snapshot, created,"
                " next_attempt) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(alert_id, target, title, body, snapshot, now, now) for target in targets],
            )

    def due(self, *, limit: int = 20) -> list[Delivery]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, alert_id, target, title, body, snapshot, attempts FROM outbox"
                " WHERE delivered IS NULL AND next_attempt <= ? ORDER BY id LIMIT ?",
                (time.time(), limit),
            ).fetchall()
        return [Delivery(*row) for row in rows]

    def next_due_in(self) -> float | None:
        """Seconds until the next waiting delivery is due; None when nothing waits."""
        with self._lock:
            (moment,) = self._db.execute(
                "SELECT MIN(next_attempt) FROM outbox WHERE delivered IS NULL"
            ).fetchone()
        return None if moment is None else max(0.0, moment - time.time())

    def delivered(self, delivery: Delivery) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET delivered = ?, attempts = attempts + 1 WHERE id = ?",
                (time.time(), delivery.id),
            )

    def failed(self, delivery: Delivery, *, error: str, retry_in: float) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ?"
                " WHERE id = ?",
                (error, time.time() + retry_in, delivery.id),
            )

    def fired(self, alert_id: str) -> bool:
        """Whether the alert was raised already (a visit's rule fires once, across restarts)."""
        with self._lock:
            return bool(
                self._db.execute("SELECT 1 FROM fired WHERE alert_id = ?", (alert_id,)).fetchone()
            )

    def mark_fired(self, alert_id: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO fired (alert_id, at) VALUES (?, ?)", (alert_id, time.time())
            )

    def forget_delivered(self, *, before: float) -> None:
        """Drop the deliveries done before ``before`` (seconds since the epoch): their
        targets have them, and the rows hold the targets' URLs, which carry secrets; and
        the alerts fired before then."""
        with self._lock:
            self._db.execute(
                "DELETE FROM outbox WHERE delivered IS NOT NULL AND delivered < ?", (before,)
            )
            self._db.execute("DELETE FROM fired WHERE at < ?", (before,))

    def waiting(self) -> int:
        with self._lock:
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM outbox WHERE delivered IS NULL"
            ).fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()
