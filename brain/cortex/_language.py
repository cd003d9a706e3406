"""What is heard and read becomes perceptions; the voice commands become camera commands."""

from __future__ import annotations

import re

from schemas import CommandName, Label, MentionEvent, Perception, TranscriptEvent

#: Phrase heard -> command for the camera.
VOICE_COMMANDS: dict[str, CommandName] = {
    "open your eye": "open",
    "close your eye": "close",
    "what do you see": "snapshot",
}


def heard(transcript: TranscriptEvent) -> Perception:
    return Perception(
        source=transcript.source,
        cause=transcript.id,
        sense="microphone",
        kind="speech",
        text=f'You said "{transcript.text}".',
    )


def read(mention: MentionEvent) -> Perception:
    return Perception(
        source=mention.source,
        cause=mention.id,
        sense="twitter",
        kind="mention",
        text=f"@{mention.author} mentioned you: {mention.text}",
    )


def command_in(text: str) -> CommandName | None:
    """The camera command a sentence asks for, if any ("please, what do you see?")."""
    words = " ".join(re.findall(r"[a-z']+", text.lower()))
    for phrase, command in VOICE_COMMANDS.items():
        if phrase in words:
            return command
    return None


def sentence(labels: list[Label]) -> str:
    """One short sentence that a speaker or a page can say as it is."""
    name = labels[0].label.replace("_", " ")
    article = "an" if name[:1].lower() in "aeiou" else "a"
    if name == "person" and len(labels) > 1 and labels[1].label == "person":
        return f"I see {sum(label.label == 'person' for label in labels)} people."
    return f"I see {article} {name}."
