"""The page's round trip, from capturing a frame to showing its perception; and the live
grid's latency, from a camera's frame published to its drawing (``_live_grid``).

Pages run in Debian's headless Chromium with a fake webcam and send 5 frames/s;
a cortex that answers at once (a plain paho client) turns each image event into a
perception. Measured by the page itself, for one page and for four at once,
against the same page talking to a bare aiohttp websocket that answers each frame
at once (no bus, no node): what the browser node and the bus add.

    python -m benchmarks.browser [--seconds 15]

The live grid: 8 cameras at 2 frames/s on one page at 1280 x 900; goal: p99 under 500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from aiohttp import WSMsgType, web
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Browser, sync_playwright

from benchmarks._live_grid import bare_live_server, cameras_publishing, live_figures
from benchmarks._support import cpu_seconds, serve_page, start_mosquitto, start_node
from brain.testing import free_port
from schemas import Label, Perception
from tests.chromium import blue_frames, launch, write_y4m

FPS = 5
TOKEN = "benchmark-token-0123456789"


def instant_cortex(port: int) -> mqtt.Client:
    """Answers every image event at once with a perception of the same source."""
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)

    def answer(_c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        frame = json.loads(message.payload)
        perception = Perception(
            source=frame["source"],
            cause=frame["id"],
            sense="camera",
            kind="vision",
            labels=[Label(label="blue", score=0.9)],
            text="I see a blue.",
        )
        client.publish(f"brain/perceptions/camera/{frame['source']}", perception.to_json(), qos=1)

    client.on_message = answer
    client.connect("127.0.0.1", port)
    client.subscribe("brain/senses/camera/+/image", qos=0)
    client.loop_start()
    return client


def bare_server(port: int) -> Callable[[], None]:
    """The same page served by bare aiohttp, whose websocket answers each frame at once."""
    perception = {"kind": "vision", "labels": [{"label": "blue", "score": 0.9}]} | {
        "text": "I see a blue.",
        "sense": "camera",
    }

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        seq = 0
        said = {
            "type": "perception",
            "perception": {**perception, "source": request.query["source"]},
        }
        async for message in socket:
            if message.type is WSMsgType.BINARY:
                await socket.send_str(json.dumps({**said, "seq": seq}))
                seq += 1
        return socket

    return serve_page(port, {"/ws": websocket}, loop=asyncio.new_event_loop())


def round_trips(chromium: Browser, address: str, pages: int, seconds: float) -> list[float]:
    """Milliseconds per frame, from every page, over ``seconds`` after a warm-up second."""
    contexts = [chromium.new_context() for _ in range(pages)]
    opened = []
    for n, context in enumerate(contexts):
        page = context.new_page()
        page.goto(f"{address}&source=bench{n}")
        page.wait_for_function("() => window.brain && window.brain.state.seq > 0")
        page.evaluate(f"window.brain.setFps({FPS})")
        opened.append(page)
    opened[0].wait_for_timeout(1000)  # warm
    for page in opened:
        page.evaluate("window.brain.state.roundTrips.length = 0")
    opened[0].wait_for_timeout(seconds * 1000)
    times = [t for page in opened for t in page.evaluate("window.brain.state.roundTrips")]
    for context in contexts:
        context.close()
    return times


def summary(times: list[float], pages: int, seconds: float) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        "frames_per_s_per_page": round(len(ordered) / pages / seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="brain-bench-"))
    video = write_y4m(workdir / "webcam.y4m", blue_frames(30, width=640, height=480), fps=30)
    port, broker = start_mosquitto(workdir)
    web_port, bare_port, bare_live_port = free_port(), free_port(), free_port()
    node = start_node(
        port,
        "browser",
        "--set",
        f"browser.port={web_port}",
        "--set",
        f'browser.token="{TOKEN}"',
        ready='"event": "open the page"',
    )
    cortex = instant_cortex(port)
    stop_bare = bare_server(bare_port)
    stop_bare_live = bare_live_server(bare_live_port, port)
    figures: dict[str, object] = {"fps_per_page": FPS}
    try:
        with sync_playwright() as playwright:
            chromium = launch(playwright, video=video)
            for pages in (1, 4):
                for name, address in (
                    ("brain", f"http://127.0.0.1:{web_port}/?token={TOKEN}"),
                    ("bare_aiohttp", f"http://127.0.0.1:{bare_port}/?token={TOKEN}"),
                ):
                    cpu_before = cpu_seconds(node.pid)
                    times = round_trips(chromium, address, pages, args.seconds)
                    figures[f"{name}_{pages}_pages"] = summary(times, pages, args.seconds)
                    if name == "brain":  # what the node costs: CPU per frame it relays
                        used_ms = (cpu_seconds(node.pid) - cpu_before) * 1000
                        figures[f"node_cpu_ms_per_frame_{pages}_pages"] = round(
                            used_ms / max(1, len(times)), 2
                        )
            with cameras_publishing(port):
                figures["live_grid"] = live_figures(
                    chromium,
                    node=f"http://127.0.0.1:{web_port}/?token={TOKEN}",
                    bare=f"http://127.0.0.1:{bare_live_port}/?token={TOKEN}",
                    seconds=args.seconds,
                )
            chromium.close()
    finally:
        stop_bare()
        stop_bare_live()
        cortex.loop_stop()
        node.terminate()
        node.wait()
        broker.terminate()
        broker.wait()
    for pages in (1, 4):
        ours, bare = figures[f"brain_{pages}_pages"], figures[f"bare_aiohttp_{pages}_pages"]
        assert isinstance(ours, dict) and isinstance(bare, dict)
        figures[f"p50_ratio_{pages}_pages"] = round(ours["p50_ms"] / bare["p50_ms"], 2)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
