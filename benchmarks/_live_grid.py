"""The live grid's latency: from a camera's frame published to its drawing in the page.

Eight cameras publish real JPEG frames (640 x 480) at 2 a second each; one page shows
them all on its Live view, and notes for each frame it draws the milliseconds since the
frame was made (``window.brain.latencies``). The same page is measured against a bare
server doing the same work by hand (a paho client keeping each camera's newest frame,
aiohttp telling the page and serving the frame), and Chromium's CPU is measured alongside.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
from aiohttp import web
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Browser

from benchmarks._support import cpu_seconds, descendants, serve_page
from brain import testing
from schemas import ImageEvent

CAMERAS = 8
CAMERA_FPS = 2


@contextmanager
def cameras_publishing(port: int) -> Iterator[None]:
    """``CAMERAS`` cameras publishing frames at ``CAMERA_FPS``, each stamped as it is sent."""
    picture = testing.frame((30, 60, 200), size=(640, 480)).data
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    stop = threading.Event()

    def publish() -> None:
        seq = 0
        while not stop.is_set():
            for camera in range(CAMERAS):  # spread over the period, as real cameras are
                frame = ImageEvent(
                    source=f"cam{camera}", content_type="image/jpeg", data=picture,
                    width=640, height=480, seq=seq,
                )  # fmt: skip
                client.publish(f"brain/senses/camera/cam{camera}/image", frame.to_json())
                stop.wait(1 / CAMERA_FPS / CAMERAS)
            seq += 1

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        client.loop_stop()
        client.disconnect()


def bare_live_server(port: int, broker_port: int) -> Callable[[], None]:
    """The page's files, its websocket telling of each frame, and each camera's newest
    frame: paho and aiohttp by hand, no node, no contract, no inbox."""
    newest: dict[str, tuple[str, bytes]] = {}
    sockets: set[web.WebSocketResponse] = set()
    loop = asyncio.new_event_loop()

    def heard(_c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        frame = json.loads(message.payload)
        camera = frame["source"]
        newest[camera] = (frame["id"], base64.b64decode(frame["data"]))
        said = {"camera": camera, "id": frame["id"], "at": frame["ts"], "fps": CAMERA_FPS}
        notice = json.dumps({"type": "frame", "online": True, **said})
        for socket in list(sockets):
            asyncio.run_coroutine_threadsafe(socket.send_str(notice), loop)

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_str(json.dumps({"type": "welcome", "source": "bench"}))
        sockets.add(socket)
        async for _ in socket:
            pass
        sockets.discard(socket)
        return socket

    async def frame(request: web.Request) -> web.Response:
        frame_id, data = newest[request.match_info["camera"]]
        return web.Response(body=data, content_type="image/jpeg", headers={"X-Frame-Id": frame_id})

    async def cameras(_request: web.Request) -> web.Response:
        return web.json_response({"cameras": [], "stale_after": 30})

    routes = {"/ws": websocket, "/live": cameras, "/live/{camera}": frame}
    stop_serving = serve_page(port, routes, loop=loop)
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.on_message = heard
    client.connect("127.0.0.1", broker_port)
    client.subscribe("brain/senses/camera/+/image")
    client.loop_start()

    def stop() -> None:
        client.loop_stop()
        stop_serving()

    return stop


def grid_latency(chromium: Browser, address: str, seconds: float) -> dict[str, float]:
    """p50 and p99 ms from publishing to drawing, frames drawn a second, Chromium's CPU."""
    # Playwright's waiting needs eval, which the page's policy forbids.
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{address}&source=bench&eye=closed#live")
    page.wait_for_function(f"document.querySelectorAll('#grid li').length >= {CAMERAS}")
    page.wait_for_timeout(2000)  # warm
    page.evaluate("window.brain.latencies.length = 0")
    browsers = _chromium_processes()
    used_before = sum(_cpu(pid) for pid in browsers)
    started = time.monotonic()
    page.wait_for_timeout(seconds * 1000)
    elapsed = time.monotonic() - started
    used = sum(_cpu(pid) for pid in browsers) - used_before
    times = sorted(page.evaluate("window.brain.latencies"))
    context.close()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 1),
        "drawn_per_s": round(len(times) / elapsed, 1),
        "chromium_cpu_percent": round(100 * used / elapsed, 1),
    }


def _chromium_processes() -> list[int]:
    """Chromium's processes: the browser, its renderers, its GPU and network services."""
    return [
        pid for pid in descendants(os.getpid())
        if "chrom" in Path(f"/proc/{pid}/comm").read_text(errors="replace").lower()
    ]  # fmt: skip


def _cpu(pid: int) -> float:
    try:
        return cpu_seconds(pid)
    except OSError:  # it ended
        return 0.0


def live_figures(chromium: Browser, *, node: str, bare: str, seconds: float) -> dict[str, object]:
    """The grid measured on brain's node (``node``, a page address) and the bare server."""
    ours, alone = grid_latency(chromium, node, seconds), grid_latency(chromium, bare, seconds)
    return {
        "cameras": CAMERAS,
        "camera_fps": CAMERA_FPS,
        "brain": ours,
        "bare_paho_aiohttp": alone,
        "p99_ratio": round(ours["p99_ms"] / alone["p99_ms"], 2),
        "goal_p99_under_500_ms": ours["p99_ms"] < 500,
    }
