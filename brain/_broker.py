"""The embedded broker: a Mosquitto child process for a run with no broker given.

Why Mosquitto and not a pure-Python broker (amqtt): it is the broker production
uses (same ACL, MQTT 5 shared subscriptions for several cortexes), and it moved
several times more messages per second than amqtt in ``benchmarks/bus.py``; see
the README's "Broker" section for the figures.
"""

from __future__ import annotations

import shutil
import socket
import time
from functools import partial
from pathlib import Path

from brain._bus import DEFAULT_MAX_PAYLOAD
from brain._errors import BrainError
from brain._supervisor import ChildSpec

#: Debian installs it outside a normal user's PATH.
_SEARCH_PATH = "/usr/sbin:/usr/local/sbin:/usr/bin:/usr/local/bin"


class BrokerError(BrainError, RuntimeError):
    """No broker can be had; the message says how to get one."""


def is_listening(host: str, port: int, *, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def find_mosquitto() -> str:
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path=_SEARCH_PATH)
    if found is None:
        raise BrokerError(
            "no MQTT broker is running and Mosquitto is not installed to start one: "
            "install it (`apt-get install mosquitto`, `brew install mosquitto`) or pass --mqtt URL"
        )
    return found


def embedded_config(host: str, port: int) -> str:
    """An open, in-memory broker for one run on this machine."""
    return "\n".join(
        [
            f"listener {port} {host}",
            "allow_anonymous true",
            "persistence false",
            f"max_packet_size {DEFAULT_MAX_PAYLOAD + 1024}",
            # A small message right after a frame would otherwise wait for the frame's
            # acknowledgement (Nagle's algorithm): up to 40 ms behind it.
            "set_tcp_nodelay true",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_timestamp false",
            "",
        ]
    )


def embedded_broker(host: str, port: int, *, config_dir: Path, alone: bool = False) -> ChildSpec:
    """A supervised child running Mosquitto on ``host:port``, its config in ``config_dir``.

    Beside nodes it is infrastructure (first up, last down); ``alone`` makes it the
    main child, as in ``brain broker``.
    """
    config = config_dir / "mosquitto.conf"
    config.write_text(embedded_config(host, port), encoding="utf-8")
    return ChildSpec(
        name="broker",
        argv=[find_mosquitto(), "-c", str(config)],
        infrastructure=not alone,
        wait_ready=partial(wait_until_listening, host, port),
    )


def wait_until_listening(host: str, port: int, *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not is_listening(host, port, timeout=0.2):
        if time.monotonic() > deadline:
            raise BrokerError(
                f"the embedded broker did not start listening on {host}:{port}; "
                "is the port taken by another program?"
            )
        time.sleep(0.05)
