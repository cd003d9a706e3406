"""Every built-in node on the production broker (the shipped mosquitto.conf and ACL), run
with its own user as mosquitto/README.md sets it up, does its job; nobody else can take
its connection over."""

from __future__ import annotations

import asyncio
import getpass
import io
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import paho.mqtt.client as mqtt
import pytest
import structlog
from PIL import Image

from brain import testing
from brain.cortex import Cortex
from brain.plugins import discover
from brain.recording import Events
from brain.testing import running
from brain.visits import Visits
from effectors.alerts import Alerts
from effectors.browser import Browser
from effectors.browser import _node as browser_node
from effectors.homeassistant import HomeAssistant
from effectors.metrics import Metrics
from effectors.recorder import Recorder as RecorderNode
from effectors.speaker import Speaker
from schemas import (
    Alert,
    Command,
    ImageEvent,
    Perception,
    State,
    Stats,
    Track,
    TranscriptEvent,
)
from senses.camera import Camera
from senses.microphone import Microphone
from senses.twitter import Twitter
from tests.production import USERS, client_of, production_config, publish_as, url_of
from tests.support import (
    ROOT,
    TEST_PLUGINS,
    Broker,
    NodeProcess,
    Recorder,
    hang_up,
    topic_is,
)
from tests.test_twitter import MENTIONS, FakeApi, api, page
from tests.walks import perceived, walking

__all__ = ["api"]  # the twitter test's fixture, used here too

TOKEN = "production-token-0123"
README = ROOT / "mosquitto" / "README.md"


def jpeg(colour: tuple[int, int, int] = (220, 30, 30)) -> bytes:
    encoded = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(encoded, "JPEG")
    return encoded.getvalue()


def frame() -> ImageEvent:
    return testing.frame(jpeg(), source="frontdoor")


def perception(label: str = "person") -> Perception:
    return Perception(
        source="frontdoor", cause="frame1", sense="camera", kind="vision",
        labels=[{"label": label, "score": 0.97}], text=f"I see a {label}.",
    )  # fmt: skip


@pytest.fixture
def watch(production_broker: Broker, record: Callable[..., Recorder]) -> Recorder:
    """Everything under brain/, as people see it with `brain watch`."""
    return record(production_broker, "brain/#", username="watch", password=USERS["watch"])


def as_user(broker: Broker, user: str, topic: str, payload: bytes, *, retain: bool = False) -> None:
    [answer] = publish_as(broker.port, user, [(topic, payload)], retain=retain)
    assert not answer.is_failure, f"{user} may not publish on {topic}: {answer}"


def test_the_camera(production_broker: Broker, watch: Recorder, tmp_path: Path) -> None:
    Image.open(io.BytesIO(jpeg())).save(tmp_path / "door.jpg")
    options = {"source": str(tmp_path / "door.jpg"), "name": "frontdoor", "fps": 5}
    with running(Camera, url_of(production_broker, "camera"), options=options):
        watch.wait_for(topic_is("brain/senses/camera/frontdoor/image"))
        watch.wait_for(lambda t, p: t == "brain/status/camera/frontdoor" and p == b"online")


def test_the_cortex_perceives_and_obeys_a_voice(production_broker: Broker, watch: Recorder) -> None:
    catalog = discover(plugins_dirs=[TEST_PLUGINS])
    url = url_of(production_broker, "cortex")
    options = {"model": "colours", "camera_for": {"kitchen": "frontdoor"}}
    with running(Cortex, url, options=options, catalog=catalog):
        as_user(production_broker, "camera", "brain/senses/camera/frontdoor/image",
                frame().to_json())  # fmt: skip
        [(_, seen)] = watch.wait_for(topic_is("brain/perceptions/camera/frontdoor"))
        assert Perception.model_validate_json(seen).labels[0].label == "red"
        said = TranscriptEvent(source="kitchen", text="close your eye", command="close")
        as_user(production_broker, "microphone", "brain/senses/microphone/kitchen/transcript",
                said.to_json())  # fmt: skip
        [(_, order)] = watch.wait_for(topic_is("brain/commands/camera/frontdoor"))
    assert Command.model_validate_json(order).command == "close"


def test_the_microphone(production_broker: Broker, watch: Recorder, tmp_path: Path) -> None:
    (tmp_path / "said.txt").write_text("hello brain\n")
    options = {"source": str(tmp_path / "said.txt"), "name": "kitchen"}
    with running(Microphone, url_of(production_broker, "microphone"), options=options):
        [(_, heard)] = watch.wait_for(topic_is("brain/senses/microphone/kitchen/transcript"))
    assert TranscriptEvent.model_validate_json(heard).text == "hello brain"


