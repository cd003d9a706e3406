"""Test helpers and fixtures: real brokers on free ports, a recorder of what crosses them,
and brain commands run as processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from click.testing import CliRunner
from paho.mqtt.enums import CallbackAPIVersion

from brain._broker import wait_until_listening
from brain.bus import BrokerUrl, Bus
from brain.cli import main
from brain.testing import Mosquitto, home_environment

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "plugins"
TEST_PLUGINS = Path(__file__).resolve().parent / "plugins"


class Broker(Mosquitto):
    """A broker process on 127.0.0.1 that a test may kill and start again: Mosquitto
    (``config``: a mosquitto.conf of the test's own), or brain's embedded broker as
    ``brain broker`` runs it."""

    def __init__(self, kind: str, workdir: Path, *, config: str | None = None) -> None:
        super().__init__(workdir, config=config)
        self.kind, self.workdir = kind, workdir

    def start(self) -> None:
        if self.kind != "embedded":
            super().start()
            return
        argv = [sys.executable, "-m", "brain", "broker", "--port", str(self.port)]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until_listening("127.0.0.1", self.port)


def brain_command(*args: object) -> subprocess.CompletedProcess[str]:
    """A ``brain ...`` command line as a user types it, run in this process (a command
    that loads a model loads it once a session, not once a command); its exit code,
    standard output and standard error, as a process would give them."""
    argv = [str(arg) for arg in args]
    result = CliRunner().invoke(main, argv, catch_exceptions=False)
    return subprocess.CompletedProcess(argv, result.exit_code, result.stdout, result.stderr)


def connected_bus(broker: Broker, node: str, **options: object) -> Bus:
    """A bus of a node called ``node``, connected to ``broker``."""
    bus = Bus(node=node, url=BrokerUrl.parse(broker.url), **options)  # type: ignore[arg-type]
    bus.connect(timeout=10)
    return bus


@pytest.fixture(params=["mosquitto", "embedded"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Broker]:
    """A real Mosquitto started by the test, and brain's own embedded broker."""
    with Broker(request.param, tmp_path) as running:
        yield running


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Broker]:
    """A plain Mosquitto, for tests that do not need to run on both brokers."""
    with Broker("mosquitto", tmp_path) as running:
        yield running


@dataclass
class Recorder:
    """A plain paho client that records every message on the filters it is given."""

    client: mqtt.Client
    messages: list[tuple[str, bytes, bool]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        with self.changed:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))
            self.changed.notify_all()

    def wait_for(
        self, match: Callable[[str, bytes], bool], *, count: int = 1, timeout: float = 30
    ) -> list[tuple[str, bytes]]:
        """The first ``count`` messages that ``match``; fails the test after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [(t, p) for t, p, _ in self.messages if match(t, p)]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [t for t, _, _ in self.messages][-10:]
                    raise AssertionError(
                        f"waited {timeout} s for {count} messages; last seen: {seen}"
                    )
                self.changed.wait(left)

    def matching(self, match: Callable[[str, bytes], bool]) -> list[tuple[str, bytes]]:
        with self.changed:
            return [(t, p) for t, p, _ in self.messages if match(t, p)]


def topic_is(wanted: str) -> Callable[[str, bytes], bool]:
    return lambda topic, _payload: mqtt.topic_matches_sub(wanted, topic)


@pytest.fixture
def record() -> Iterator[Callable[..., Recorder]]:
    """``record(broker, "brain/#")`` starts recording and returns the recorder."""
    clients: list[mqtt.Client] = []

    def start(
        on: Broker, *filters: str, username: str | None = None, password: str | None = None
    ) -> Recorder:
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if username:
            client.username_pw_set(username, password)
        recorder = Recorder(client)
        subscribed = threading.Event()
        client.on_message = recorder.on_message
        client.on_subscribe = lambda *_args: subscribed.set()
        client.connect("127.0.0.1", on.port)
        client.loop_start()
        client.subscribe([(f, 1) for f in filters])
        assert subscribed.wait(10), "the recorder could not subscribe"
        clients.append(client)
        return recorder

    yield start
    for client in clients:
        hang_up(client)


def hang_up(client: mqtt.Client) -> None:
    """Disconnect a plain paho client and stop its thread. Its thread ends by itself on
    the disconnection, and may vanish under ``loop_stop``'s feet (paho issue #872,
    open): then it has stopped already."""
    client.disconnect()
    with contextlib.suppress(AttributeError):
        client.loop_stop()


def publish(on: Broker, topic: str, payload: bytes | str, *, qos: int = 1) -> None:
    """Publish one message with a plain paho client and wait until the broker has it."""
    publish_many(on, [(topic, payload)], qos=qos)


def publish_many(on: Broker, messages: list[tuple[str, bytes | str]], *, qos: int = 1) -> None:
    """Publish messages in a burst over one connection; return when the broker has them."""
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", on.port)
    client.loop_start()
    sent = [client.publish(topic, payload, qos=qos) for topic, payload in messages]
    for info in sent:
        info.wait_for_publish(timeout=10)
    hang_up(client)


@dataclass
class NodeProcess:
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def log(self) -> str:
        return "".join(self.output)

    def wait_online(
        self, on: Broker, presence: str, *, prefix: str = "brain", timeout: float = 60
    ) -> None:
        """Wait until the node says ``online`` on its status topic (``presence``: its name,
        or ``camera/door``): it says so once its handlers are subscribed."""
        topic, online = f"{prefix}/status/{presence}", threading.Event()
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)

        def heard(_client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
            if message.payload == b"online":
                online.set()

        client.on_message = heard
        client.on_connect = lambda c, *_args: c.subscribe(topic, qos=1)
        client.connect("127.0.0.1", on.port)
        client.loop_start()
        try:
            deadline = time.monotonic() + timeout
            while not online.wait(0.2):
                assert self.process.poll() is None, f"it exited before {topic}:\n{self.log()}"
                assert time.monotonic() < deadline, f"no online on {topic} in:\n{self.log()}"
        finally:
            hang_up(client)

    def wait_for_log(self, text: str, *, count: int = 1, timeout: float = 60) -> None:
        """Wait until ``text`` appears ``count`` times in the output; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            assert time.monotonic() < deadline, f"no {text!r} (x{count}) in:\n{self.log()}"
            time.sleep(0.05)


