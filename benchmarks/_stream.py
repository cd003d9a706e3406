"""What the cortex benchmarks share: cameras streaming image events, perceptions timed."""

from __future__ import annotations

import io
import itertools
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image
from skimage import data

from schemas import ImageEvent, Perception


class Watcher:
    """Perceptions as they arrive, with the time each frame was published."""

    def __init__(self, port: int) -> None:
        self.sent: dict[str, float] = {}
        self.latencies: dict[str, float] = {}
        #: Each perception's arrival and its batch's classifying time (ms), in order.
        self.perceived: list[tuple[float, float]] = []
        self.arrived = threading.Condition()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe("brain/perceptions/camera/+", qos=1)

    def _on_message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        perception = Perception.model_validate_json(message.payload)
        cause, now = perception.cause, time.perf_counter()
        with self.arrived:
            self.latencies[cause] = now - self.sent[cause]
            self.perceived.append((now, perception.inference_ms or 0.0))
            self.arrived.notify_all()

    def classifying(self, since: float) -> tuple[float, float]:
        """Milliseconds a frame took the cortex to classify (scaling and the engine), and
        the share of its time that took, over the batches perceived since ``since`` but
        the first, which began before its arrival: a batch's perceptions arrive one after
        the other, each with the batch's time."""
        arrivals = [(arrived, ms) for arrived, ms in self.perceived if arrived >= since]
        batches = [list(batch) for _ms, batch in itertools.groupby(arrivals, key=lambda a: a[1])]
        first, rest = batches[0], batches[1:]
        milliseconds = sum(batch[0][1] for batch in rest)
        frames = sum(len(batch) for batch in rest)
        seconds = rest[-1][-1][0] - first[-1][0]
        return milliseconds / frames, milliseconds / 1000 / seconds

    def show(self, frame: ImageEvent) -> None:
        self.sent[frame.id] = time.perf_counter()
        self.client.publish(f"brain/senses/camera/{frame.source}/image", frame.to_json(), qos=0)


def streamed(
    watcher: Watcher, cameras: list[list[ImageEvent]], rate: float, seconds: float
) -> float:
    """Cameras streaming together (``rate`` frames/s in all), faster than the cortex can
    follow, as real ones do: frames/s perceived, once the first perceptions are out."""
    per_camera = rate / len(cameras)
    began = time.perf_counter()
    sent = 0
    while (elapsed := time.perf_counter() - began) < seconds:
        for camera in cameras:
            frame = camera[sent % len(camera)]
            watcher.show(frame.model_copy(update={"id": f"{frame.id}-{sent}", "seq": sent}))
        sent += 1
        time.sleep(max(0.0, sent / per_camera - elapsed))
    time.sleep(3)  # the frames still waiting are classified before the next measure
    # Each perception as it arrived, but for the first 2 s (the pipe fills). Not a frame's
    # latency added to when it was sent: a flood sends the frames of the one before again,
    # under the same ids, and a frame the cortex skipped then (a camera's older one)
    # moved the first one's arrival into this flood: rates came out up to 8 % high.
    counted = [arrived for arrived, _ms in watcher.perceived if arrived >= began + 2]
    return (len(counted) - 1) / (counted[-1] - counted[0])


def frames(count: int, source: str) -> list[ImageEvent]:
    pictures = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    events = []
    for n in range(count):
        encoded = io.BytesIO()
        Image.fromarray(pictures[n % 4]).resize((640, 480)).save(encoded, "JPEG", quality=80)
        events.append(
            ImageEvent(
                source=source,
                content_type="image/jpeg",
                data=encoded.getvalue(),
                width=640,
                height=480,
                seq=n,
            )
        )
    return events


def paced(watcher: Watcher, rate: float, seconds: float, source: str) -> list[float]:
    """One camera at ``rate`` frames/s for ``seconds``: each perceived frame's latency, ms."""
    began = time.perf_counter()
    sent = []
    for n, frame in enumerate(frames(int(rate * seconds), source)):
        time.sleep(max(0.0, n / rate - (time.perf_counter() - began)))
        watcher.show(frame)
        sent.append(frame.id)
    time.sleep(2)
    return [watcher.latencies[i] * 1000 for i in sent if i in watcher.latencies]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 1)