def test_twitter(production_broker: Broker, watch: Recorder, api: FakeApi, tmp_path: Path) -> None:
    api.reply(page(1))  # first start: where "now" is
    api.reply(page(2))
    options = {"user": "thebrain", "bearer_token": "secret-token", "interval": 0.2,
               "state": tmp_path / "state.json"}  # fmt: skip
    with running(Twitter, url_of(production_broker, "twitter"), options=options):
        watch.wait_for(topic_is(MENTIONS))


def test_the_speaker(production_broker: Broker, watch: Recorder, tmp_path: Path) -> None:
    options = {"output": tmp_path / "said"}
    with running(Speaker, url_of(production_broker, "speaker"), options=options) as speaker:
        as_user(production_broker, "cortex", "brain/perceptions/camera/frontdoor",
                perception().to_json())  # fmt: skip
        watch.wait_for(lambda t, p: t == "brain/stats/speaker" and b'"spoken":1' in p)
        speaker.idle()
    assert [path.suffix for path in (tmp_path / "said").iterdir()] == [".wav"]


def test_the_visits_and_the_speaker_saying_one(
    production_broker: Broker, watch: Recorder, tmp_path: Path
) -> None:
    visits = {"state_file": tmp_path / "visits.json", "lost_after": 2.0}
    with (
        running(Visits, url_of(production_broker, "visits"), options=visits),
        running(Speaker, url_of(production_broker, "speaker"), options={"output": tmp_path}),
    ):
        for at, box in walking(2):
            as_user(production_broker, "cortex", "brain/perceptions/camera/frontdoor",
                    perceived(at, box).to_json())  # fmt: skip
        [(_, ended)] = watch.wait_for(lambda t, p: t == "brain/tracks/frontdoor" and b"ended" in p)
        watch.wait_for(lambda t, p: t == "brain/stats/speaker" and b'"spoken":1' in p)
    assert Track.model_validate_json(ended).text == "Someone was at the frontdoor for 2 s."
    assert [path.name for path in tmp_path.glob("*.wav")] == [
        "00001-someone-was-at-the-frontdoor-for-2-s.wav"
    ]


@pytest.fixture
def alerts_options(tmp_path: Path) -> dict[str, Any]:
    return {
        "outbox": tmp_path / "outbox.sqlite3", "armed_file": tmp_path / "armed.json",
        "clips": tmp_path / "clips", "clip_before": 1, "clip_after": 0.5,
        "rules": [{"name": "person", "labels": ["person"], "window": 1, "cooldown": 0}],
    }  # fmt: skip


def test_the_alerts_raise_a_clip_and_obey_the_page(
    production_broker: Broker, watch: Recorder, alerts_options: dict[str, Any]
) -> None:
    with running(Alerts, url_of(production_broker, "alerts"), options=alerts_options):
        watch.wait_for(lambda t, p: t == "brain/state/alerts/person" and b"armed" in p)
        as_user(production_broker, "camera", "brain/senses/camera/frontdoor/image",
                frame().to_json())  # fmt: skip
        seen = perception().model_copy(update={"cause": frame().id})
        as_user(production_broker, "cortex", "brain/perceptions/camera/frontdoor", seen.to_json())
        watch.wait_for(topic_is("brain/alerts/person"))
        watch.wait_for(topic_is("brain/clips/person"), timeout=60)
        disarm = Command(source="page", command="disarm", reason="a test")
        as_user(production_broker, "browser", "brain/commands/alerts/person", disarm.to_json())
        [(_, state)] = watch.wait_for(
            lambda t, p: t == "brain/state/alerts/person" and b"disarmed" in p
        )
    assert State.model_validate_json(state).cause == disarm.id


def test_the_recorder_records_and_indexes(
    production_broker: Broker, watch: Recorder, tmp_path: Path
) -> None:
    store = tmp_path / "recordings"
    with running(RecorderNode, url_of(production_broker, "recorder"), options={"directory": store}):
        alert = Alert(source="frontdoor", rule="person", perception=perception())
        as_user(production_broker, "alerts", "brain/alerts/person", alert.to_json())
        watch.wait_for(lambda t, p: t == "brain/stats/recorder" and b'"indexed":1' in p)
    assert list(store.glob("*.mcap"))
    index = Events(store)
    assert [happened.id for happened in index.list()] == [alert.id]
    index.close()


