"""The topic tree of the contract under a configurable prefix.

Each event type owns its template (``ImageEvent.TOPIC`` is
``senses/{sense}/{source}/image``); this module only fills templates in, so a topic is
spelled in one place: the event's class.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache

from schemas import Event

ANY = "+"


@cache
def _keys(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


@cache
def _plan(kind: type[Event]) -> tuple[tuple[str, bool, str | None], ...]:
    """Each key of the type's template, whether the event has a field of that name, and
    its default: worked out once, since publishing is the hot path of every node."""
    if not kind.TOPIC:
        raise TypeError(f"{kind.__name__} has no topic: give it a TOPIC template")
    defaults = kind.topic_defaults()
    return tuple((key, key in kind.model_fields, defaults.get(key)) for key in _keys(kind.TOPIC))


def strip_share(topic_filter: str) -> str:
    """``$share/group/a/b`` subscribes to ``a/b``; messages arrive on the plain topic."""
    if topic_filter.startswith("$share/"):
        return topic_filter.split("/", 2)[2]
    return topic_filter


@dataclass(frozen=True)
class Topics:
    prefix: str = "brain"

    def of(self, event: Event, **keys: str) -> str:
        """The topic to publish ``event`` on. Each key of its type's template comes from
        ``keys``, else the event's field of that name, else the type's default."""
        kind = type(event)
        values = {}
        for key, is_field, default in _plan(kind):
            value = keys.get(key) or (is_field and getattr(event, key)) or default
            if not isinstance(value, str):
                raise TypeError(
                    f"publishing a {kind.__name__} needs {key}=...: its topic is {kind.TOPIC}"
                )
            values[key] = value
        return f"{self.prefix}/{kind.TOPIC.format_map(values)}"

    def matching(self, kind: type[Event], *, shared: str = "", **keys: str) -> str:
        """A filter for events of ``kind``: keys not given (nor defaulted) match anything.

        ``shared``: a shared-subscription group, whose members share the messages.
        """
        values = {key: keys.get(key) or default or ANY for key, _, default in _plan(kind)}
        topic_filter = f"{self.prefix}/{kind.TOPIC.format_map(values)}"
        return f"$share/{shared}/{topic_filter}" if shared else topic_filter

    def keys(self, kind: type[Event], topic: str) -> dict[str, str]:
        """The template's keys as ``topic`` fills them in, e.g. a command's ``target``."""
        levels = topic.split("/")[len(self.prefix.split("/")) :]
        template = kind.TOPIC.split("/")
        return {
            part[1:-1]: level
            for part, level in zip(template, levels, strict=False)
            if part.startswith("{")
        }

    def status(self, node: str = "#") -> str:
        """Presence, plain text and retained: ``online``, ``offline`` or ``stopped``; a
        node's, or one instance's (``camera/frontdoor``: each camera of several); every
        one's by default, a filter."""
        return f"{self.prefix}/status/{node}"

    def status_of(self, topic: str) -> str:
        """Whose presence a status topic says: ``camera``, or ``camera/frontdoor``."""
        return topic.removeprefix(f"{self.prefix}/status/")

    def everything(self) -> str:
        return f"{self.prefix}/#"
