"""The brain remembers: recordings written, rolled, cut short, read back and replayed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from mcap.reader import make_reader
from mcap.writer import Writer
from PIL import Image

from brain import FatalError
from brain.bus import BrokerUrl, Bus, Topics
from brain.cli import main
from brain.recording import (
    Events,
    Limits,
    RecordingError,
    RollingWriter,
    moment,
    read,
    recordings,
    replay,
)
from brain.testing import MemoryBroker, running, send
from brain.testing import record as recording
from brain.visits import Visits
from effectors.recorder import Recorder as RecorderNode
from schemas import Alert, Clip, Label, Perception, Snapshot, Track, TranscriptEvent
from tests.support import Broker, NodeProcess, Recorder, brain_command, cortex, topic_is
from tests.walks import face, perceived, walking

TOPICS = Topics()


def said(n: int) -> TranscriptEvent:
    return TranscriptEvent(source="kitchen", text=f"number {n}")


def write(folder: Path, count: int, *, limits: Limits | None = None, close: bool = True) -> Path:
    writer = RollingWriter(folder, topics=TOPICS, limits=limits)
    for n in range(count):
        event = said(n)
        writer.write(TOPICS.of(event), event.to_json())
        writer.write("brain/status/kitchen", b"online")  # not an event: bytes as they came
    if close:
        writer.close()
    assert writer.path is not None
    return writer.path


def test_a_recording_reads_back_in_order_and_other_tools_read_its_schemas(tmp_path: Path) -> None:
    path = write(tmp_path, 50)
    back = list(read([tmp_path]))
    texts = [TranscriptEvent.model_validate_json(r.payload).text for r in back if r.schema]
    assert texts == [f"number {n}" for n in range(50)]
    assert {r.schema for r in back} == {"brain.transcript/1", ""}
    with path.open("rb") as stream:  # the MCAP library's own reader, with the summary
        summary = make_reader(stream).get_summary()
    assert summary is not None
    [schema] = summary.schemas.values()
    assert (schema.name, schema.encoding) == ("brain.transcript/1", "jsonschema")
    assert json.loads(schema.data)["properties"]["schema"]["const"] == "brain.transcript/1"
    encodings = {c.topic: c.message_encoding for c in summary.channels.values()}
    assert encodings == {"brain/senses/microphone/kitchen/transcript": "json",
                         "brain/status/kitchen": ""}  # fmt: skip


def test_files_roll_over_by_size_and_the_oldest_go_past_the_limits(tmp_path: Path) -> None:
    limits = Limits(file_bytes=40_000, total_bytes=600_000)  # files grow a 256 kB chunk at a time
    writer = RollingWriter(tmp_path, topics=TOPICS, limits=limits)
    for _ in range(300):  # 9 kB of text that does not compress
        event = said(0).model_copy(update={"text": os.urandom(4500).hex()})
        writer.write(TOPICS.of(event), event.to_json())
    writer.close()
    files = recordings(tmp_path)
    assert len(files) >= 2
    assert sum(f.stat().st_size for f in files[:-1]) <= limits.total_bytes
    old = files[0]
    os.utime(old, (time.time() - 8 * 86400, time.time() - 8 * 86400))
    assert RollingWriter(tmp_path, topics=TOPICS).keep_within_limits() == [old]


def test_a_file_cut_short_is_read_up_to_its_last_chunk_and_said(tmp_path: Path) -> None:
    path = write(tmp_path, 20_000, close=False)  # the recorder died: no summary, no footer
    warnings: list[str] = []
    back = [r for r in read([path], warn=warnings.append) if r.schema]
    assert 10_000 < len(back) < 20_000, len(back)
    assert warnings == [
        f"{path} ends early (its recorder stopped without closing it): read up to there"
    ]
    cut = path.with_name("cut.mcap")
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert 0 < len(list(read([cut]))) < len(back) * 2


def test_a_foreign_file_and_a_newer_schema_are_one_sentence_each(tmp_path: Path) -> None:
    foreign = tmp_path / "photo.mcap"
    foreign.write_bytes(b"\xff\xd8\xff\xe0 a JPEG, not a recording")
    with pytest.raises(RecordingError, match=r"photo.mcap is not an MCAP recording \(it does not"):
        list(read([foreign]))
    newer = tmp_path / "newer.mcap"
    with newer.open("wb") as stream:
        writer = Writer(stream)
        writer.start()
        schema = writer.register_schema("brain.image/2", "jsonschema", b"{}")
        channel = writer.register_channel("brain/senses/camera/door/image", "json", schema)
        writer.add_message(channel, log_time=1, data=b"{}", publish_time=1)
        writer.finish()  # type: ignore[no-untyped-call]
    with pytest.raises(RecordingError) as refused:
        list(read([newer]))
    assert str(refused.value) == (
        f"{newer} holds brain.image/2 events (brain/senses/camera/door/image), newer than this "
        "brain reads (brain.image/1); upgrade brain to replay it"
    )


def test_a_replay_keeps_the_order_and_goes_under_another_prefix(tmp_path: Path) -> None:
    write(tmp_path, 30)
    broker = MemoryBroker()
    heard = recording(broker, TranscriptEvent, topics=Topics("replay"))
    bus = Bus(node="replay", topics=Topics("replay"), presence=False, transport=broker.transport())
    bus.connect(timeout=30)
    done = replay(read([tmp_path]), bus, rate=0)
    assert (done.events, done.skipped) == (30, 30)  # the status words are not events
    assert [e.text for e in heard.wait(30)] == [f"number {n}" for n in range(30)]
    bus.close()


def test_brain_events_lists_what_happened(tmp_path: Path) -> None:
    index = Events(tmp_path)
    alice = [Label(label="person", score=0.9), Label(label="alice", score=0.9, distance=0.3)]
    seen = Perception(
        source="door", cause="f", sense="camera", kind="vision", text="I see Alice.", labels=alice
    )
    picture = Snapshot(content_type="image/jpeg", data=b"\xff\xd8", width=1, height=1)
    index.add_alert(
        Alert(id="a1", source="door", rule="visitor", perception=seen, snapshot=picture)
    )
    index.add_alert(Alert(id="a2", source="garden", rule="stranger", perception=seen, armed=False))
    index.close()
    runner = CliRunner()
    listed = runner.invoke(main, ["events", "--store", str(tmp_path), "--since", "2h"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert len(lines) == 2 and "garden" in lines[0] and "[disarmed]" in lines[0]
    assert lines[1].endswith("visitor  door  I see Alice. (alice)")
    only = runner.invoke(main, ["events", "--store", str(tmp_path), "--rule", "visitor", "--json"])
    [line] = only.output.splitlines()
    assert json.loads(line)["id"] == "a1" and json.loads(line)["has_snapshot"] is True
    wrong = runner.invoke(main, ["events", "--store", str(tmp_path), "--since", "soon"])
    assert wrong.exit_code == 2 and "'soon' is no duration" in wrong.output


def test_brain_events_lists_visits_with_who_how_long_and_what_they_fired(tmp_path: Path) -> None:
    """The recorder indexes each visit as its track says it; `brain events` lists it
    with the alert it fired and that alert's clip, and not that alert a second time."""
    broker = MemoryBroker()
    visits = {"state_file": tmp_path / "visits.json", "lost_after": 1.0}
    store = tmp_path / "recordings"
    with (
        running(RecorderNode, broker, options={"directory": store}) as recorder,
        running(Visits, broker, options=visits),
    ):
        ended = recording(broker, Track)
        for n, (at, box) in enumerate(walking(6)):
            shows = (face("stranger", box, 0.8),) if n == 10 else ()
            send(broker, perceived(at, box, faces=shows))
        last = ended.wait_for(lambda t: t.state == "ended")
        picture = Snapshot(content_type="image/jpeg", data=b"\xff\xd8", width=1, height=1)
        alert = Alert(id="v1-door", source="frontdoor", rule="door", snapshot=picture,
                      perception=perceived(1.0, last.box), track=last)  # fmt: skip
        send(broker, alert)
        send(broker, Clip(source="frontdoor", alert="v1-door", rule="door", data=b"mp4",
                          seconds=9.5, frames=95, width=640, height=480))  # fmt: skip
        recorder.idle()
    listed = brain_command("events", "--store", store, "--since", "400d")
    [line] = listed.stdout.splitlines()
    assert "frontdoor: a stranger, 6 s, alert door, clip " in line
    assert line.endswith("v1-door.mp4")
    [as_json] = brain_command(
        "events", "--store", store, "--since", "400d", "--json"
    ).stdout.splitlines()
    visit = json.loads(as_json)
    assert visit["kind"] == "visit" and visit["identity"] == "stranger"
    assert visit["seconds"] == 5.8 and visit["alerts"] == ["door"]


