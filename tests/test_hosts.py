"""Beyond one machine: nodes on several hosts around one broker, two cortexes sharing the
frames. The hosts are network namespaces this test makes, joined by veth pairs and given
loopback-range addresses (route_localnet), so nothing leaves this machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from brain._broker import embedded_config, find_mosquitto
from brain.testing import free_port
from schemas import Perception
from tests.support import TEST_PLUGINS, NodeProcess

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None,
    reason="network namespaces need root and iproute2",
)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def inside(space: str, *argv: str) -> list[str]:
    """``argv`` run on the host ``space``."""
    return ["ip", "netns", "exec", space, *argv]


def allow_loopback_addresses(space: str, interface: str) -> None:
    # Loopback-range addresses on a veth are martians unless the host allows them.
    sysctl = f"net.ipv4.conf.{interface}.route_localnet=1"
    subprocess.run(inside(space, "sysctl", "-qw", sysctl), check=True, timeout=30)


@dataclass
class Hosts:
    """A broker host and hosts linked to it, each link its own /30 of 127.1.N.0."""

    prefix: str
    names: list[str]

    def ns(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def link(self, name: str) -> str:
        return f"{self.prefix[:4]}{name}"  # the host's end of its link to the broker

    def broker_address(self, name: str) -> str:
        return f"127.1.{self.names.index(name) + 1}.1"

    def cut(self, name: str) -> None:
        ip("-n", self.ns(name), "link", "set", self.link(name), "down")

    def mend(self, name: str) -> None:
        ip("-n", self.ns(name), "link", "set", self.link(name), "up")


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    made = Hosts(prefix=f"b{os.getpid() % 10_000}-", names=["camera", "cortex1", "cortex2"])
    spaces = [made.ns("broker")] + [made.ns(n) for n in made.names]
    try:
        ip("netns", "add", spaces[0])
    except subprocess.CalledProcessError as error:
        pytest.skip(f"cannot make network namespaces here ({error.stderr.decode().strip()})")
    try:
        for space in spaces[1:]:
            ip("netns", "add", space)
        for space in spaces:
            ip("-n", space, "link", "set", "lo", "up")
            allow_loopback_addresses(space, "all")
        for n, name in enumerate(made.names, start=1):
            hub, host = made.ns("broker"), made.ns(name)
            here, there = f"{made.prefix[:4]}b{n}", made.link(name)
            ip("link", "add", here, "netns", hub, "type", "veth", "peer", there, "netns", host)
            ends = ((hub, here, f"127.1.{n}.1/30"), (host, there, f"127.1.{n}.2/30"))
            for space, end, address in ends:
                allow_loopback_addresses(space, end)
                ip("-n", space, "addr", "add", address, "dev", end)
                ip("-n", space, "link", "set", end, "up")
        yield made
    finally:
        for space in spaces:
            subprocess.run(["ip", "netns", "del", space], capture_output=True, timeout=30)


def test_two_cortexes_on_two_hosts_share_the_frames_and_one_may_go_away(
    hosts: Hosts, brain_process: Callable[..., NodeProcess], tmp_path: Path
) -> None:
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(embedded_config("0.0.0.0", port))
    broker = subprocess.Popen(
        inside(hosts.ns("broker"), find_mosquitto(), "-c", str(config)), stderr=subprocess.DEVNULL
    )
    helpers = [broker]  # killed at the end, with the namespaces
    frames = tmp_path / "frames"
    frames.mkdir()
    Image.new("RGB", (160, 120), (30, 30, 220)).save(frames / "blue.png")

    def on(host: str, *args: str) -> NodeProcess:
        url = f"mqtt://{hosts.broker_address(host)}:{port}"
        return brain_process("--mqtt", url, *args, host=hosts.ns(host))

    try:
        cortexes = [
            on(
                name,
                "--plugins-dir",
                str(TEST_PLUGINS),
                "--set",
                "cortex.model=colours",
                "--set",
                "cortex.keepalive=2",
                "node",
                "cortex",
            )
            for name in ("cortex1", "cortex2")
        ]
        for node in cortexes:
            node.wait_for_log('"event": "connected"')  # the broker is up
        perceived: list[str] = []
        arrived = threading.Condition()
        everything = ("-q", "1", "-t", "brain/perceptions/camera/#")
        watcher = subprocess.Popen(
            inside(hosts.ns("broker"), "mosquitto_sub", "-p", str(port), *everything),
            stdout=subprocess.PIPE,
            text=True,
        )
        helpers.append(watcher)

        def watch() -> None:
            assert watcher.stdout is not None
            for line in watcher.stdout:
                with arrived:
                    perceived.append(Perception.model_validate_json(line).cause)
                    arrived.notify_all()

        def wait_for(count: int, timeout: float = 120) -> None:
            with arrived:
                assert arrived.wait_for(lambda: len(perceived) >= count, timeout), (
                    f"{len(perceived)} of {count} perceptions"
                )

        threading.Thread(target=watch, daemon=True).start()
        on(
            "camera",
            "--set",
            f'camera.source="{frames}"',
            "--set",
            "camera.fps=8",
            "--set",
            "camera.motion=false",  # a slide show of plain colours: every frame, not changes
            "node",
            "camera",
        )

        wait_for(40)  # both up: the frames are shared...
        hosts.cut("cortex1")
        cut_at = len(perceived)
        wait_for(cut_at + 40)  # ...and the other one goes on alone once the broker sees it gone
        hosts.mend("cortex1")
        cortexes[0].wait_for_log('"event": "reconnected"', timeout=120)
        wait_for(len(perceived) + 40)
        # No frame was classified twice, by either, at any time.
        twice = [cause for cause, seen in Counter(perceived).items() if seen > 1]
        assert twice == []
    finally:
        for helper in helpers:
            helper.kill()
            helper.wait()
