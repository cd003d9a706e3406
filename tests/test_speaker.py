"""The speaker with real espeak-ng, writing WAV files: its logic in this process on a
broker in memory, and as a process on a real broker."""

from __future__ import annotations

import array
import contextlib
import json
import math
import shutil
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from brain.testing import MemoryBroker, Running, running, send
from effectors.speaker import Speaker
from schemas import Label, Perception
from tests.support import Broker, NodeProcess, publish
from tests.walks import face, perceived, walking

pytestmark = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng")


def seen(text: str, label: str = "golden retriever", score: float = 0.9) -> Perception:
    return Perception(
        source="frontdoor",
        cause="c",
        sense="camera",
        kind="vision",
        text=text,
        labels=[Label(label=label, score=score)],
    )


def perception(text: str, label: str = "golden retriever", score: float = 0.9) -> bytes:
    return seen(text, label, score).to_json()


def say(broker: Broker, *sentences: bytes) -> None:
    for sentence in sentences:
        publish(broker, "brain/perceptions/camera/frontdoor", sentence)


def speaker(
    broker: Broker, start: Callable[..., NodeProcess], out: Path, *sets: str
) -> NodeProcess:
    node = start(
        "--mqtt",
        broker.url,
        "--set",
        f"speaker.output={json.dumps(str(out))}",
        "--set",
        "speaker.stats_interval=0.2",
        *sets,
        "node",
        "speaker",
    )
    node.wait_online(broker, "speaker")
    return node


def wav_files(directory: Path, count: int, timeout: float = 20) -> list[Path]:
    deadline = time.monotonic() + timeout
    while len(found := sorted(directory.glob("*.wav"))) < count:
        assert time.monotonic() < deadline, f"{len(found)} of {count} WAV files"
        time.sleep(0.05)
    time.sleep(0.3)  # the last file is complete
    return sorted(directory.glob("*.wav"))


def loudness_and_seconds(path: Path) -> tuple[float, float]:
    with wave.open(str(path)) as sound:
        assert sound.getsampwidth() == 2
        samples = array.array("h", sound.readframes(sound.getnframes()))
        seconds = sound.getnframes() / sound.getframerate()
    rms = math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))
    return rms, seconds


def test_a_perception_is_spoken_into_a_wav_that_fits_the_sentence(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess], tmp_path: Path
) -> None:
    speaker(mosquitto, brain_process, tmp_path, "--set", "speaker.rate=160")
    sentence = "I see a golden retriever"
    say(mosquitto, perception(sentence))
    [wav] = wav_files(tmp_path, 1)
    assert wav.name == "00001-i-see-a-golden-retriever.wav"
    rms, seconds = loudness_and_seconds(wav)
    assert rms > 500, "the WAV is silent"
    expected = len(sentence.split()) / (160 / 60)  # words at 160 words a minute
    assert 0.5 * expected < seconds < 2 * expected + 0.5, seconds


# -- the speaker's logic, in this process on a broker in memory ----------------------


@contextlib.contextmanager
def speaking(out: Path, **options: Any) -> Iterator[tuple[MemoryBroker, Running]]:
    broker = MemoryBroker()
    with running(Speaker, broker, options={"output": out, **options}) as node:
        yield broker, node


def said(broker: MemoryBroker, *perceptions: Perception) -> None:
    for perception in perceptions:
        send(broker, perception)


def spoken(out: Path) -> list[str]:
    return sorted(path.name for path in out.glob("*.wav"))


def test_the_same_sentence_or_label_is_not_said_twice_within_the_cooldown(tmp_path: Path) -> None:
    with speaking(tmp_path, cooldown=30, queue=10) as (broker, node):
        cat = seen("I see a cat", "tabby cat")
        said(broker, cat, cat, seen("I see a tabby cat again", "tabby cat"))  # same top label
        said(broker, seen("I see a person", "person"))
        node.idle()
        assert node.stats()["repeats_skipped"] == 2
    assert spoken(tmp_path) == ["00001-i-see-a-cat.wav", "00002-i-see-a-person.wav"]


