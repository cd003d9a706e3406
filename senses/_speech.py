"""Speech to text, offline, with pocketsphinx and the English model its package ships.

Each utterance (found by pocketsphinx's endpointer) is decoded twice: against a
grammar of the voice commands, which hears them reliably, and, when that finds no
whole command, with the general language model for free speech.
"""

from __future__ import annotations

import wave
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Literal

import numpy as np
from pocketsphinx import Decoder, Endpointer
from scipy.signal import resample_poly

RATE = 16_000  # what the acoustic model was trained on
Mode = Literal["both", "commands", "free"]


@dataclass(frozen=True)
class Heard:
    text: str
    confidence: float
    command: bool


class Recognizer:
    def __init__(self, *, commands: list[str], mode: Mode) -> None:
        self._commands = {phrase.lower().strip() for phrase in commands}
        self._grammar = self._free = None
        if mode != "free":
            self._grammar = Decoder(samprate=RATE, lm=None, loglevel="FATAL")
            alternatives = " | ".join(sorted(self._commands))
            self._grammar.add_jsgf_string(
                "commands", f"#JSGF V1.0;\ngrammar commands;\npublic <command> = {alternatives};\n"
            )
            self._grammar.activate_search("commands")
        if mode != "commands":
            self._free = Decoder(samprate=RATE, loglevel="FATAL")

    def recognize(self, utterance: bytes) -> Heard | None:
        """What was said in one utterance (16 kHz, 16-bit mono), or None."""
        if self._grammar is not None:
            text, confidence = _decode(self._grammar, utterance)
            if text in self._commands:
                return Heard(text, confidence, command=True)
        if self._free is not None:
            text, confidence = _decode(self._free, utterance)
            if text:
                return Heard(text, confidence, command=False)
        return None


def _decode(decoder: Decoder, audio: bytes) -> tuple[str, float]:
    decoder.start_utt()
    decoder.process_raw(audio, full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    if hypothesis is None:
        return "", 0.0
    return hypothesis.hypstr.strip(), float(min(1.0, max(0.0, hypothesis.prob)))


def utterances(frames: Iterable[bytes]) -> Iterator[bytes]:
    """Cut a stream of 16 kHz audio frames into utterances, on silence."""
    endpointer = Endpointer(sample_rate=RATE)
    size = endpointer.frame_bytes
    pending, speech = b"", bytearray()
    for chunk in frames:
        pending += chunk
        while len(pending) >= size:
            frame, pending = pending[:size], pending[size:]
            voiced = endpointer.process(frame)
            if voiced is not None:
                speech += voiced
                if not endpointer.in_speech:
                    yield bytes(speech)
                    speech = bytearray()
    tail = endpointer.end_stream(pending)  # the stream ended, perhaps mid-sentence
    if tail is not None:
        speech += tail
    if speech:
        yield bytes(speech)


def wav_frames(path: Path, *, chunk_seconds: float = 0.5) -> Iterator[bytes]:
    """A WAV file as 16 kHz, 16-bit mono audio, in chunks."""
    try:
        with wave.open(str(path)) as sound:
            if sound.getsampwidth() != 2:
                raise ValueError(
                    f"{path} has {8 * sound.getsampwidth()}-bit samples; brain reads 16-bit WAV"
                )
            rate, channels = sound.getframerate(), sound.getnchannels()
            samples = np.frombuffer(sound.readframes(sound.getnframes()), dtype=np.int16)
    except (wave.Error, EOFError) as error:
        raise ValueError(f"{path} is not a WAV file ({error})") from None
    mono = samples.reshape(-1, channels).mean(axis=1)
    step = gcd(rate, RATE)
    audio = np.clip(resample_poly(mono, RATE // step, rate // step), -32768, 32767)
    data = audio.astype(np.int16).tobytes()
    size = int(RATE * chunk_seconds) * 2
    for start in range(0, len(data), size):
        yield data[start : start + size]
