"""What is heard and read becomes perceptions; the voice commands become camera commands."""

from __future__ import annotations

from brain.faces import STRANGER
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
    if any(label.distance is not None for label in labels):
        return _who(labels)
    name = labels[0].label.replace("_", " ")
    article = "an" if name[:1].lower() in "aeiou" else "a"
    if name == "person" and len(labels) > 1 and labels[1].label == "person":
        return f"I see {sum(label.label == 'person' for label in labels)} people."
    return f"I see {article} {name}."


def _who(labels: list[Label]) -> str:
    """Faces told apart: "I see Alice.", "I see Alice, Bob and 2 strangers."."""
    told = [label.label for label in labels if label.distance is not None]
    names = [name.replace("-", " ").title() for name in dict.fromkeys(told) if name != STRANGER]
    strangers = told.count(STRANGER)
    untold = sum(label.label == "person" for label in labels) - len(told)  # too small to tell
    parts = [
        *names,
        *([_count(strangers, "a stranger", "strangers")] if strangers else []),
        *([_count(untold, "someone else", "other people")] if untold else []),
    ]
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"I see {listed}."


def _count(n: int, one: str, many: str) -> str:
    return one if n == 1 else f"{n} {many}"
