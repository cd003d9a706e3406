"""A node's wiring, declared on its handlers: ``@on(ImageEvent, keep=Latest())``.

The declarations are read from the class, so ``brain list`` shows what a node reads
without running it, and the node base class subscribes each handler through the
node's inbox when it starts: nothing else subscribes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from brain._inbox import Keep, Option, Queue, _resolve
from brain._topics import Topics
from schemas import Event

F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__brain_on__"


@dataclass(frozen=True)
class On:
    """One subscription of a node: which events, narrowed how, kept how, for which method."""

    event: type[Event]
    method: str
    keep: Keep = field(default_factory=Queue)
    #: Keys of the event's topic template (``source="door"``); an ``option(...)`` is
    #: read from the node's options when it starts.
    keys: Mapping[str, str | Option] = field(default_factory=dict)
    #: A shared-subscription group (or an option naming it); empty: not shared.
    shared: str | Option = ""
    #: The handler also gets the topic's keys, e.g. a command's ``target``.
    with_keys: bool = False

    def __post_init__(self) -> None:
        if self.with_keys and not isinstance(self.keep, Queue):
            raise TypeError(f"{self.method}: with_keys needs keep=Queue(...)")

    def resolve(self, options: Any) -> tuple[str, dict[str, str]]:
        """The shared group and topic keys, with ``option(...)`` read from ``options``."""
        keys = {key: _resolve(value, options) for key, value in self.keys.items()}
        return _resolve(self.shared, options), keys

    def describe(self) -> str:
        """``ImageEvent senses/camera/+/image, latest per source`` for ``brain list``."""
        keys = {key: _shown(value) for key, value in self.keys.items()}
        where = Topics(prefix="PREFIX").matching(self.event, **keys)
        if self.shared:
            where += f" (shared in group {_shown(self.shared)})"
        keep = self.keep
        kept = "in order" if isinstance(keep, Queue) else f"latest per {keep.per}"
        return f"{self.method}: {self.event.__name__} on {where}, {kept}"


def _shown(value: str | Option) -> str:
    return f"<{value.name}>" if isinstance(value, Option) else value


def on(
    event: type[Event],
    *,
    keep: Keep | None = None,
    shared: str | Option = "",
    with_keys: bool = False,
    **keys: str | Option,
) -> Callable[[F], F]:
    """Declare a node method as the handler of ``event`` (see ``On``).

    It runs on the node's inbox thread, never on the bus thread, one event (or one
    batch) at a time.
    """

    def mark(method: F) -> F:
        declared = On(event, method.__name__, keep or Queue(), dict(keys), shared, with_keys)
        setattr(method, _MARK, declared)
        return method

    return mark


def declared(cls: type) -> tuple[On, ...]:
    """The subscriptions of a node class: its own and its ancestors', the most derived
    declaration of each method winning (an override without one keeps its parent's)."""
    found: dict[str, On] = {}
    for klass in reversed(cls.__mro__):
        for name, member in vars(klass).items():
            mark = getattr(member, _MARK, None)
            if isinstance(mark, On):
                found[name] = mark
    return tuple(found.values())
