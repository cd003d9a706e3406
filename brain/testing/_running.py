"""Running a node in this process on a ``MemoryBroker``, and watching what it publishes."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from brain._node import Node
from brain._plugins import Catalog
from brain._runner import run_node, stats_of
from brain._topics import Topics
from brain._transport import Callbacks
from brain._url import BrokerUrl
from brain.testing._memory import MemoryBroker
from schemas import Event, StatValue

E = TypeVar("E", bound=Event)

#: Long enough for a busy machine; a test waits on events, never on the clock.
DEFAULT_TIMEOUT = 60.0


class Recording(Generic[E]):
    """The events of one type that reach the broker, from the moment it was made."""

    def __init__(self, broker: MemoryBroker, kind: type[E], topics: Topics, **keys: str) -> None:
        self.kind = kind
        self.events: list[E] = []
        self._changed = threading.Condition()
        transport = broker.transport()
        transport.start(
            Callbacks(
                connected=lambda: None,
                refused=lambda _reason: None,
                unreachable=lambda: None,
                disconnected=lambda _reason: None,
                received=self._received,
            ),
            will=None,
        )
        transport.subscribe(topics.matching(kind, **keys))

    def _received(self, _topic: str, payload: bytes | bytearray) -> None:
        event = self.kind.model_validate_json(payload)
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait(self, count: int = 1, *, timeout: float = DEFAULT_TIMEOUT) -> list[E]:
        """The first ``count`` events; ``AssertionError`` when they do not come in time."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.events) >= count, timeout):
                raise AssertionError(
                    f"{len(self.events)} {self.kind.__name__} events within {timeout:g} s, "
                    f"not {count}"
                )
            return self.events[:count]

    def wait_for(self, wanted: Callable[[E], bool], *, timeout: float = DEFAULT_TIMEOUT) -> E:
        """The first event that is ``wanted``, waiting for it; ``AssertionError`` when
        none comes in time."""
        with self._changed:
            if not self._changed.wait_for(lambda: any(map(wanted, self.events)), timeout):
                raise AssertionError(
                    f"no wanted {self.kind.__name__} within {timeout:g} s among {len(self.events)}"
                )
            return next(event for event in self.events if wanted(event))


class Running:
    """A node running in this process: ``node`` is the instance, ``stop`` ends it."""

    def __init__(self, node: Node[Any], broker: MemoryBroker | None, stop: threading.Event) -> None:
        self.node = node
        self._broker = broker
        self._stop = stop
        self._thread: threading.Thread | None = None
        self.exit_status: int | None = None

    def idle(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the node has handled everything the broker gave it so far, and
        every client of the broker has what the node published meanwhile."""
        broker, inbox = self._broker, self.node.inbox
        drained = broker.wait_drained if broker is not None else lambda _timeout: True
        if not (drained(timeout) and inbox.wait_idle(timeout) and drained(timeout)):
            raise AssertionError(f"{self.node.name} was still busy after {timeout:g} s")

    def stats(self) -> dict[str, StatValue]:
        """The node's stats now, as its next stats message would say them."""
        return stats_of(self.node, uptime_s=0.0).figures

    def wait_stopped(self, *, timeout: float = DEFAULT_TIMEOUT) -> int | None:
        """Wait until the node stops by itself (a camera whose video ended), and every
        client of the broker has what it published; its exit status."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise AssertionError(f"{self.node.name} was still running after {timeout:g} s")
        if self._broker is not None and not self._broker.wait_drained(timeout):
            raise AssertionError(f"the broker was still busy after {timeout:g} s")
        return self.exit_status

    def stop(self, *, timeout: float = DEFAULT_TIMEOUT) -> int | None:
        """Stop the node as SIGTERM would; its exit status (None: it did not stop in time)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return self.exit_status


def send(broker: MemoryBroker, event: Event, *, topics: Topics | None = None, **keys: str) -> None:
    """Publish ``event`` on its type's topic, as another node would."""
    broker.publish((topics or Topics()).of(event, **keys), event.to_json(), retain=event.RETAIN)


def record(
    broker: MemoryBroker, kind: type[E], *, topics: Topics | None = None, **keys: str
) -> Recording[E]:
    """Start recording the events of ``kind`` (narrowed by topic ``keys``)."""
    return Recording(broker, kind, topics or Topics(), **keys)


@contextlib.contextmanager
def running(
    node_type: type[Node[Any]],
    broker: MemoryBroker | BrokerUrl,
    *,
    options: Mapping[str, Any] | None = None,
    catalog: Catalog | None = None,
    topics: Topics | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Iterator[Running]:
    """Run ``node_type`` on ``broker`` in a thread of this process, online once this
    yields (its handlers subscribed); stopped, with its last figures said, after it.

    ``broker``: a ``MemoryBroker``, or a real broker's URL (with the node's user and
    password, to try it on a production broker's ACL).

    ``options``: the node's options as ``brain.toml`` would give them.
    """
    topics = topics or Topics()
    settings = node_type.Options.model_validate(dict(options or {}))
    memory = broker if isinstance(broker, MemoryBroker) else None
    transport = memory.transport() if memory is not None else None
    url = broker if isinstance(broker, BrokerUrl) else BrokerUrl()
    stop = threading.Event()
    started: list[Running] = []
    online = threading.Event()
    status: list[int] = []

    def ready(node: Node[Any]) -> None:
        started.append(Running(node, memory, stop))
        online.set()

    def run() -> None:
        code = run_node(
            node_type,
            options=settings,
            url=url,
            topics=topics,
            stop=stop,
            catalog=catalog,
            transport=transport,
            ready=ready,
        )
        status.append(code)
        if started:
            started[0].exit_status = code
        online.set()  # a node that could not start: `started` stays empty

    thread = threading.Thread(target=run, name=f"running-{node_type.name}", daemon=True)
    thread.start()
    if not online.wait(timeout):
        raise AssertionError(f"{node_type.name} was not online within {timeout:g} s")
    if not started:
        raise RuntimeError(
            f"{node_type.name} stopped with status {status[0]} before it was online: "
            "its log says why"
        )
    handle = started[0]
    handle._thread = thread
    try:
        yield handle
    finally:
        handle.stop(timeout=timeout)