# -- on a real broker, the recorder and brain record as processes -----------------------


def pictures(folder: Path, colours: list[tuple[int, int, int]]) -> Path:
    folder.mkdir()
    for n, colour in enumerate(colours):
        Image.new("RGB", (160, 120), colour).save(folder / f"{n:02d}.jpg")
    return folder


def test_a_session_replayed_gives_what_another_rule_makes_of_the_same_frames(
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
    tmp_path: Path,
) -> None:
    red, blue = (220, 20, 20), (20, 20, 220)
    folder = pictures(tmp_path / "pictures", [red, blue, red, blue, blue, red])
    store = tmp_path / "session"
    live = record(mosquitto, "brain/perceptions/#")
    recorder = brain_process("--mqtt", mosquitto.url, "record", "--out", str(store))
    recorder.wait_for_log('"event": "recording"')
    cortex(mosquitto, brain_process)
    camera = brain_process(
        "--mqtt", mosquitto.url, "--set", f'camera.source="{folder}"', "--set", "camera.name=door",
        "--set", "camera.fps=4", "--set", "camera.loop=false", "--set", "camera.motion=false",
        "node", "camera",
    )  # fmt: skip  # motion=false: two blue slides in a row are two frames, not one
    assert camera.process.wait(timeout=120) == 0
    perceived = live.wait_for(topic_is("brain/perceptions/camera/door"), count=6, timeout=120)
    time.sleep(1)  # recorded by now
    recorder.stop()
    blues = sum(Perception.model_validate_json(p).labels[0].label == "blue" for _, p in perceived)
    assert blues == 3

    # Another rule, on the same frames: an alerts node beside the live system.
    (tmp_path / "rule.toml").write_text(
        f'[alerts]\noutbox = "{tmp_path / "o.sqlite3"}"\narmed_file = "{tmp_path / "a.json"}"\n'
        '[[alerts.rules]]\nname = "blue"\nlabels = ["blue"]\nwindow = 1\ncooldown = 0\n'
    )
    replayed = record(mosquitto, "replay/#")
    brain_process(
        "--mqtt", mosquitto.url, "--prefix", "replay", "--config", str(tmp_path / "rule.toml"),
        "node", "alerts",
    ).wait_online(mosquitto, "alerts", prefix="replay")  # fmt: skip
    cortex(mosquitto, brain_process, prefix="replay")
    # At half speed (2 frames a second): a cortex keeps only the newest frame of a camera
    # that waits, so a busy machine that lags would skip some and make fewer perceptions.
    result = subprocess.run(
        [sys.executable, "-m", "brain", "--mqtt", mosquitto.url, "--prefix", "replay", "replay",
         str(store), "--topics", "brain/senses/camera/#", "--rate", "0.5"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("replayed 6 events under replay/")
    again = replayed.wait_for(topic_is("replay/perceptions/camera/door"), count=6, timeout=120)
    assert [Perception.model_validate_json(p).labels[0].label for _, p in again] == [
        Perception.model_validate_json(p).labels[0].label for _, p in perceived
    ]
    alerts = replayed.wait_for(topic_is("replay/alerts/blue"), count=3, timeout=120)
    assert len(alerts) == 3 and not live.matching(topic_is("brain/alerts/#"))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB file system of the test's own, that fills up."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
                             capture_output=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_pauses_the_recorder_once_and_loses_no_alert(
    mosquitto: Broker,
    brain_process: Callable[..., NodeProcess],
    small_disk: Path,
) -> None:
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 2_000_000)
    recorder = brain_process(
        "--mqtt", mosquitto.url, "--set", f'recorder.directory="{small_disk / "rec"}"',
        "--set", "recorder.min_free_mb=1", "node", "recorder",
    )  # fmt: skip
    recorder.wait_online(mosquitto, "recorder")
    publisher = Bus(node="test", url=BrokerUrl.parse(mosquitto.url), presence=False)
    publisher.connect(timeout=30)
    alerts: list[Alert] = []

    def big(n: int) -> None:  # 8 kB of text that does not compress much; an alert in ten
        publisher.wait_confirmed(
            publisher.publish(
                said(0).model_copy(update={"text": os.urandom(4000).hex(), "id": f"m{n}"})
            ),
            30,
        )
        if n % 10 == 0:
            seen = Perception(source="door", cause=f"f{n}", sense="camera", kind="vision",
                              text="I see a person.")  # fmt: skip
            alerts.append(Alert(source="door", rule="door", perception=seen))
            publisher.wait_confirmed(publisher.publish(alerts[-1]), 30)

    def until_logged(text: str, n: int) -> int:
        deadline = time.monotonic() + 120
        while text not in recorder.log():
            assert time.monotonic() < deadline, f"no {text!r} in:\n{recorder.log()}"
            big(n)
            n += 1
        return n

    paused_at = until_logged("cannot write the recording", 0)
    for n in range(paused_at, paused_at + 100):  # while it is paused: alerts still indexed
        big(n)
    filler.unlink()  # room again: it writes again at its next look, in a new file
    until_logged('"event": "writing again"', paused_at + 100)
    publisher.wait_confirmed(publisher.publish(said(0).model_copy(update={"id": "last"})), 30)
    index = Events(small_disk / "rec")
    deadline = time.monotonic() + 120
    while len(index.list()) < len(alerts):  # all indexed before it is stopped
        assert time.monotonic() < deadline, "the recorder did not index every alert"
        time.sleep(0.1)
    index.close()
    recorder.stop(signal.SIGTERM)
    publisher.close()
    warnings: list[str] = []
    back = [r for r in read([small_disk / "rec"], warn=warnings.append) if r.schema]
    assert back and '"id":"last"' in back[-1].payload.decode()
    assert len(warnings) <= 1  # the file the disk filled, up to its last whole chunk
    assert all(path.stat().st_size > 4096 for path in recordings(small_disk / "rec"))
    assert recorder.log().count("cannot write the recording") == 1, recorder.log()
    assert recorder.log().count('"event": "writing again"') == 1
    index = Events(small_disk / "rec")
    assert {happened.id for happened in index.list()} == {alert.id for alert in alerts}
    index.close()
    assert recorder.process.returncode == 0 and "Traceback" not in recorder.log()


def test_a_recorder_killed_leaves_a_readable_file_and_goes_on_in_a_new_one(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess], tmp_path: Path
) -> None:
    store = ("--set", f'recorder.directory="{tmp_path / "rec"}"')
    recorder = brain_process("--mqtt", mosquitto.url, *store, "node", "recorder")
    recorder.wait_online(mosquitto, "recorder")
    publisher = Bus(node="test", url=BrokerUrl.parse(mosquitto.url), presence=False)
    publisher.connect(timeout=30)
    for n in range(6000):  # several chunks' worth
        publisher.publish(said(n))
    publisher.wait_confirmed(publisher.publish(said(6000)), 30)
    [first] = recordings(tmp_path / "rec")
    deadline = time.monotonic() + 60
    while sum(1 for r in read([first]) if r.schema) < 2000:  # chunks on disk
        assert time.monotonic() < deadline, "the recorder wrote nothing"
        time.sleep(0.1)
    recorder.stop(signal.SIGKILL)
    warnings: list[str] = []
    kept = [
        TranscriptEvent.model_validate_json(r.payload).text
        for r in read([first], warn=warnings.append)
        if r.schema
    ]
    numbers = [int(text.split()[1]) for text in kept]
    # In order; the broker may drop some of a burst for a slow subscriber (its queue limit).
    assert len(kept) >= 2000 and numbers == sorted(set(numbers))
    assert warnings == [
        f"{first} ends early (its recorder stopped without closing it): read up to there"
    ]

    again = brain_process("--mqtt", mosquitto.url, *store, "node", "recorder")
    again.wait_for_log('"event": "recording"')
    publisher.wait_confirmed(publisher.publish(said(7000)), 30)
    again.wait_for_log('"event": "recording into"')
    assert len(recordings(tmp_path / "rec")) == 2
    assert sum(1 for r in read([first]) if r.schema) == len(kept)  # untouched
    publisher.close()


