"""The production broker as a user sets it up: the shipped mosquitto.conf and ACL, a
password for every user the ACL names, on a free port (see mosquitto/README.md)."""

from __future__ import annotations

import getpass
import json
import re
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from brain.bus import BrokerUrl
from schemas import Event
from tests.support import ROOT, Broker, hang_up

ACL = ROOT / "mosquitto" / "acl"
#: Every user the shipped ACL names, and the password the tests give each.
USERS = {
    user: f"{user}-secret" for user in re.findall(r"^user (\S+)$", ACL.read_text(), flags=re.M)
}


def url_of(broker: Broker, user: str) -> BrokerUrl:
    """The broker's address with ``user``'s login, as that node is given it."""
    return BrokerUrl.parse(f"mqtt://{user}:{USERS[user]}@127.0.0.1:{broker.port}")


def production_config(workdir: Path, *, cameras: Sequence[str] = ()) -> str:
    """The shipped mosquitto.conf and ACL, with a password for every user and a folder
    of the test's own: what a user sets up (``listener {port}``, for ``Mosquitto``).
    ``workdir / "passwords"`` is the passwords file a user gives brain. ``cameras``: a
    user ``camera-NAME`` for each, its block copied from the camera's, as the ACL says."""
    acl, users = ACL.read_text(), dict(USERS)
    block = acl[acl.index("user camera\n") : acl.index("user microphone")]
    for name in cameras:
        acl += block.replace("user camera", f"user camera-{name}")
        users[f"camera-{name}"] = f"camera-{name}-secret"
    (workdir / "brain.acl").write_text(acl)
    passwords = workdir / "brain.passwd"
    (workdir / "passwords").write_text("".join(f"{u}:{p}\n" for u, p in users.items()))
    passwords.write_text((workdir / "passwords").read_text())
    subprocess.run(["mosquitto_passwd", "-U", str(passwords)], check=True)  # as the README does
    config = (ROOT / "mosquitto" / "mosquitto.conf").read_text()
    for key, value in {
        "password_file": passwords,
        "acl_file": workdir / "brain.acl",
        "persistence_location": f"{workdir}/",
        "listener": "{port} 127.0.0.1",
    }.items():
        config, replaced = re.subn(rf"^{key} .*$", f"{key} {value}", config, flags=re.M)
        assert replaced == 1, f"mosquitto.conf has no single {key} line"
    # Run as whoever runs the tests (as root Mosquitto would switch to a user that cannot
    # read the test's private files).
    return config + f"user {getpass.getuser()}\n"


@pytest.fixture
def production_broker(tmp_path: Path) -> Iterator[Broker]:
    """Mosquitto with the shipped mosquitto.conf and ACL; only paths and port changed.
    ``tmp_path / "passwords"`` is the passwords file a user gives brain."""
    with Broker("production", tmp_path, config=production_config(tmp_path)) as broker:
        yield broker


def client_of(user: str, client_id: str = "") -> mqtt.Client:
    """A plain paho client that logs in as ``user`` (MQTT 5: a refused publish says so)."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
    )
    client.username_pw_set(user, USERS[user])
    return client


def publish_as(
    port: int, user: str, messages: Sequence[tuple[str, bytes]], *, retain: bool = False
) -> list[ReasonCode]:
    """Publish each (topic, payload) at QoS 1 as ``user``; the broker's PUBACK reasons,
    in order, once it has answered them all."""
    reasons: dict[int, ReasonCode] = {}
    done = threading.Condition()

    def acked(_c: object, _u: object, mid: int, reason: ReasonCode, _p: object) -> None:
        with done:
            reasons[mid] = reason
            done.notify_all()

    client = client_of(user)
    client.on_publish = acked
    client.connect("127.0.0.1", port)
    client.loop_start()
    mids = [client.publish(topic, payload, qos=1, retain=retain).mid for topic, payload in messages]
    with done:
        assert done.wait_for(lambda: len(reasons) == len(mids), 30), "no PUBACK"
    hang_up(client)
    return [reasons[mid] for mid in mids]


def tampered(event: Event, **fields: str) -> bytes:
    """``event`` as JSON with ``fields`` set past its validation, as an attacker sends it."""
    return json.dumps({**json.loads(event.to_json()), **fields}).encode()
