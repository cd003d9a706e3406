"""The faults a home CCTV meets, on the production broker and real processes: a whole
run's figures.

`brain run camera cortex alerts recorder` (the cortex with a small deterministic model
from tests/plugins, so the run is about faults, not inference), each node logged in as
its own user on a Mosquitto with the shipped config and ACL, watches a folder of red
frames; every perception fires an alert, delivered to a local webhook that takes 1.5 s
an alert. The recorder writes to a small file system of its own (a tmpfs). Then, each
bounded in count and time, all on 127.0.0.1:

1. the broker is killed (kill -9 and SIGTERM in turn) and started again;
2. the cortex and the alerts node are killed with kill -9;
3. bad inputs are published where the nodes read, each by the user that may publish
   there: random bytes, broken and deeply nested JSON, decompression bombs, oversized
   texts, wrong schemas;
4. path attacks: clips and perceptions whose ids name files outside brain's folders;
5. takeovers: another user connects with the alerts node's client ids, again and again;
6. the recorder's disk is filled for a while, then freed.

It prints, as JSON: restarts and kills survived, recovery times (from a broker's
fault to the next perception; from a node's kill to its `online` again), bad
inputs tried and the crashes they caused (goal 0), alerts fired, delivered,
duplicated and lost (goal 0 lost), files written outside their folders (goal 0),
connections of the alerts node lost to takeovers (goal 0), and alerts missing from
the recorder's index after the full disk (goal 0).

    python -m benchmarks.faults [--broker-restarts 4] [--kills 4] [--bad-inputs 300]
        [--path-attacks 20] [--takeovers 10] [--full-disk-seconds 20]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from PIL import Image

from benchmarks._stream import percentile
from benchmarks._support import ROOT
from brain.recording import Events
from brain.testing import Mosquitto
from schemas import Clip, ImageEvent, Label, Perception, TranscriptEvent
from tests.production import client_of, production_config, publish_as, tampered
from tests.shapes import bomb_jpeg
from tests.support import hang_up
from tests.webhook import Webhook

PLUGINS = ROOT / "tests" / "plugins"


class Watch:
    """Everything on the bus, as a plain paho client that reconnects by itself."""

    def __init__(self, port: int) -> None:
        self.perceived: list[float] = []
        self.alerts: set[str] = set()
        self.errors = 0
        self.online: list[tuple[str, float]] = []  # (node, when it said so)
        self.offline: list[tuple[str, float]] = []  # (node, when its will said so)
        self.client = client_of("watch")
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe("brain/#", qos=1)
        self.client.reconnect_delay_set(1, 1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        topic = message.topic
        if topic.startswith("brain/perceptions/camera/"):
            self.perceived.append(time.monotonic())
        elif topic.startswith("brain/alerts/"):
            self.alerts.add(json.loads(message.payload)["id"])
        elif topic.startswith("brain/errors/"):
            self.errors += 1
        elif topic.startswith("brain/status/") and message.payload == b"online":
            self.online.append((topic.rsplit("/", 1)[1], time.monotonic()))
        elif topic.startswith("brain/status/") and message.payload == b"offline":
            self.offline.append((topic.rsplit("/", 1)[1], time.monotonic()))

    def next_perception_after(self, moment: float) -> float:
        """Seconds from ``moment`` to the first perception after it."""
        return _first_after(moment, lambda: self.perceived)

    def back_online_after(self, node: str, moment: float) -> float:
        """Seconds from ``moment`` until ``node`` says `online` again."""
        return _first_after(moment, lambda: [t for n, t in self.online if n == node])


def _first_after(moment: float, times: Callable[[], list[float]], timeout: float = 120) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        later = [t for t in times() if t > moment]
        if later:
            return later[0] - moment
        time.sleep(0.02)
    raise TimeoutError(f"nothing within {timeout} s of the fault")


def children(supervisor: subprocess.Popen[str], log: list[str]) -> dict[str, int]:
    """Node name -> pid of its latest start, from the supervisor's log."""
    pids: dict[str, int] = {}
    for line in log:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") in ("started", "restarted"):
            pids[event["child"]] = int(event["pid"])
    return pids


