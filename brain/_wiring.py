"""A node's wiring, declared on its handlers: ``@on(ImageEvent, keep=Latest())``.

The declarations are read from the class, so ``brain list`` shows what a node reads
without running it, and the node base class subscribes each handler through the
node's inbox when it starts: nothing else subscribes.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from brain._inbox import Keep, Latest, Option, Queue, _resolve
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
        _check_signature(method, declared)
        setattr(method, _MARK, declared)
        return method

    return mark


def _check_signature(method: Callable[..., Any], declared: On) -> None:
    """Refuse, when the class is defined, a handler whose shape does not fit its
    declaration: a wrong one would fail only when its first event arrives."""
    where = f"{method.__qualname__} (@on({declared.event.__name__}))"
    parameters = list(inspect.signature(method).parameters.values())[1:]  # self
    wanted = 2 if declared.with_keys else 1
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) != wanted and not any(p.kind is p.VAR_POSITIONAL for p in parameters):
        shape = "(self, event, keys)" if declared.with_keys else "(self, event)"
        raise TypeError(f"{where} takes {len(positional)} arguments: make it {shape}")
    if not positional:
        return
    batch = isinstance(declared.keep, Latest) and declared.keep.batch is not None
    annotation = positional[0].annotation
    if annotation is inspect.Parameter.empty:
        return
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    listed = re.fullmatch(r"(?:list|Sequence|collections\.abc\.Sequence)\[(.+)\]", text)
    if batch and not listed:
        raise TypeError(f"{where} gets a list (keep=Latest(batch=...)): annotate list[...]")
    if not batch and listed:
        raise TypeError(f"{where} gets one event: annotate it {declared.event.__name__}")
    name = listed.group(1) if listed else text
    accepted = {klass.__name__ for klass in declared.event.__mro__} | {"Any", ""}
    if re.fullmatch(r"[A-Za-z_]\w*", name) and name not in accepted:
        raise TypeError(f"{where} is annotated {name}: it gets {declared.event.__name__}")


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
