"""Files written whole or not at all, and the small SQLite databases nodes keep."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from brain._errors import BrainError, FatalError


class OutsideFolderError(BrainError, ValueError):
    """A name that would lead out of its folder (``../x``, ``/tmp/x``, ``a/b``), or hide
    in it (``.x``)."""


def inside(folder: Path, name: str, suffix: str = "") -> Path:
    """``folder/{name}{suffix}``, once it is sure to be a file of ``folder`` itself.

    Names come from the bus or the page (ids, people's names): the contract checks them,
    and this checks again where they become paths, whoever forgot to validate them.
    """
    path = folder / f"{name}{suffix}"
    # No '.' first: not '..', and not a hidden file (a partial file of write_whole).
    plain = name and not name.startswith(".") and not any(c in name for c in "/\\\0")
    if not plain or path.resolve().parent != folder.resolve():
        raise OutsideFolderError(f"{name!r} is not a plain file name in {folder}")
    return path


def write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash, a kill or a full disk leaves the old
    file or the new one, never half of one (a sibling file, then an atomic rename)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        # The user's alone, whatever the umask: faces, snapshots, clips, states.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def open_database(path: Path, schema: str, *, what: str, fix: str) -> sqlite3.Connection:
    """A SQLite database for several threads (behind the caller's lock), in WAL mode, with
    ``schema`` made; one sentence (``what`` it is, and the ``fix``) when it cannot open."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Made the user's alone before SQLite opens it: its -wal and -shm files follow.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        path.chmod(0o600)
        database = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        database.execute("PRAGMA journal_mode=WAL")
        database.executescript(schema)
    except (OSError, sqlite3.Error) as error:
        raise FatalError(f"cannot open {what} {path} ({error}); {fix}") from None
    return database


def remove_oldest(
    files: Iterable[Path], *, total_bytes: float, keep_seconds: float, short_bytes: int = 0
) -> list[Path]:
    """Delete the oldest of ``files`` while they are over ``total_bytes`` together, older
    than ``keep_seconds``, or the disk is still ``short_bytes`` short; return what went.
    Every folder brain writes without end is kept within bounds this way."""
    stamped = sorted((_stat(path), path) for path in files)  # oldest first
    total = sum(size for (_, size), _ in stamped)
    cutoff = time.time() - keep_seconds
    removed = []
    for (modified, size), path in stamped:
        if total <= total_bytes and short_bytes <= 0 and modified >= cutoff:
            break
        path.unlink(missing_ok=True)
        total -= size
        short_bytes -= size
        removed.append(path)
    return removed


def _stat(path: Path) -> tuple[float, int]:
    try:
        found = path.stat()
    except OSError:  # gone meanwhile: first to go, and weighs nothing
        return 0.0, 0
    return found.st_mtime, found.st_size
