"""The microphone: what is said (or typed) near the brain, as transcript events."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from brain import FatalError, NodeOptions, Sense
from schemas import VOICE_COMMANDS, CommandName, TopicName, TranscriptEvent
from senses._lines import LineReader
from senses._speech import RATE, Mode, Recognizer, utterances, wav_frames


class MicrophoneOptions(NodeOptions):
    source: str = Field(
        default="default",
        description="'default' or a device number or "
        "name; a WAV file; 'stdin', a FIFO or a .txt file of typed lines.",
    )
    name: TopicName = Field(default="microphone", description="The {source} level of its topics.")
    mode: Mode = Field(
        default="both",
        description="'commands': only the voice commands; 'free': only free speech; 'both'.",
    )
    commands: dict[str, CommandName] = Field(
        default=VOICE_COMMANDS,
        min_length=1,
        description="Phrases heard with a grammar, reliably, and the camera command each "
        "means: the transcript says it, and the cortex acts on it.",
    )

    @field_validator("commands", mode="before")
    @classmethod
    def _phrases_alone(cls, value: Any) -> Any:
        """Phrases as the recognizer hears them (lower case); a list of phrases (as
        before) is the known commands among them."""
        if isinstance(value, dict):
            return {" ".join(str(phrase).lower().split()): cmd for phrase, cmd in value.items()}
        if not isinstance(value, list):
            return value
        unknown = [phrase for phrase in value if phrase not in VOICE_COMMANDS]
        if unknown:
            raise ValueError(
                f"{unknown[0]!r} is no known voice command: give a table of phrase = command, "
                f'e.g. commands = {{ "{unknown[0]}" = "snapshot" }}'
            )
        return {phrase: VOICE_COMMANDS[phrase] for phrase in value}


class Microphone(Sense[MicrophoneOptions]):
    """Publishes transcripts: speech recognized offline, or lines typed in."""

    name = "microphone"
    Options = MicrophoneOptions
    publishes = (TranscriptEvent,)

    @property
    def source(self) -> str:
        return self.options.name

    def start(self) -> None:
        source = self.options.source
        self._lines: LineReader | None = None
        self._device: DeviceInput | None = None
        if source == "stdin" or Path(source).is_fifo() or source.endswith(".txt"):
            self._lines = LineReader(source)
            self.log.info("reading typed lines", source=self._lines.description)
            return
        self._recognizer = Recognizer(commands=list(self.options.commands), mode=self.options.mode)
        if source.lower().endswith(".wav"):
            if not Path(source).is_file():
                raise FatalError(f"there is no audio file {source}; check microphone.source")
        else:
            self._device = DeviceInput(source)
        self.log.info("listening", source=source, mode=self.options.mode)

    def run(self, stop: threading.Event) -> None:
        if self._lines is not None:
            for line in self._lines.lines():
                self._publish(line, confidence=None)
            return
        frames = self._device.frames() if self._device else self._wav(Path(self.options.source))
        for utterance in utterances(frames):
            if stop.is_set():
                return
            heard = self._recognizer.recognize(utterance)
            if heard is None:
                self.stats.add("not_understood")
                continue
            self.stats.add("commands" if heard.command else "free_speech")
            command = self.options.commands.get(heard.text) if heard.command else None
            self._publish(heard.text, confidence=heard.confidence, command=command)

    def _wav(self, path: Path) -> Iterator[bytes]:
        try:
            yield from wav_frames(path)
        except ValueError as error:
            raise FatalError(f"{error}; give a 16-bit WAV file") from None

    def _publish(
        self, text: str, *, confidence: float | None, command: CommandName | None = None
    ) -> None:
        self.emit(
            TranscriptEvent(
                source=self.options.name,
                text=text,
                command=command,
                final=True,
                confidence=confidence,
                lang="en",
            )
        )
        self.stats.add("transcripts")
        self.log.info("heard", text=text)

    def stopping(self) -> None:
        for source in (self._lines, self._device):
            if source is not None:
                source.interrupt()

    def close(self) -> None:
        if self._device is not None:
            self._device.close()


class DeviceInput:
    """A live microphone through PortAudio (sounddevice), at 16 kHz mono."""

    def __init__(self, device: str) -> None:
        try:
            import sounddevice
        except OSError as error:  # the PortAudio library itself is missing
            raise FatalError(
                f"cannot use a microphone ({error}): install PortAudio "
                "(apt-get install libportaudio2)"
            ) from None
        self._frames: queue.Queue[bytes | None] = queue.Queue(maxsize=200)
        chosen: Any = None if device == "default" else int(device) if device.isdigit() else device
        try:
            self._stream = sounddevice.RawInputStream(
                samplerate=RATE, channels=1, dtype="int16", device=chosen, callback=self._heard
            )
            self._stream.start()
        except (sounddevice.PortAudioError, ValueError) as error:
            raise FatalError(
                f"no microphone ({error}): plug one in, or read a WAV file or "
                "typed lines with --set microphone.source=FILE.wav|stdin"
            ) from None

    def _heard(self, data: Any, _frames: int, _time: Any, _status: Any) -> None:
        with contextlib.suppress(queue.Full):  # recognition fell behind: drop, never grow
            self._frames.put_nowait(bytes(data))

    def frames(self) -> Iterator[bytes]:
        """The sound as it comes, until ``interrupt``."""
        while (frames := self._frames.get()) is not None:
            yield frames

    def interrupt(self) -> None:
        """End ``frames`` now (from any thread), before what still waits."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._frames.get_nowait()
        self._frames.put(None)

    def close(self) -> None:
        self._stream.close()
