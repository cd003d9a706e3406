"""What is heard and read becomes perceptions; the voice commands become camera commands."""

from __future__ import annotations

from brain.faces import STRANGER, said_name
from schemas import (
    Label,
    MentionEvent,
    Perception,
    TranscriptEvent,
)


def heard(transcript: TranscriptEvent) -> Perception:
    return Perception(
        source=transcript.source,
        cause=transcript.id,
        sense=TranscriptEvent.SENSE,
        kind="speech",
        text=f'You said "{transcript.text}".',
    )


def read(mention: MentionEvent) -> Perception:
    return Perception(
        source=mention.source,
        cause=mention.id,
        sense=MentionEvent.SENSE,
        kind="mention",
        text=f"@{mention.author} mentioned you: {mention.text}",
    )


def sentence(labels: list[Label]) -> str:
    """One short sentence that a speaker or a page can say as it is."""
    placed = any(label.box is not None or label.distance is not None for label in labels)
    if not placed and len({label.label for label in labels}) == len(labels):
        # a ranking of guesses, each a different class: its best one
        name = labels[0].label.replace("_", " ")
        return f"I see {_a(name)}."
    parts = _who(labels) + _things(labels)
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"I see {listed}."


def _who(labels: list[Label]) -> list[str]:
    """The people: "Alice", "a stranger", "2 other people"; or "3 people" when no face
    was told apart."""
    told = [label.label for label in labels if label.distance is not None]
    people = sum(label.label == "person" and label.distance is None for label in labels)
    if not told:
        return [_count(people, "a person", "people")] if people else []
    names = [said_name(name) for name in dict.fromkeys(told) if name != STRANGER]
    strangers = told.count(STRANGER)
    untold = people - len(told)  # faces too small to tell, or people seen from behind
    return [
        *names,
        *([_count(strangers, "a stranger", "strangers")] if strangers else []),
        *([_count(untold, "someone else", "other people")] if untold > 0 else []),
    ]


def _things(labels: list[Label]) -> list[str]:
    """What else was found, most of a kind first: "2 cars", "a dog"."""
    kinds = [label.label for label in labels if label.label != "person" and label.distance is None]
    counted = sorted(dict.fromkeys(kinds), key=lambda kind: -kinds.count(kind))
    return [_count(kinds.count(kind), _a(kind), _plural(kind)) for kind in counted]


def _a(name: str) -> str:
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _plural(name: str) -> str:
    irregular = {"mouse": "mice", "knife": "knives", "sheep": "sheep", "skis": "skis"}
    if name in irregular:
        return irregular[name]
    return f"{name}es" if name.endswith(("s", "sh", "ch", "x")) else f"{name}s"


def _count(n: int, one: str, many: str) -> str:
    return one if n == 1 else f"{n} {many}"