def start_brain(
    *args: str, env: dict[str, str] | None = None, host: str | None = None, cwd: Path = ROOT
) -> NodeProcess:
    """Start ``python -m brain ARGS`` in ``cwd`` and keep its output; on ``host``, a
    network namespace, when given."""
    inside = ["ip", "netns", "exec", host] if host else []
    process = subprocess.Popen(
        [*inside, sys.executable, "-m", "brain", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )
    node = NodeProcess(process)

    def keep() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            node.output.append(line)

    threading.Thread(target=keep, daemon=True).start()
    return node


@pytest.fixture
def brain_process() -> Iterator[Callable[..., NodeProcess]]:
    """Start brain commands as processes; whatever is left running is killed after the test."""
    started: list[NodeProcess] = []

    def start(
        *args: str, env: dict[str, str] | None = None, host: str | None = None, cwd: Path = ROOT
    ) -> NodeProcess:
        node = start_brain(*args, env=env, host=host, cwd=cwd)
        started.append(node)
        return node

    yield start
    for node in started:
        if node.process.poll() is None:
            node.process.kill()
            node.process.wait()


def cortex(
    broker: Broker,
    start: Callable[..., NodeProcess],
    *sets: str,
    model: str = "colours",
    prefix: str = "brain",
) -> NodeProcess:
    """A cortex with a test model (by default ``colours``), connected and subscribed."""
    node = start(
        "--mqtt",
        broker.url,
        "--prefix",
        prefix,
        "--plugins-dir",
        str(TEST_PLUGINS),
        "--set",
        f"cortex.model={model}",
        *sets,
        "node",
        "cortex",
    )
    wait_until_serving(node, broker, prefix=prefix)
    return node


#: A test that starts a cortex on a model not converted yet this session gets this long.
CONVERTING = pytest.mark.timeout(900)


def wait_until_serving(cortex: NodeProcess, on: Broker, *, prefix: str = "brain") -> None:
    """Wait until a cortex has its model and is subscribed. A first start may convert
    the model and measure every engine: minutes on a busy machine."""
    cortex.wait_online(on, "cortex", prefix=prefix, timeout=600)


@pytest.fixture(scope="session", autouse=True)
def own_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A home of the test session's own, for this process and every one it starts: the
    tests never touch the user's real state, caches or Keras models; and what the
    session converts once (models for each engine) it finds again in the next test."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in home_environment(home).items():
            patch.setenv(variable, value)
        yield home


@pytest.fixture(scope="session")
def inception_weights(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    """An InceptionV3 with weights this test makes (ImageNet's cannot be downloaded here);
    its last layer scaled so that its top labels are clear-cut, not a near tie."""
    import keras

    network = keras.applications.InceptionV3(weights=None)
    last = network.get_layer("predictions")
    kernel, bias = last.get_weights()
    last.set_weights([kernel * 200, bias])
    path = tmp_path_factory.mktemp("weights") / "inception.weights.h5"
    network.save_weights(str(path))
    return network, path
