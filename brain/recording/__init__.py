"""The brain remembers: the bus recorded into MCAP files, read back, and the index of
what happened (visits, alerts and their clips) that ``brain events`` and the page's review use.

``RollingWriter`` writes (the recorder node), ``read`` reads (``brain replay``), and
``Events`` is the index of a recordings folder.
"""

from pathlib import Path

from brain._config import state_dir
from brain.recording._events import Events, Happened, Visit
from brain.recording._reader import Recorded, RecordingError, files_of, read
from brain.recording._replay import Replayed, moment, replay
from brain.recording._writer import (
    Limits,
    RollingWriter,
    event_type,
    free_space,
    recordings,
)


def default_folder() -> Path:
    """Where the recorder keeps its recordings unless told: the state directory."""
    return state_dir() / "recordings"


__all__ = [
    "Events",
    "Happened",
    "Limits",
    "Recorded",
    "RecordingError",
    "Replayed",
    "RollingWriter",
    "Visit",
    "default_folder",
    "event_type",
    "files_of",
    "free_space",
    "moment",
    "read",
    "recordings",
    "replay",
]
