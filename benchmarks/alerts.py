"""Time from a perception on the bus to the webhook receiving its alert.

A fresh Mosquitto, the alerts node as a process (as `brain run alerts` starts it)
and a JSON webhook on 127.0.0.1 in this process. One rule with a snapshot, one
without; window 1 and no cooldown, so every perception fires. The bare library
line is apprise sending the same notification straight to the same webhook: the
difference is what the bus, the rules and the outbox cost.

    python -m benchmarks.alerts [--alerts 40]

Prints JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import apprise
import paho.mqtt.client as mqtt
from apprise.attachment.memory import AttachMemory
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image

from benchmarks._support import start_mosquitto, start_node
from brain import testing
from brain.testing import free_port
from schemas import ImageEvent, Label, Perception


class Arrivals:
    """When each marked notification reached the webhook."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.changed = threading.Condition()

    def wait(self, marker: str, timeout: float = 30) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: marker in self.at, timeout):
                raise TimeoutError(f"no webhook for {marker}")
            return self.at[marker]


def webhook(port: int, arrivals: Arrivals) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            now = time.perf_counter()
            self.send_response(200)
            self.end_headers()
            marker = body["message"].split()[0]
            with arrivals.changed:
                arrivals.at[marker] = now
                arrivals.changed.notify_all()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def jpeg_frame() -> ImageEvent:
    return testing.frame((90, 140, 200), size=(640, 480))


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
    }


def through_brain(client: mqtt.Client, arrivals: Arrivals, label: str, count: int) -> list[float]:
    latencies = []
    for n in range(count):
        frame = jpeg_frame()
        client.publish("brain/senses/camera/door/image", frame.to_json(), qos=1).wait_for_publish()
        marker = f"{label}-{n}"
        perception = Perception(
            source="door",
            cause=frame.id,
            sense="camera",
            kind="vision",
            labels=[Label(label=label, score=0.9)],
            text=marker,
        )
        started = time.perf_counter()
        client.publish("brain/perceptions/camera/door", perception.to_json(), qos=1)
        latencies.append(arrivals.wait(marker) - started)
    return latencies


def bare_apprise(url: str, arrivals: Arrivals, snapshot: bytes | None, count: int) -> list[float]:
    latencies = []
    for n in range(count):
        marker = f"bare{'snap' if snapshot else ''}-{n}"
        notifier = apprise.Apprise()
        notifier.add(url)
        attach = None
        if snapshot:
            attach = apprise.AppriseAttachment()
            attach.add(AttachMemory(content=snapshot, name="snapshot.jpg", mimetype="image/jpeg"))
        started = time.perf_counter()
        notifier.notify(title="brain: bench at door", body=f"{marker} (person, 90%)", attach=attach)
        latencies.append(arrivals.wait(marker) - started)
    return latencies


def start_alerts(workdir: Path, port: int, hook_url: str) -> subprocess.Popen[str]:
    rules = [("snapshot", "person", True), ("plain", "visitor", False)]
    lines = ["[alerts]", f"outbox = {json.dumps(str(workdir / 'outbox.sqlite3'))}"]
    for name, label, snapshot in rules:
        lines += [
            "[[alerts.rules]]",
            f'name = "{name}"',
            f'labels = ["{label}"]',
            "window = 1",
            "cooldown = 0",
            f"snapshot = {str(snapshot).lower()}",
            f"targets = [{json.dumps(hook_url)}]",
        ]
    (workdir / "brain.toml").write_text("\n".join(lines) + "\n")
    return start_node(
        port, "alerts", "--config", str(workdir / "brain.toml"), ready='"event": "watching"'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=40)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="brain-bench-"))
    mqtt_port, broker = start_mosquitto(workdir)
    hook_port = free_port()
    arrivals = Arrivals()
    server = webhook(hook_port, arrivals)
    hook_url = f"json://127.0.0.1:{hook_port}/hook"
    node = start_alerts(workdir, mqtt_port, hook_url)
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", mqtt_port)
    client.loop_start()
    time.sleep(0.5)
    try:
        snapshot = jpeg_frame()
        small = io.BytesIO()
        with Image.open(io.BytesIO(snapshot.data)) as picture:
            picture.thumbnail((320, 320))
            picture.save(small, format="JPEG", quality=80)
        figures = {
            "brain_with_snapshot": percentiles(
                through_brain(client, arrivals, "person", args.alerts)
            ),
            "brain_without_snapshot": percentiles(
                through_brain(client, arrivals, "visitor", args.alerts)
            ),
            "bare_apprise_with_snapshot": percentiles(
                bare_apprise(hook_url, arrivals, small.getvalue(), args.alerts)
            ),
            "bare_apprise_without_snapshot": percentiles(
                bare_apprise(hook_url, arrivals, None, args.alerts)
            ),
        }
    finally:
        client.loop_stop()
        node.terminate()
        node.wait()
        server.shutdown()
        broker.terminate()
        broker.wait()
    ratios = {
        f"ratio_p50_{kind}": round(
            figures[f"brain_{kind}"]["p50_ms"] / figures[f"bare_apprise_{kind}"]["p50_ms"], 2
        )
        for kind in ("with_snapshot", "without_snapshot")
    }
    print(json.dumps({"alerts_per_case": args.alerts, **figures, **ratios}, indent=2))


if __name__ == "__main__":
    main()