def test_the_family_and_then_a_stranger_are_both_said_though_each_is_a_person(
    tmp_path: Path,
) -> None:
    def faces(text: str, *names: str) -> Perception:
        person = Label(label="person", score=0.99)
        told = [Label(label=name, score=0.99, distance=0.3) for name in names]
        return Perception(source="door", cause="c", sense="camera", kind="vision",
                          labels=[person, *told], text=text)  # fmt: skip

    with speaking(tmp_path, cooldown=30, queue=10) as (broker, node):
        eileen = faces("I see Eileen Collins.", "eileen-collins")
        said(broker, eileen, faces("I see a stranger.", "stranger"), eileen)
        node.idle()
        assert node.stats()["repeats_skipped"] == 1
    assert spoken(tmp_path) == ["00001-i-see-eileen-collins.wav", "00002-i-see-a-stranger.wav"]


def test_a_visit_is_said_once_and_its_frames_are_not(tmp_path: Path) -> None:
    """With the visits node tracking the camera, Alice's walk is one sentence, said once
    her face is known; someone who never shows a face is said after a while."""
    from brain.visits import Visits

    broker = MemoryBroker()
    visits = {"state_file": tmp_path / "visits.json", "lost_after": 2.0}
    out = tmp_path / "said"
    with (
        running(Visits, broker, options=visits),
        running(Speaker, broker, options={"output": out, "queue": 20}) as node,
    ):
        for n, (at, box) in enumerate(walking(4)):
            send(broker, perceived(at, box, faces=(face("alice", box),) if n == 8 else ()))
        for at, box in walking(4, start=300):
            send(broker, perceived(10 + at, box))
        node.idle()
        wav_files(out, 2)
        node.idle()
        assert node.stats()["left_to_visits"] > 0
    assert spoken(out) == [
        "00001-alice-is-at-the-frontdoor.wav",
        "00002-someone-is-at-the-frontdoor.wav",
    ]


def test_low_scores_and_other_kinds_are_not_said(tmp_path: Path) -> None:
    with speaking(tmp_path, min_score=0.5) as (broker, node):
        speech = Perception(
            source="kitchen", cause="c", sense="microphone", kind="speech", text="hi"
        )
        said(
            broker, seen("I might see a fox", "fox", score=0.2), speech, seen("I see a dog", "dog")
        )
        node.idle()
    assert spoken(tmp_path) == ["00001-i-see-a-dog.wav"]


def test_when_speech_lags_stale_sentences_are_dropped_not_queued(tmp_path: Path) -> None:
    count = 15
    with speaking(tmp_path, stale_after=1.0, rate=80) as (broker, node):
        said(
            broker,
            *(seen(f"I see a very slowly spoken number {n}", f"label {n}") for n in range(count)),
        )
        node.idle()
        figures = node.stats()
    names = spoken(tmp_path)
    assert 0 < len(names) < count
    assert names[-1].endswith(f"number-{count - 1}.wav"), "the newest sentence was not said"
    assert figures["dropped_backlog"] + figures["dropped_stale"] == count - len(names)


def test_a_huge_text_is_cut_to_a_sentence_before_it_is_spoken(tmp_path: Path) -> None:
    with speaking(tmp_path, max_chars=60) as (broker, node):
        said(broker, seen("I see " + "a very long line of words " * 400))  # 10,000 characters
        node.idle()
        assert node.stats()["cut_short"] == 1
    [wav] = tmp_path.glob("*.wav")
    _, seconds = loudness_and_seconds(wav)
    assert seconds < 15, f"{seconds:.0f} s of speech: the text was not cut"


# -- over a real broker, as `brain node speaker` ---------------------------------------


def test_without_a_sound_card_it_says_so_once_and_logs_the_sentences(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess]
) -> None:
    if Path("/dev/snd").exists():
        pytest.skip("this machine has a sound card")
    node = brain_process("--mqtt", mosquitto.url, "node", "speaker")
    node.wait_online(mosquitto, "speaker")
    say(
        mosquitto,
        perception("I see a lighthouse", "lighthouse"),
        perception("I see a bicycle", "bicycle"),
    )
    node.wait_for_log('"event": "saying"', count=2)
    assert node.log().count('"event": "no audio device') == 1
    assert "I see a bicycle" in node.log()
