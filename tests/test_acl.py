"""The shipped mosquitto/ config and ACL, on a real Mosquitto."""

from __future__ import annotations

import getpass
import re
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from brain._broker import find_mosquitto, wait_until_listening
from tests.support import ROOT, Broker, Recorder, free_port, topic_is

USERS = {"camera": "camera-secret", "cortex": "cortex-secret", "watch": "watch-secret"}


@pytest.fixture
def production_broker(tmp_path: Path) -> Iterator[Broker]:
    """Mosquitto with the shipped mosquitto.conf and ACL; only paths and port changed."""
    passwords = tmp_path / "brain.passwd"
    for user, secret in USERS.items():
        create = ["-c"] if not passwords.exists() else []
        subprocess.run(
            ["mosquitto_passwd", *create, "-b", str(passwords), user, secret], check=True
        )
    port = free_port()
    config = (ROOT / "mosquitto" / "mosquitto.conf").read_text()
    for key, value in {
        "password_file": passwords,
        "acl_file": ROOT / "mosquitto" / "acl",
        "persistence_location": f"{tmp_path}/",
        "listener": f"{port} 127.0.0.1",
    }.items():
        config, replaced = re.subn(rf"^{key} .*$", f"{key} {value}", config, flags=re.M)
        assert replaced == 1, f"mosquitto.conf has no single {key} line"
    # Run as whoever runs the tests (as root Mosquitto would switch to a user that cannot
    # read the test's private files).
    (tmp_path / "brain.conf").write_text(config + f"user {getpass.getuser()}\n")
    process = subprocess.Popen(
        [find_mosquitto(), "-c", str(tmp_path / "brain.conf")], stderr=subprocess.DEVNULL
    )
    wait_until_listening("127.0.0.1", port)
    yield Broker(kind="production", port=port, workdir=tmp_path, process=process)
    process.terminate()
    process.wait(timeout=10)


def publish_as(broker: Broker, user: str, topic: str) -> ReasonCode:
    """Publish at QoS 1 as ``user`` and return the broker's PUBACK reason."""
    acked = threading.Event()
    reasons: list[ReasonCode] = []
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, USERS[user])
    client.on_publish = lambda _c, _u, _mid, reason, _p: (reasons.append(reason), acked.set())
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    client.publish(topic, b'{"probe": true}', qos=1)
    assert acked.wait(10), "no PUBACK"
    client.disconnect()
    client.loop_stop()
    return reasons[0]


def test_a_camera_may_not_publish_perceptions(
    production_broker: Broker, record: Callable[..., Recorder]
) -> None:
    seen = record(production_broker, "brain/#", username="watch", password=USERS["watch"])
    refused = publish_as(production_broker, "camera", "brain/perceptions/camera/frontdoor")
    allowed = publish_as(production_broker, "camera", "brain/senses/camera/frontdoor/image")
    assert refused.getName() == "Not authorized"
    assert not allowed.is_failure
    seen.wait_for(topic_is("brain/senses/camera/frontdoor/image"))
    assert not seen.matching(topic_is("brain/perceptions/#"))


def test_the_cortex_may_publish_perceptions_but_not_senses(production_broker: Broker) -> None:
    assert not publish_as(production_broker, "cortex", "brain/perceptions/camera/x").is_failure
    assert publish_as(production_broker, "cortex", "brain/senses/camera/x/image").is_failure


def test_a_wrong_password_is_refused(production_broker: Broker) -> None:
    answered = threading.Event()
    reasons: list[ReasonCode] = []
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set("camera", "wrong")
    client.on_connect = lambda _c, _u, _f, reason, _p: (reasons.append(reason), answered.set())
    client.connect("127.0.0.1", production_broker.port)
    client.loop_start()
    assert answered.wait(10)
    client.loop_stop()
    assert reasons[0].is_failure