def test_metrics_serves_every_nodes_figures(production_broker: Broker) -> None:
    url = url_of(production_broker, "metrics")
    with running(Metrics, url, options={"port": 0}) as metrics:
        stats = Stats(source="frontdoor", node="camera", uptime_s=3, figures={"frames": 7},
                      counters=["frames"])  # fmt: skip
        as_user(production_broker, "camera", "brain/stats/camera", stats.to_json())
        as_user(production_broker, "camera", "brain/status/camera", b"online")
        address = metrics.node.address  # type: ignore[attr-defined]
        for _ in range(600):
            with urllib.request.urlopen(address, timeout=30) as answer:
                text = answer.read().decode()
            if 'brain_frames_total{node="camera",source="frontdoor"} 7.0' in text:
                break
            threading.Event().wait(0.1)
    assert 'brain_frames_total{node="camera",source="frontdoor"} 7.0' in text
    assert 'brain_node_up{node="camera"} 1.0' in text


def test_home_assistant_gets_its_entities(
    production_broker: Broker, record: Callable[..., Recorder], tmp_path: Path
) -> None:
    home = record(production_broker, "homeassistant/#", "brain/#", username="hass",
                  password=USERS["hass"])  # fmt: skip
    url = url_of(production_broker, "homeassistant")
    with running(HomeAssistant, url, options={"memory": tmp_path / "ha.json"}):
        as_user(production_broker, "cortex", "brain/perceptions/camera/frontdoor",
                perception().to_json())  # fmt: skip
        home.wait_for(topic_is("homeassistant/binary_sensor/+/+/config"))
        home.wait_for(lambda t, p: t == "brain/state/homeassistant/frontdoor-person" and b"ON" in p)
        as_user(
            production_broker,
            "alerts",
            "brain/state/alerts/person",
            State(source="alerts", node="alerts", name="person", value="armed").to_json(),
        )
        home.wait_for(topic_is("homeassistant/switch/+/+/config"))


def test_the_browser_page_sends_frames_shows_the_cameras_and_the_health_and_arms_rules(
    production_broker: Broker, watch: Recorder, tmp_path: Path
) -> None:
    url = url_of(production_broker, "browser")
    options = {"port": 0, "token": TOKEN, "recordings": tmp_path / "recordings"}
    armed = State(source="alerts", node="alerts", name="person", value="armed")
    as_user(production_broker, "alerts", "brain/state/alerts/person", armed.to_json(), retain=True)
    frame = testing.frame(jpeg(), source="frontdoor")
    with running(Browser, url, options=options) as browser:
        origin = browser.node.address.split("/?")[0]  # type: ignore[attr-defined]

        async def page() -> dict[str, Any]:
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(
                    f"{origin}/ws?source=hall&token={TOKEN}", headers={"Origin": origin}
                ) as socket_,
            ):
                assert (await socket_.receive_json())["type"] == "welcome"
                while (await socket_.receive_json())["type"] != "rule":
                    pass  # the rule's switch is on the page once its state came
                await socket_.send_bytes(jpeg())
                await socket_.send_str(
                    json.dumps({"type": "arm", "rule": "person", "armed": False})
                )
                # A camera's frame reaches the page's live grid.
                topic = "brain/senses/camera/frontdoor/image"
                await asyncio.to_thread(
                    as_user, production_broker, "camera", topic, frame.to_json()
                )
                while (await socket_.receive_json()).get("camera") != "frontdoor":
                    pass
                async with session.get(f"{origin}/health?token={TOKEN}") as answer:
                    return dict(await answer.json())

        health = asyncio.run(page())
    assert {"node": "browser", "status": "online"}.items() <= health["nodes"][0].items()
    watch.wait_for(topic_is("brain/senses/camera/hall/image"))
    [(_, armed)] = watch.wait_for(topic_is("brain/commands/alerts/person"))
    assert Command.model_validate_json(armed).command == "disarm"