def bad_payloads(count: int, rng: random.Random) -> list[tuple[str, bytes]]:
    good = ImageEvent(
        source="door", content_type="image/jpeg", data=bomb_jpeg(16, 16), width=16, height=16, seq=0
    )
    kinds = [
        lambda: rng.randbytes(rng.randint(0, 3000)),
        lambda: good.to_json()[: rng.randint(1, 200)],
        lambda: b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        lambda: good.model_copy(update={"data": bomb_jpeg()}).to_json(),
        lambda: json.dumps({**json.loads(good.to_json()), "schema": "brain.mention/1"}).encode(),
        lambda: json.dumps(
            {**json.loads(TranscriptEvent(source="k", text="x").to_json()), "text": "w " * 600_000}
        ).encode(),
    ]
    topics = [
        "brain/senses/camera/door/image",
        "brain/senses/microphone/kitchen/transcript",
        "brain/perceptions/camera/door",
    ]
    return [(rng.choice(topics), rng.choice(kinds)()) for _ in range(count)]


#: Who may publish on each topic the bad inputs go to.
PUBLISHER = {"senses/camera": "camera", "senses/microphone": "microphone", "perceptions": "cortex"}


def send_bad_inputs(port: int, count: int) -> None:
    by_user: dict[str, list[tuple[str, bytes]]] = {}
    for topic, payload in bad_payloads(count, random.Random(7)):
        user = next(u for prefix, u in PUBLISHER.items() if topic.startswith(f"brain/{prefix}"))
        by_user.setdefault(user, []).append((topic, payload))
    for user, messages in by_user.items():
        publish_as(port, user, messages)


def path_attacks(port: int, target: Path, count: int) -> None:
    """Clips and perceptions whose ids name files in ``target``, absolute and relative."""
    clip = Clip(source="door", alert="x", rule="red", data=b"\0" * 1024, seconds=1, frames=1,
                width=8, height=8)  # fmt: skip
    seen = Perception(source="door", cause="x", sense="camera", kind="vision", text="I see red.",
                      labels=[Label(label="red", score=1.0)])  # fmt: skip
    clips, perceptions = [], []
    for n in range(count):
        name = str(target / f"pwn{n}") if n % 2 else f"{'../' * 12}{target}/pwn{n}"
        clips.append(("brain/clips/red", tampered(clip, alert=name)))
        perceptions.append(("brain/perceptions/camera/door", tampered(seen, id=name)))
    publish_as(port, "alerts", clips)  # the users that may publish there
    publish_as(port, "cortex", perceptions)


def takeovers(port: int, count: int) -> None:
    """Another user connects with the client ids the alerts node would use."""
    for n in range(count):
        client_id = ("alerts", f"brain-brain-alerts-{socket.gethostname()}")[n % 2]
        thief = client_of("camera", client_id)
        thief.connect("127.0.0.1", port)
        thief.loop_start()
        time.sleep(2)  # 10 in 20 s, as the attack that took alerts from 30/30 to 12/30
        hang_up(thief)


def fill(disk: Path, seconds: float) -> None:
    """Fill the recorder's disk but a few kB for ``seconds``, then free it."""
    filler = disk / "filler"
    with filler.open("wb") as file:
        with contextlib.suppress(OSError):
            while True:
                file.write(b"\0" * 65536)
                file.flush()
        with contextlib.suppress(OSError):
            file.close()
    time.sleep(seconds)
    filler.unlink()


