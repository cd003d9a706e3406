"""Attacks from the bus and over HTTP, on the production broker (the shipped config and ACL):
each is tried as the one user that may publish what it sends, and must change nothing
outside the folders brain keeps."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import structlog
import zstandard
from click.testing import CliRunner
from mcap.data_stream import RecordBuilder
from mcap.reader import make_reader
from mcap.records import Chunk, Header
from mcap.writer import Writer

from brain.bus import Topics
from brain.cli import main
from brain.faces import EMBEDDING, Gallery, GalleryError
from brain.files import OutsideFolderError, inside
from brain.recording import Events, RollingWriter, read
from brain.recording._reader import MAGIC
from brain.testing import MemoryBroker, running, send
from brain.testing import record as recording
from effectors._outbox import Outbox
from effectors.alerts import Alerts
from effectors.browser import Browser
from effectors.recorder import Recorder as RecorderNode
from schemas import (
    Alert,
    Clip,
    Command,
    ImageEvent,
    Perception,
    State,
    Stats,
    TranscriptEvent,
)
from tests.production import USERS, publish_as, tampered, url_of
from tests.support import Broker, NodeProcess, Recorder, publish_many, topic_is

#: Where the cortex publishes the frontdoor's perceptions.
PERCEPTIONS = "brain/perceptions/camera/frontdoor"
#: Ids that would lead out of a folder, as an attacker would send them.
PATHS = ("/tmp/brain-attack/pwn", "../../brain-attack/pwn", "..", ".hidden", "a/b", "a\\b")


def clip_json(alert: str) -> bytes:
    clip = Clip(
        source="frontdoor", alert="x", rule="person", data=b"\0" * 64, seconds=1, frames=1,
        width=8, height=8,
    )  # fmt: skip
    return tampered(clip, alert=alert)


def perception_json(event_id: str) -> bytes:
    perception = Perception(
        source="frontdoor", cause="frame1", sense="camera", kind="vision", text="I see a person.",
        labels=[{"label": "person", "score": 0.99}],
    )  # fmt: skip
    return tampered(perception, id=event_id)


@pytest.mark.parametrize("name", PATHS)
def test_a_name_that_leads_out_of_its_folder_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(OutsideFolderError):
        inside(tmp_path, name, ".mp4")
    assert inside(tmp_path, "0a1b-c_d", ".mp4") == tmp_path / "0a1b-c_d.mp4"


def test_a_clip_for_a_path_is_refused_by_the_recorder(
    production_broker: Broker, record: Callable[..., Recorder], tmp_path: Path
) -> None:
    errors = record(production_broker, "brain/errors/#", username="watch", password=USERS["watch"])
    store = tmp_path / "recordings"
    with running(RecorderNode, url_of(production_broker, "recorder"), options={"directory": store}):
        for alert in PATHS:  # the alerts' user is the one that may publish clips
            publish_as(production_broker.port, "alerts", [("brain/clips/person", clip_json(alert))])
        refused = errors.wait_for(topic_is("brain/errors/recorder"), count=len(PATHS))
    assert all(b"alert" in payload for _, payload in refused)
    assert not Path("/tmp/brain-attack").exists()
    assert not list(tmp_path.rglob("*.mp4")), "a clip was written"


def test_a_perception_whose_id_is_a_path_raises_no_alert(
    production_broker: Broker, record: Callable[..., Recorder], tmp_path: Path
) -> None:
    seen = record(production_broker, "brain/#", username="watch", password=USERS["watch"])
    options = {
        "outbox": tmp_path / "outbox.sqlite3", "armed_file": tmp_path / "armed.json",
        "clips": tmp_path / "clips", "clip_before": 0, "clip_after": 0,
        "rules": [{"name": "person", "labels": ["person"], "window": 1, "cooldown": 0}],
    }  # fmt: skip
    with running(Alerts, url_of(production_broker, "alerts"), options=options):
        for event_id in PATHS:
            publish_as(production_broker.port, "cortex", [(PERCEPTIONS, perception_json(event_id))])
        seen.wait_for(topic_is("brain/errors/alerts"), count=len(PATHS))
        publish_as(production_broker.port, "cortex", [(PERCEPTIONS, perception_json("good-1"))])
        [(_, alert)] = seen.wait_for(topic_is("brain/alerts/person"))
    assert Alert.model_validate_json(alert).perception.id == "good-1"
    assert len(seen.matching(topic_is("brain/alerts/#"))) == 1
    assert not Path("/tmp/brain-attack").exists()


def test_the_page_serves_only_the_clips_and_faces_it_indexed(tmp_path: Path) -> None:
    store, gallery = tmp_path / "recordings", tmp_path / "gallery"
    index = Events(store)
    index.add_alert(
        Alert(
            source="frontdoor",
            rule="person",
            perception=Perception.model_validate_json(perception_json("p1")),
        )
    )
    alert_id = index.list()[0].id
    index.add_clip(Clip.model_validate_json(clip_json(alert_id)))
    index.close()
    secret = tmp_path / "elsewhere" / "secret.mp4"
    secret.parent.mkdir()
    secret.write_bytes(b"not yours")
    options = {"port": 0, "token": "t" * 16, "recordings": store, "gallery": gallery}
    with running(Browser, MemoryBroker(), options=options) as browser:
        origin = browser.node.address.split("/?")[0]

        def answer(path: str, method: str = "GET", headers: dict[str, str] | None = None) -> int:
            request = urllib.request.Request(
                f"{origin}/{path}?token={'t' * 16}", method=method, headers=headers or {}
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as answered:
                    return int(answered.status)
            except urllib.error.HTTPError as error:
                return error.code

        assert answer(f"alerts/{alert_id}/clip") == 200
        for name in (str(secret.with_suffix("")), "../elsewhere/secret", "..%2Felsewhere%2Fsecret"):
            assert answer(f"alerts/{urllib.parse.quote(name, safe='')}/clip") in (400, 404), name
        for path in ("faces/people/..%2F..%2Fx/secret", "live/..%2Fetc", "faces/people/x/y"):
            assert answer(path) in (400, 404), path
        for day in ("9999-12-31", "0001-01-01"):
            url = f"{origin}/visits?day={day}&token={'t' * 16}"
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(url, timeout=30)
            assert refused.value.code == 400
            assert b"give YYYY-MM-DD" in refused.value.read()
        # Another site's page cannot change anything, even with the token.
        elsewhere = {"Origin": "https://evil.example", "Content-Type": "application/json"}
        assert answer("faces/people/obama", "DELETE", elsewhere) == 403
        assert answer(f"visits/{alert_id}/false-alarm", "POST", elsewhere) == 403


def test_a_gallery_index_naming_a_path_is_damage_not_a_way_out(tmp_path: Path) -> None:
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    index = {"format": "brain.gallery/1", "embedding": EMBEDDING, "people": ["../../x"]}
    (gallery / "gallery.json").write_text(json.dumps(index))
    with pytest.raises(GalleryError, match="no one's folder"):
        Gallery.open(gallery)


def test_a_replay_stays_out_of_the_live_house_unless_asked(
    mosquitto: Broker, record: Callable[..., Recorder], tmp_path: Path
) -> None:
    writer = RollingWriter(tmp_path, topics=Topics())
    recorded = [
        Perception.model_validate_json(perception_json("p1")),
        Command(source="cli", command="disarm"),
        Command(source="cli", command="close"),
    ]
    for event in recorded:
        keys = {"node": "alerts", "target": "person"} if isinstance(event, Command) else {}
        writer.write(Topics().of(event, **keys), event.to_json())
    writer.close()
    seen = record(mosquitto, "#")

    def replay(*flags: str) -> str:
        result = CliRunner().invoke(
            main, ["--mqtt", mosquitto.url, "replay", str(tmp_path), "--rate", "0", *flags]
        )
        return str(result.output)

    assert "1 events under replay/ (p99 0.0 ms late); 2 commands left out" in replay()
    seen.wait_for(topic_is("replay/perceptions/#"))
    assert "is the live house's" in replay("--prefix", "brain")
    assert "1 events under brain/ (p99 0.0 ms late); 2 commands left" in replay("--into-live")
    seen.wait_for(topic_is("brain/perceptions/#"))
    assert not seen.matching(topic_is("+/commands/#"))
    assert "3 events under brain/" in replay("--into-live", "--commands")
    seen.wait_for(topic_is("brain/commands/alerts/person"), count=2)


def test_what_brain_keeps_is_the_users_alone(tmp_path: Path) -> None:
    alerts = tmp_path / "alerts"
    options = {"outbox": alerts / "outbox.sqlite3", "armed_file": alerts / "armed.json"}
    broker = MemoryBroker()
    said = recording(broker, State, node="alerts")
    with running(Alerts, broker, options=options) as node:
        said.wait(1)  # its rules' states, said on the inbox thread...
        node.idle()  # ... where the armed file is written right after
    store = tmp_path / "recordings"
    writer = RollingWriter(store, topics=Topics())
    event = Perception.model_validate_json(perception_json("p1"))
    writer.write(Topics().of(event), event.to_json())
    writer.close()
    index = Events(store)
    index.add_clip(Clip.model_validate_json(clip_json("a1")))
    index.close()
    kept = list(tmp_path.rglob("*"))  # folders too
    assert {path.name for path in kept} >= {
        "outbox.sqlite3",
        "armed.json",
        "a1.mp4",
        "events.sqlite3",
    }
    assert any(path.suffix == ".mcap" for path in kept)
    for path in kept:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is {oct(path.stat().st_mode)}"


def test_the_alerts_keep_their_clips_and_outbox_within_bounds(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    for n, age_days in enumerate((30, 2, 0)):  # a month old, two days, new; 1 MB each
        clip = clips / f"a{n}.mp4"
        clip.write_bytes(b"\0" * 1024 * 1024)
        old = time.time() - age_days * 86400
        os.utime(clip, (old, old))
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    for alert_id in ("a0", "a1"):
        outbox.add(alert_id=alert_id, targets=["json://127.0.0.1:9/"], title="t", body="b",
                   snapshot=None)  # fmt: skip
    outbox.close()
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as database:
        week_ago = time.time() - 8 * 86400
        database.execute("UPDATE outbox SET delivered = ? WHERE alert_id = 'a0'", (week_ago,))
        database.execute("UPDATE outbox SET next_attempt = ? WHERE alert_id = 'a1'", (2e9,))
    options = {"outbox": tmp_path / "outbox.sqlite3", "armed_file": tmp_path / "armed.json",
               "clips": clips, "keep_days": 7, "clips_mb": 1.5}  # fmt: skip
    with running(Alerts, MemoryBroker(), options=options) as alerts:
        alerts.idle()
        assert alerts.stats()["outbox_waiting"] == 1
    assert [clip.name for clip in clips.iterdir()] == ["a2.mp4"]
    left = sqlite3.connect(tmp_path / "outbox.sqlite3").execute("SELECT alert_id FROM outbox")
    assert [row[0] for row in left] == ["a1"]


def test_idle_and_half_sent_connections_cannot_starve_the_page(tmp_path: Path) -> None:
    options = {"port": 0, "token": "t" * 16, "recordings": tmp_path, "idle_timeout": 2,
               "max_connections": 20}  # fmt: skip
    with (
        structlog.testing.capture_logs() as logs,
        running(Browser, MemoryBroker(), options=options) as browser,
    ):
        origin = browser.node.address.split("/?")[0]  # type: ignore[attr-defined]
        host, port = origin.removeprefix("http://").split(":")
        crowd = []
        for n in range(30):  # no token, nothing sent or half a request
            connection = socket.create_connection((host, int(port)), timeout=60)
            if n % 2:
                connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            crowd.append(connection)
        for connection in crowd:  # each is closed by the server: past the cap, or idle
            with contextlib.suppress(ConnectionResetError):  # what it sent was not read
                assert connection.recv(1024) == b""
            connection.close()
        with urllib.request.urlopen(f"{origin}/?token={'t' * 16}", timeout=30) as answer:
            assert answer.status == 200
    warned = [line for line in logs if line["event"].startswith("too many connections")]
    assert len(warned) == 1 and warned[0]["cap"] == 20


def test_a_damaged_chunk_is_skipped_and_a_bomb_never_opened(tmp_path: Path) -> None:
    said = [
        TranscriptEvent(source="k", text=f"{n:04d} " + os.urandom(2000).hex()) for n in range(300)
    ]
    path = tmp_path / "one.mcap"
    with path.open("wb") as file:
        writer = Writer(file, chunk_size=256 * 1024)
        writer.start(profile="", library="test")
        channel = writer.register_channel("brain/senses/microphone/k/transcript", "json", 0)
        for event in said:
            writer.add_message(channel, log_time=0, data=event.to_json(), publish_time=0)
        writer.finish()
    with path.open("rb") as stream:
        first = make_reader(stream).get_summary().chunk_indexes[0]  # type: ignore[union-attr]
    damaged = bytearray(path.read_bytes())
    damaged[first.chunk_start_offset + first.chunk_length // 2] ^= 0xFF
    path.write_bytes(damaged)
    warnings: list[str] = []
    back = [
        TranscriptEvent.model_validate_json(r.payload) for r in read([path], warn=warnings.append)
    ]
    assert 0 < len(back) < len(said) and all(event in said for event in back)
    assert any("1 damaged chunks" in warning for warning in warnings), warnings

    builder = RecordBuilder()
    Header(profile="", library="bomb").write(builder)
    Chunk(compression="zstd", data=zstandard.compress(b"\0" * 64 * 1024 * 1024),
          message_start_time=0, message_end_time=0, uncompressed_crc=0,
          uncompressed_size=64 * 1024 * 1024).write(builder)  # fmt: skip
    bomb = tmp_path / "bomb.mcap"
    bomb.write_bytes(MAGIC + builder.end())
    assert bomb.stat().st_size < 8192
    warnings.clear()
    assert list(read([bomb], warn=warnings.append)) == []
    assert any("1 damaged chunks" in warning for warning in warnings), warnings


def test_one_camera_of_several_killed_is_said_alone(
    mosquitto: Broker, record: Callable[..., Recorder], brain_process: Callable[..., NodeProcess]
) -> None:
    seen = record(mosquitto, "brain/status/#")
    cameras = {
        name: brain_process(
            "--mqtt",
            mosquitto.url,
            "--set",
            f"camera.name={name}",
            "--set",
            "camera.fps=1",
            "node",
            "camera",
        )
        for name in ("frontdoor", "backyard")
    }
    for name in cameras:
        seen.wait_for(lambda t, p, name=name: t == f"brain/status/camera/{name}" and p == b"online")
    cameras["backyard"].stop(signal.SIGKILL)
    seen.wait_for(lambda t, p: t == "brain/status/camera/backyard" and p == b"offline", timeout=120)
    frontdoor = [p for t, p in seen.matching(topic_is("brain/status/camera/frontdoor"))]
    assert frontdoor[-1] == b"online"
    assert not seen.matching(topic_is("brain/status/camera"))


def test_the_alerts_stop_cleanly_with_their_last_figures(tmp_path: Path) -> None:
    broker = MemoryBroker()
    options = {"outbox": tmp_path / "outbox.sqlite3", "armed_file": tmp_path / "armed.json"}
    last = recording(broker, Stats)
    with structlog.testing.capture_logs() as logs, running(Alerts, broker, options=options):
        pass
    assert not [line for line in logs if line["log_level"] in ("error", "critical")], logs
    [said] = last.wait(1)
    assert said.node == "alerts" and said.figures["outbox_waiting"] == 0


def test_brain_record_beside_the_recorder_node_takes_nothing_from_it(
    mosquitto: Broker,
    brain_process: Callable[..., NodeProcess],
    record: Callable[..., Recorder],
    tmp_path: Path,
) -> None:
    present = record(mosquitto, "brain/status/#", "brain/stats/#")
    # Each records the senses only, so its `recorded` figure counts what the test sends.
    only = ("--set", 'recorder.topics=["senses/#"]', "--set", "recorder.stats_interval=0.2")
    folder = f'recorder.directory="{tmp_path / "node"}"'
    node = brain_process("--mqtt", mosquitto.url, *only, "--set", folder, "node", "recorder")
    out = str(tmp_path / "alone")
    alone = brain_process("--mqtt", mosquitto.url, *only, "record", "--out", out)
    for name in ("recorder", "record"):  # online once subscribed
        present.wait_for(lambda t, p, n=name: t == f"brain/status/{n}" and p == b"online")
    said = [TranscriptEvent(source="k", text=f"number {n}") for n in range(50)]
    publish_many(mosquitto, [(Topics().of(event), event.to_json()) for event in said])
    for name in ("recorder", "record"):  # both have had every one before they stop
        present.wait_for(
            lambda t, p, n=name: t == f"brain/stats/{n}" and b'"recorded":50' in p, timeout=60
        )
    for process, folder in ((node, "node"), (alone, "alone")):
        process.stop(signal.SIGTERM)
        kept = [r for r in read([tmp_path / folder]) if r.schema == "brain.transcript/1"]
        assert [TranscriptEvent.model_validate_json(r.payload).text for r in kept] == [
            event.text for event in said
        ], folder


def test_a_flood_of_made_up_cameras_costs_the_alerts_a_bounded_memory(tmp_path: Path) -> None:
    broker = MemoryBroker()
    options = {"outbox": tmp_path / "outbox.sqlite3", "armed_file": tmp_path / "armed.json"}
    with running(Alerts, broker, options=options) as alerts:
        for n in range(300):
            image = ImageEvent(source=f"made-up-{n}", content_type="image/jpeg", data=b"\xff\xd8",
                               width=1, height=1, seq=0)  # fmt: skip
            send(broker, image)
            if n % 50 == 0:
                alerts.idle()
        alerts.idle()
        assert alerts.stats()["cameras"] == 64
