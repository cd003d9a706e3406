"""The voice commands: which camera command a transcript asks for."""

from __future__ import annotations

import re

from schemas import VOICE_COMMANDS, CommandName, TranscriptEvent


def voice_command(transcript: TranscriptEvent) -> CommandName | None:
    """The camera command a transcript asks for, if any: the one its microphone heard
    with its grammar, else a phrase of ``VOICE_COMMANDS`` in it ("please, what do you
    see?", typed on the page)."""
    if transcript.command is not None:
        return transcript.command
    words = " ".join(re.findall(r"[a-z']+", transcript.text.lower()))
    for phrase, command in VOICE_COMMANDS.items():
        if phrase in words:
            return command
    return None
