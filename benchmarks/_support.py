"""What the benchmarks share: free ports, a fresh Mosquitto of their own, processes'
CPU, and the page served by bare aiohttp."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from brain.testing import Mosquitto
from effectors.browser import STATIC


def start_mosquitto(workdir: Path, *, extra: str = "") -> tuple[int, subprocess.Popen[bytes]]:
    """A Mosquitto on a free port of 127.0.0.1; returns the port and the process."""
    broker = Mosquitto(workdir, extra=extra)
    broker.start()
    assert broker.process is not None
    return broker.port, broker.process


ROOT = Path(__file__).resolve().parent.parent


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs, as they are now."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone while we looked
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found.extend(children)
        frontier = children
    return found


def start_node(port: int, node: str, *options: str, ready: str) -> subprocess.Popen[str]:
    """`brain node NODE` on the broker at ``port``; returns once a log line holds ``ready``."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "brain",
            "--mqtt",
            f"mqtt://127.0.0.1:{port}",
            *options,
            "node",
            node,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "BRAIN_LOG_FORMAT": "json"},
    )
    assert process.stdout is not None
    for line in process.stdout:
        if ready in line:
            break
    threading.Thread(target=process.stdout.read, daemon=True).start()  # keep the pipe flowing
    return process


def serve_page(
    port: int, routes: Mapping[str, Handler], *, loop: asyncio.AbstractEventLoop
) -> Callable[[], None]:
    """The page's files, and ``routes`` (a path and its GET handler each), served by bare
    aiohttp on ``port`` from ``loop`` on a thread of its own; returns what stops it."""

    async def index(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    app = web.Application()
    app.router.add_get("/", index)
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    app.router.add_static("/static", STATIC)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    threading.Thread(target=loop.run_forever, daemon=True).start()

    def stop() -> None:
        loop.call_soon_threadsafe(loop.stop)

    return stop
