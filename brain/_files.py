"""Files written whole or not at all, and the small SQLite databases nodes keep."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from brain._errors import FatalError


class OutsideFolderError(ValueError):
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
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with partial.open("wb") as file:
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
        path.parent.mkdir(parents=True, exist_ok=True)
        database = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        database.execute("PRAGMA journal_mode=WAL")
        database.executescript(schema)
    except (OSError, sqlite3.Error) as error:
        raise FatalError(f"cannot open {what} {path} ({error}); {fix}") from None
    return database
