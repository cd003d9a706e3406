"""A home of one's own: tests and benchmarks never touch the user's state, caches or models."""

from __future__ import annotations

from pathlib import Path

#: Where a program keeps what it writes into a user's home.
HOME_VARIABLES = (
    "HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "KERAS_HOME",
    "MPLCONFIGDIR",
)


def home_environment(folder: Path) -> dict[str, str]:
    """The variables that put every one of those places under ``folder``."""
    return {variable: str(folder / variable.lower()) for variable in HOME_VARIABLES}