@pytest.mark.parametrize("acl", ["shipped", "from before the page showed the house"])
def test_the_page_says_when_the_acl_lets_it_hear_nothing_of_the_house(
    acl: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = production_config(tmp_path)
    if acl != "shipped":
        shipped = (tmp_path / "brain.acl").read_text()
        block = shipped[shipped.index("user browser\n") : shipped.index("user recorder")]
        older = "".join(line for line in block.splitlines(True) if "read brain/st" not in line)
        (tmp_path / "brain.acl").write_text(shipped.replace(block, older))
    monkeypatch.setattr(browser_node, "HEARING_WAIT", 2.0)
    options = {"port": 0, "token": TOKEN, "recordings": tmp_path / "recordings"}
    with (
        Broker("production", tmp_path, config=config) as broker,
        structlog.testing.capture_logs() as logs,
        running(Browser, url_of(broker, "browser"), options=options) as browser,
    ):
        origin = browser.node.address.split("/?")[0]  # type: ignore[attr-defined]

        def said() -> list[dict[str, Any]]:
            return [line for line in logs if "hear no node's presence" in str(line["event"])]

        if acl == "shipped":  # it hears itself, as its Health view shows; then no word
            assert _wait(lambda: "online" in _get(f"{origin}/health?token={TOKEN}"))
            time.sleep(3)  # past the check
            assert said() == []
        else:
            assert _wait(lambda: bool(said()))
            assert "read brain/status/#" in said()[0]["fix"]
            assert _get(f"{origin}/health?token={TOKEN}").count("online") == 0


def connect_as(broker: Broker, user: str, client_id: str) -> mqtt.Client:
    client = client_of(user, client_id)
    answered = threading.Event()
    client.on_connect = lambda *_args: answered.set()
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    assert answered.wait(30), "the broker did not answer"
    return client


def test_no_other_user_can_take_over_a_nodes_connection(
    production_broker: Broker, watch: Recorder, alerts_options: dict[str, Any]
) -> None:
    url = url_of(production_broker, "alerts")
    ids = ["alerts", f"brain-brain-alerts-{socket.gethostname()}"]
    with running(Alerts, url, options=alerts_options) as alerts:
        for attempt in range(10):  # another user, with the ids the alerts node would use
            attacker = connect_as(production_broker, "camera", ids[attempt % 2])
            hang_up(attacker)
        as_user(production_broker, "cortex", "brain/perceptions/camera/frontdoor",
                perception().to_json())  # fmt: skip
        watch.wait_for(topic_is("brain/alerts/person"))
        assert alerts.node.bus.stats()["disconnects"] == 0


def test_a_node_taken_over_again_and_again_says_so_once(
    production_broker: Broker, tmp_path: Path
) -> None:
    url = url_of(production_broker, "speaker")
    with (
        structlog.testing.capture_logs() as logs,
        running(Speaker, url, options={"output": tmp_path}) as speaker,
    ):
        bus = speaker.node.bus
        for _ in range(4):  # someone else logged in as the speaker, each time it is back
            assert _wait(bus.connected.is_set)
            before = bus.stats()["disconnects"]
            thief = connect_as(production_broker, "speaker", "anything")
            hang_up(thief)
            assert _wait(lambda before=before: bus.stats()["disconnects"] > before)
    said = [line for line in logs if "another client" in str(line.get("event"))]
    assert len(said) == 1, logs
    assert said[0]["fix"] == "give each process a user of its own (mosquitto/README.md)"


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return str(answer.read().decode())


def _wait(condition: Callable[[], bool], timeout: float = 30) -> bool:
    done = threading.Event()
    for _ in range(int(timeout * 20)):
        if condition():
            return True
        done.wait(0.05)
    return False


def test_brain_run_logs_each_node_in_as_itself_from_the_passwords_file(
    production_broker: Broker,
    watch: Recorder,
    brain_process: Callable[..., NodeProcess],
    tmp_path: Path,
) -> None:
    Image.open(io.BytesIO(jpeg())).save(tmp_path / "door.jpg")
    run = brain_process(
        "--mqtt", f"mqtt://127.0.0.1:{production_broker.port}",
        "--passwords", str(production_broker.workdir / "passwords"),
        "--plugins-dir", str(TEST_PLUGINS),
        "--set", "cortex.model=colours", "--set", f'camera.source="{tmp_path / "door.jpg"}"',
        "--set", f'alerts.outbox="{tmp_path / "outbox.sqlite3"}"',
        "--set", f'alerts.armed_file="{tmp_path / "armed.json"}"',
        "--set", 'alerts.rules=[{name = "red", labels = ["red"], window = 1}]',
        "run", "camera", "cortex", "alerts",
    )  # fmt: skip
    watch.wait_for(topic_is("brain/alerts/red"), timeout=120)
    for node in ("camera", "cortex", "alerts"):
        assert (f"brain/status/{node}", b"online") in [
            (t, p) for t, p in watch.matching(topic_is(f"brain/status/{node}"))
        ]
    assert "another client" not in run.log()
    assert not watch.matching(lambda t, p: t.startswith("brain/status/") and p == b"offline")


def test_several_cameras_in_one_run_each_log_in_as_their_own_user(
    tmp_path: Path, brain_process: Callable[..., NodeProcess], record: Callable[..., Recorder]
) -> None:
    cameras = ("frontdoor", "backyard")
    config = production_config(tmp_path, cameras=cameras)
    tables = "".join(f'[camera.{name}]\nsource = "{tmp_path / "door.jpg"}"\n' for name in cameras)
    (tmp_path / "brain.toml").write_text(f"[camera]\nfps = 2\n{tables}")
    Image.open(io.BytesIO(jpeg())).save(tmp_path / "door.jpg")
    with Broker("production", tmp_path, config=config) as broker:
        seen = record(broker, "brain/#", username="watch", password=USERS["watch"])
        run = brain_process("--mqtt", f"mqtt://127.0.0.1:{broker.port}",
                            "--passwords", str(tmp_path / "passwords"),
                            "--config", str(tmp_path / "brain.toml"), "run", "camera")  # fmt: skip
        for name in cameras:
            seen.wait_for(topic_is(f"brain/senses/camera/{name}/image"), timeout=60)
            seen.wait_for(lambda t, p, n=name: t == f"brain/status/camera/{n}" and p == b"online")
        assert "another client" not in run.log() and "not authorised" not in run.log().lower()
        assert run.stop(signal.SIGINT, timeout=30) == 0


def test_the_production_recipe_as_written(
    tmp_path: Path, brain_process: Callable[..., NodeProcess], record: Callable[..., Recorder]
) -> None:
    """mosquitto/README.md's set-up, line by line (its /etc and ~ in the test's folder,
    without sudo and systemctl), gives a broker on which a second camera runs too."""
    etc, home = tmp_path / "etc", tmp_path / "home"
    etc.mkdir()
    home.mkdir()
    [setup, _run] = re.findall(r"^```sh\n(.*?)^```", README.read_text(), re.S | re.M)
    lines = [
        line for line in setup.splitlines() if "apt-get" not in line and "systemctl" not in line
    ]
    script = "\n".join(lines).replace("sudo ", "").replace("/etc/mosquitto", str(etc))
    subprocess.run(["bash", "-euc", script], cwd=ROOT, env={**os.environ, "HOME": str(home)},
                   check=True)  # fmt: skip
    passwords = home / ".config" / "brain" / "passwords"
    assert passwords.stat().st_mode & 0o077 == 0
    users = dict(line.split(":", 1) for line in passwords.read_text().splitlines())
    assert set(users) == set(USERS)
    config = (etc / "mosquitto.conf").read_text().replace("listener 1883", "listener {port}")
    config = config.replace("/var/lib/mosquitto/", f"{tmp_path}/").replace(
        "/etc/mosquitto", str(etc)
    )
    config += f"user {getpass.getuser()}\n"
    with Broker("production", etc, config=config) as broker:
        port = broker.port
        seen = record(broker, "brain/#", username="watch", password=users["watch"])
        Image.open(io.BytesIO(jpeg())).save(tmp_path / "door.jpg")
        camera = ["--set", f'camera.source="{tmp_path / "door.jpg"}"', "--set", "camera.fps=1"]
        brain_process("--mqtt", f"mqtt://127.0.0.1:{port}", "--passwords", str(passwords),
                      *camera, "--set", "camera.name=front", "node", "camera")  # fmt: skip
        # The second camera, as the README says: its own user, the camera's block copied.
        acl = (etc / "brain.acl").read_text()
        block = acl[acl.index("user camera\n") : acl.index("user microphone")]
        (etc / "brain.acl").write_text(acl + block.replace("user camera", "user camera2"))
        subprocess.run(["mosquitto_passwd", "-b", str(etc / "brain.passwd"), "camera2", "s2"],
                       check=True)  # fmt: skip
        assert broker.process is not None
        broker.process.send_signal(signal.SIGHUP)  # Mosquitto reads its users and ACL again
        brain_process("--mqtt", f"mqtt://camera2:s2@127.0.0.1:{port}", *camera,
                      "--set", "camera.name=back", "node", "camera")  # fmt: skip
        for name in ("front", "back"):
            seen.wait_for(topic_is(f"brain/senses/camera/{name}/image"), timeout=60)
            seen.wait_for(lambda t, p, n=name: t == f"brain/status/camera/{n}" and p == b"online")
