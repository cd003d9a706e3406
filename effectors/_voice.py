"""Speech out: espeak-ng makes the sound; aplay plays it, a directory keeps it, or the log says it.

espeak-ng exits 0 even when there is no sound card, so it cannot tell whether
anyone heard; aplay can, so brain synthesizes to WAV and plays that.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import structlog

from brain import FatalError
from brain.files import remove_oldest
from brain.processes import die_with_parent

log = structlog.get_logger()


@dataclass(frozen=True, kw_only=True)
class Espeak:
    """espeak-ng with a language, a voice variant and a rate in words per minute."""

    binary: str
    language: str = "en"
    voice: str = ""
    rate: int = 160

    @classmethod
    def find(cls, *, binary: str, language: str, voice: str, rate: int) -> Espeak:
        found = shutil.which(binary)
        if found is None:
            raise FatalError(
                f"{binary} is not installed: install it (apt-get install espeak-ng) "
                "or give its path with --set speaker.espeak=PATH"
            )
        return cls(binary=found, language=language, voice=voice, rate=rate)

    def _argv(self) -> list[str]:
        voice = f"{self.language}+{self.voice}" if self.voice else self.language
        return [self.binary, "-v", voice, "-s", str(self.rate)]

    def to_wav(self, text: str) -> bytes:
        """The sentence as WAV bytes (text goes by stdin: a leading '-' is no option)."""
        return self._run([*self._argv(), "--stdout"], text)

    def to_file(self, text: str, path: Path) -> None:
        self._run([*self._argv(), "-w", str(path)], text)

    @staticmethod
    def _run(argv: list[str], text: str) -> bytes:
        done = subprocess.run(
            argv,
            input=text.encode(),
            capture_output=True,
            timeout=60,
            check=False,
            preexec_fn=die_with_parent,
        )
        if done.returncode != 0:
            problem = done.stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"espeak-ng failed: {problem[-1] if problem else done.returncode}")
        return done.stdout


class Mouth(Protocol):
    """Where a sentence goes once spoken."""

    description: str

    def say(self, text: str) -> None: ...


class Loudspeaker:
    description = "sound card"

    def __init__(self, espeak: Espeak, aplay: str) -> None:
        self._espeak = espeak
        self._aplay = aplay

    def say(self, text: str) -> None:
        play(self._aplay, self._espeak.to_wav(text))


#: The newest WAV files kept in a speaker's output folder, in bytes.
_WAV_BYTES = 64 * 1024 * 1024


class WavDirectory:
    """One WAV file per sentence: for headless machines and tests."""

    def __init__(self, espeak: Espeak, directory: Path) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise FatalError(
                f"cannot write WAV files into {directory} ({error.strerror}); "
                "choose another with --set speaker.output=DIR"
            ) from None
        self.description = f"WAV files in {directory}"
        self._espeak = espeak
        self._directory = directory
        # Numbered on from the newest there (the oldest may have gone): none is overwritten.
        numbers = (path.name[:5] for path in directory.glob("*.wav"))
        self._count = max((int(n) for n in numbers if n.isdigit()), default=0)

    def say(self, text: str) -> None:
        self._count += 1
        slug = "-".join(re.findall(r"[a-z0-9]+", text.lower()))[:60] or "sentence"
        self._espeak.to_file(text, self._directory / f"{self._count:05d}-{slug}.wav")
        # A folder that only grows would fill the disk of a speaker left running.
        remove_oldest(
            self._directory.glob("*.wav"), total_bytes=_WAV_BYTES, keep_seconds=float("inf")
        )


class LogOnly:
    description = "the log (no audio device)"

    def say(self, text: str) -> None:
        log.info("saying", text=text)


def play(aplay: str, wav_bytes: bytes) -> None:
    done = subprocess.run(
        [aplay, "-q", "-"],
        input=wav_bytes,
        capture_output=True,
        timeout=120,
        check=False,
        preexec_fn=die_with_parent,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode(errors="replace").strip() or "aplay failed")


def silence(seconds: float = 0.05, rate: int = 22050) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\0\0" * int(rate * seconds))
    return buffer.getvalue()


def choose_mouth(espeak: Espeak, output: Path | None) -> Mouth:
    """A directory when asked for; else the sound card if one plays; else the log."""
    if output is not None:
        return WavDirectory(espeak, output)
    aplay = shutil.which("aplay")
    reason = "aplay is not installed (apt-get install alsa-utils)"
    if aplay is not None:
        try:
            play(aplay, silence())
            return Loudspeaker(espeak, aplay)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            reason = str(error).splitlines()[-1]
    log.warning(
        "no audio device: sentences go to the log; set speaker.output=DIR to write "
        "WAV files instead",
        reason=reason,
    )
    return LogOnly()