def small_disk(folder: Path) -> Path | None:
    """A 16 MB file system of the run's own for the recorder (None where it cannot mount)."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)],
                             capture_output=True)  # fmt: skip
    return folder if mounted.returncode == 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker-restarts", type=int, default=4)
    parser.add_argument("--kills", type=int, default=4)
    parser.add_argument("--bad-inputs", type=int, default=300)
    parser.add_argument("--path-attacks", type=int, default=20)
    parser.add_argument("--takeovers", type=int, default=10)
    parser.add_argument("--full-disk-seconds", type=float, default=20.0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="brain-bench-"))
    frames = workdir / "door"
    frames.mkdir()
    Image.new("RGB", (320, 240), (220, 30, 30)).save(frames / "red.jpg")
    attacked = workdir / "attacked"  # where the path attacks aim
    disk = small_disk(workdir / "disk")
    recordings = (disk or workdir) / "recordings"
    hook = Webhook(delay=1.5)
    hook.up()
    broker = Mosquitto(workdir, config=production_config(workdir))
    broker.start()
    (workdir / "brain.toml").write_text(
        f'[camera]\nsource = "{frames}"\nname = "door"\nfps = 2\n'
        '[cortex]\nmodel = "colours"\n'
        f'[alerts]\noutbox = "{workdir / "outbox.sqlite3"}"\nclips = "{workdir / "clips"}"\n'
        "clip_before = 1\nclip_after = 1\n"
        '[[alerts.rules]]\nname = "red"\nlabels = ["red"]\n'
        "window = 1\ncooldown = 2\nmin_score = 0.5\n"
        f'targets = ["{hook.url}"]\n'
        f'[recorder]\ndirectory = "{recordings}"\nmin_free_mb = 1\n'
    )
    log: list[str] = []
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "brain", "--mqtt", f"mqtt://127.0.0.1:{broker.port}",
         "--passwords", str(workdir / "passwords"), "--config", str(workdir / "brain.toml"),
         "--plugins-dir", str(PLUGINS), "run", "camera", "cortex", "alerts", "recorder"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "BRAIN_LOG_FORMAT": "json"},
    )  # fmt: skip
    assert supervisor.stdout is not None
    threading.Thread(target=lambda: log.extend(supervisor.stdout or []), daemon=True).start()
    watch = Watch(broker.port)
    watch.next_perception_after(time.monotonic())
    recoveries: dict[str, list[float]] = {"broker": [], "node": []}
    try:
        for n in range(args.broker_restarts):
            broker.stop(signal.SIGKILL if n % 2 == 0 else signal.SIGTERM)
            time.sleep(1)
            broker.start()
            recoveries["broker"].append(watch.next_perception_after(time.monotonic()))
        for n in range(args.kills):
            victim = ("cortex", "alerts")[n % 2]
            killed = time.monotonic()
            os.kill(children(supervisor, log)[victim], signal.SIGKILL)
            recoveries["node"].append(watch.back_online_after(victim, killed))
            time.sleep(1)  # the log names the new process before the next kill
        restarts_before = sum('"restarted"' in line for line in log)
        send_bad_inputs(broker.port, args.bad_inputs)
        path_attacks(broker.port, attacked, args.path_attacks)
        calm = watch.next_perception_after(time.monotonic() + 3)  # still perceiving after
        crashes = sum('"restarted"' in line for line in log) - restarts_before
        takeover_started = time.monotonic()
        takeovers(broker.port, args.takeovers)
        taken_over = [t for node, t in watch.offline if node == "alerts" and t > takeover_started]
        if disk is not None:
            fill(disk, args.full_disk_seconds)
        time.sleep(2)
        deadline = time.monotonic() + 120
        while not watch.alerts <= hook_ids(hook) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=30)
        broker.stop(signal.SIGTERM)
        hook.down()
    delivered = hook_ids(hook)
    index = Events(recordings)
    indexed = {happened.id for happened in index.list(limit=1_000_000)}
    index.close()
    if disk is not None:
        subprocess.run(["umount", "-l", str(disk)], check=False)
    print(
        json.dumps(
            {
                "broker_restarts_survived": len(recoveries["broker"]),
                "node_kills_survived": len(recoveries["node"]),
                "recovery_s": {
                    name: {"p50": percentile(times, 0.5), "p99": percentile(times, 0.99)}
                    for name, times in recoveries.items()
                },
                "bad_inputs_tried": args.bad_inputs,
                "error_events": watch.errors,
                "crashes_from_bad_inputs": crashes,
                "goal_crashes": 0,
                "perceiving_after_bad_inputs_s": round(calm, 2),
                "path_attacks_tried": 2 * args.path_attacks,
                "files_written_outside": len(list(attacked.rglob("*"))) if attacked.exists() else 0,
                "goal_files_written_outside": 0,
                "takeover_attempts": args.takeovers,
                "alerts_connections_lost_to_takeovers": len(taken_over),
                "goal_connections_lost": 0,
                "full_disk_s": args.full_disk_seconds if disk is not None else "no tmpfs here",
                "alerts_fired": len(watch.alerts),
                "alerts_delivered": len(delivered),
                "alerts_duplicated": len(hook.received) - len(delivered),
                "alerts_lost": len(watch.alerts - delivered),
                "goal_alerts_lost": 0,
                "alerts_missing_from_index": len(watch.alerts - indexed),
                "goal_alerts_missing": 0,
            },
            indent=2,
        )
    )


def hook_ids(hook: Webhook) -> set[str]:
    return {h["message"].rsplit("alert ", 1)[1].split()[0] for h in hook.received}


if __name__ == "__main__":
    main()
