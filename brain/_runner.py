"""Running one node in this process: connect, start, run until stopped, close."""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType
from typing import Any

import structlog

from brain._bus import OFFLINE, STOPPED, Bus
from brain._node import FatalError, Node, NodeOptions
from brain._plugins import Catalog
from brain._topics import Topics
from brain._url import BrokerUrl
from schemas import Stats

#: Exit status of a node that must not be restarted (sysexits' EX_CONFIG).
EXIT_FATAL = 78

log = structlog.get_logger()


def run_node(
    node_type: type[Node[Any]],
    *,
    options: NodeOptions,
    url: BrokerUrl,
    topics: Topics,
    stop: threading.Event | None = None,
    catalog: Catalog | None = None,
) -> int:
    """Run a node until SIGTERM, SIGINT or ``stop``; return the process exit status."""
    stop = stop or threading.Event()
    _stop_on_signals(stop)
    bus = Bus(
        node=node_type.name,
        url=url,
        topics=topics,
        persistent=node_type.persistent,
        keepalive=options.keepalive,
    )
    node = node_type(bus=bus, options=options, catalog=catalog)
    started = time.monotonic()
    stats = threading.Thread(
        target=_publish_stats, args=(node, stop, started), name="stats", daemon=True
    )
    log.info("starting", broker=str(url))
    clean = False
    try:
        # First: a missing device or token is reported at once, broker or not; and every
        # handler is in place before the first message can arrive (a persistent session's
        # broker delivers what it held the moment the connection is made).
        node.start()
        bus.connect()
        stats.start()
        if _until_connected(bus, stop):
            node.run(stop)
        clean = True
    except FatalError as error:
        log.error("cannot run", reason=str(error))
        return EXIT_FATAL
    finally:
        stop.set()
        node.close()
        if stats.is_alive():  # it started, and so did the node: say its last figures
            stats.join(timeout=2)
            _publish_stats_once(node, started)
        bus.close(status=STOPPED if clean else OFFLINE)
    log.info("stopped")
    return 0


def _until_connected(bus: Bus, stop: threading.Event) -> bool:
    """Wait for the broker before the node works: what it makes meanwhile would be lost."""
    while not bus.connected.wait(0.2):
        if stop.is_set():
            return False
    return True


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)


def _publish_stats(node: Node[Any], stop: threading.Event, started: float) -> None:
    while not stop.wait(node.options.stats_interval):
        _publish_stats_once(node, started)


def _publish_stats_once(node: Node[Any], started: float) -> None:
    figures = {**node.bus.figures(), **node.stats.snapshot()}
    try:
        figures.update(node.figures())
    except Exception:  # a node's figures are a convenience, never a reason to stop
        log.exception("figures failed")
    stats = Stats(
        source=node.name, node=node.name, uptime_s=time.monotonic() - started, figures=figures
    )
    node.bus.publish(node.topics.stats(node.name), stats)
