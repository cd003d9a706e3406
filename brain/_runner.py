"""Running one node in this process: connect, start, run until stopped, close."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import structlog

from brain._bus import OFFLINE, STOPPED, Bus
from brain._errors import FatalError
from brain._node import Node, NodeOptions
from brain._plugins import Catalog
from brain._topics import Topics
from brain._transport import Transport
from brain._url import BrokerUrl
from schemas import Stats, StatValue

#: Exit status of a node that must not be restarted (sysexits' EX_CONFIG).
EXIT_FATAL = 78
#: Seconds a stopping node has to handle what it has received (the supervisor gives 4).
DRAIN_SECONDS = 2.0

log = structlog.get_logger()


def run_node(
    node_type: type[Node[Any]],
    *,
    options: NodeOptions,
    url: BrokerUrl,
    topics: Topics,
    stop: threading.Event | None = None,
    catalog: Catalog | None = None,
    transport: Transport | None = None,
    ready: Callable[[Node[Any]], None] | None = None,
    as_name: str | None = None,
) -> int:
    """Run a node until SIGTERM, SIGINT or ``stop``; return the process exit status.

    ``transport``: what carries the bus (default: MQTT at ``url``); ``brain.testing``
    gives one in memory, and ``ready``, called with the node once it is online.
    ``as_name``: its name on the bus (presence, stats) when it is not the node itself
    (``brain record`` is a recorder beside the recorder node): then it keeps no
    persistent session, which is the node's own.
    """
    stop = stop or threading.Event()
    _stop_on_signals(stop)
    bus = Bus(
        node=as_name or node_type.name,
        url=url,
        topics=topics,
        persistent=node_type.persistent and as_name is None,
        keepalive=options.keepalive,
        transport=transport,
    )
    node = node_type(bus=bus, options=options, catalog=catalog)
    if node.source != node.name:  # one of several (a camera by its name): said alone
        bus.presence = f"{bus.node}/{node.source}"
    began = time.monotonic()
    inbox = threading.Thread(target=node.inbox.serve, name=f"{node.name}-inbox", daemon=True)
    watcher = threading.Thread(
        target=_watch, args=(node, stop, began), name=f"{node.name}-stats", daemon=True
    )
    log.info("starting", broker=str(url))
    clean = started = False
    try:
        # First: a missing device or token is reported at once, broker or not; and every
        # handler is in place before the first message can arrive (a persistent session's
        # broker delivers what it held the moment the connection is made).
        node.start()
        started = True
        node.wire()
        inbox.start()
        bus.connect()
        watcher.start()
        if _until_connected(bus, stop):
            if ready is not None:
                ready(node)
            node.run(stop)
        clean = True
    except FatalError as error:
        log.error("cannot run", reason=str(error))
        return EXIT_FATAL
    finally:
        stop.set()
        # What has come is handled (a recorder writes it, the alerts judge it), briefly.
        node.inbox.close(drain=DRAIN_SECONDS)
        if inbox.is_alive():  # a handler may be running: it finishes before `close`
            inbox.join(timeout=DRAIN_SECONDS + 10)
        if watcher.ident is not None:  # it started, and so did the node: say its last stats
            watcher.join(timeout=2)  # while what they are read from is still open
            _publish_stats_once(node, began)
        if started:
            node.close()
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


def _watch(node: Node[Any], stop: threading.Event, started: float) -> None:
    """Publish the node's stats until ``stop``; then tell the node, whose ``run`` may be
    waiting on something of its own (``Node.sleep``, a device) rather than on ``stop``."""
    while not stop.wait(node.options.stats_interval):
        _publish_stats_once(node, started)
    node.stopping()


def _publish_stats_once(node: Node[Any], started: float) -> None:
    node.publish(stats_of(node, uptime_s=time.monotonic() - started))


def stats_of(node: Node[Any], *, uptime_s: float) -> Stats:
    """The node's stats now: its counts and the bus's, and its readings."""
    counters = {**node.bus.stats(), **node.stats.snapshot()}
    figures: dict[str, StatValue] = {
        **counters,
        "connected": node.bus.connected.is_set(),
        "queue_depth": node.inbox.depth(),
    }
    try:
        figures.update(node.current_stats())
    except Exception:  # a node's stats are a convenience, never a reason to stop
        log.exception("current_stats failed")
    return Stats(
        source=node.source,
        node=node.bus.node,
        uptime_s=uptime_s,
        figures=figures,
        counters=sorted(counters),
    )