def test_from_and_to_take_a_time_or_an_offset_from_the_start(tmp_path: Path) -> None:
    writer = RollingWriter(tmp_path, topics=TOPICS)
    start = 1_764_000_000_000_000_000
    for n in range(10):  # one a second
        writer.write(TOPICS.of(said(n)), said(n).to_json(), log_time_ns=start + n * 10**9)
    writer.close()
    window = read([tmp_path], start_ns=moment("+2s", first_ns=start),
                  end_ns=moment("+4.5s", first_ns=start))  # fmt: skip
    assert [TranscriptEvent.model_validate_json(r.payload).text for r in window] == [
        "number 2", "number 3", "number 4",
    ]  # fmt: skip
    iso = datetime.fromtimestamp((start + 8 * 10**9) / 1e9, UTC).isoformat()
    assert len(list(read([tmp_path], start_ns=moment(iso, first_ns=None)))) == 2
    with pytest.raises(RecordingError, match="'soon' is no time: give an ISO time"):
        moment("soon", first_ns=start)


def test_a_folder_that_cannot_be_written_is_one_sentence(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    options = {"directory": blocked / "rec"}
    with (
        pytest.raises(RuntimeError, match="stopped with status 78"),
        running(RecorderNode, MemoryBroker(), options=options),
    ):
        pass
    with pytest.raises(FatalError, match=r"cannot open the events index .*; choose another folder"):
        Events(blocked / "rec")
