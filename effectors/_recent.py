"""The most recent of something per key, in a bounded number of keys: anyone who may
publish frames or perceptions can name any camera, and a flood of made-up names must
cost a bounded memory."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def newest(recent: dict[K, V], key: K, new: Callable[[], V], most: int) -> V:
    """``recent[key]`` (made with ``new`` the first time), moved to the newest end; past
    ``most`` keys, the one used longest ago goes (a dict keeps its keys in order)."""
    value = recent.pop(key) if key in recent else new()
    recent[key] = value
    if len(recent) > most:
        del recent[next(iter(recent))]
    return value
