"""The microphone on a real broker: real speech from espeak-ng, real recognition."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from brain.testing import MemoryBroker, running
from brain.testing import record as recording
from schemas import Command, TranscriptEvent
from senses.microphone import Microphone
from tests.support import Broker, NodeProcess, Recorder, cortex, topic_is

TRANSCRIPTS = "brain/senses/microphone/kitchen/transcript"


def speak(text: str, path: Path) -> Path:
    """espeak-ng says `text` into a WAV file, with silence around it as in a room."""
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "150", "-g", "10", "-w", str(path), text], check=True
    )
    return path


def microphone(
    broker: Broker, start: Callable[..., NodeProcess], source: str | Path, *sets: str
) -> NodeProcess:
    return start(
        "--mqtt",
        broker.url,
        "--set",
        f"microphone.source={json.dumps(str(source))}",
        "--set",
        "microphone.name=kitchen",
        *sets,
        "node",
        "microphone",
    )


def transcripts(recorder: Recorder, count: int) -> list[TranscriptEvent]:
    found = recorder.wait_for(topic_is(TRANSCRIPTS), count=count, timeout=30)
    return [TranscriptEvent.model_validate_json(payload) for _, payload in found]


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng")
@pytest.mark.parametrize("command", ["what do you see", "open your eye", "close your eye"])
def test_a_spoken_command_becomes_its_transcript(tmp_path: Path, command: str) -> None:
    broker = MemoryBroker()
    heard = recording(broker, TranscriptEvent, source="kitchen")
    source = str(speak(command, tmp_path / "said.wav"))
    with running(Microphone, broker, options={"source": source, "name": "kitchen"}) as node:
        [transcript] = heard.wait(1, timeout=30)
        deadline = time.monotonic() + 30
        while node.exit_status is None:  # the file ended, so does the node
            assert time.monotonic() < deadline, "the microphone went on after its file ended"
            time.sleep(0.05)
    assert transcript.text == command and node.exit_status == 0
    assert transcript.final and transcript.lang == "en" and transcript.confidence is not None


def test_typed_lines_from_a_fifo_become_transcripts(tmp_path: Path) -> None:
    broker = MemoryBroker()
    heard = recording(broker, TranscriptEvent, source="kitchen")
    fifo = tmp_path / "typed"
    os.mkfifo(fifo)
    with running(Microphone, broker, options={"source": str(fifo), "name": "kitchen"}) as node:
        with fifo.open("w") as typing:
            typing.write("what do you see\n\nhello brain\n")
        with fifo.open("w") as typing:  # a second writer, as a second `echo hi > FIFO` is
            typing.write("and again\n")
        said = [t.text for t in heard.wait(3, timeout=30)]
        assert said == ["what do you see", "hello brain", "and again"]
        assert node.exit_status is None, "a FIFO waits for the next writer"
    assert node.exit_status == 0


def has_a_microphone() -> bool:
    try:
        import sounddevice

        return any(device["max_input_channels"] > 0 for device in sounddevice.query_devices())
    except OSError:
        return False


@pytest.mark.skipif(has_a_microphone(), reason="this machine has a microphone")
def test_no_microphone_is_one_sentence_and_no_restart_loop(mosquitto: Broker) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "brain", "--mqtt", mosquitto.url, "run", "microphone"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "no microphone (" in result.stderr and "--set microphone.source=" in result.stderr
    assert "microphone cannot start: no microphone (" in result.stderr
    assert "restarted" not in result.stderr


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng")
def test_a_phrase_of_your_own_is_heard_and_obeyed_through_the_cortex(
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
    tmp_path: Path,
) -> None:
    seen = record(mosquitto, TRANSCRIPTS, "brain/commands/camera/#")
    cortex(mosquitto, brain_process, "--set", 'cortex.camera_for={kitchen = "kitchen"}')
    (tmp_path / "brain.toml").write_text(
        '[microphone]\ncommands = { "lights on please" = "open" }\n'
    )
    microphone(
        mosquitto,
        brain_process,
        speak("lights on please", tmp_path / "said.wav"),
        "--config",
        str(tmp_path / "brain.toml"),
    )
    [heard] = transcripts(seen, 1)
    assert (heard.text, heard.command) == ("lights on please", "open")
    [(topic, payload)] = seen.wait_for(topic_is("brain/commands/camera/#"))
    assert topic == "brain/commands/camera/kitchen"
    assert Command.model_validate_json(payload).command == "open"
