"""An MQTT broker in memory: what a node's logic needs of one, for tests without Mosquitto.

It routes by topic filter (``+``, ``#``), serves shared subscriptions
(``$share/group/...``) to one member at a time, keeps retained messages and says a
vanished client's will. It does not keep sessions: every client is a clean one.
Each client gets what it receives on a thread of its own, as paho's network thread.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from brain._topics import strip_share
from brain._transport import Callbacks, Sent, Will


@dataclass
class _Done:
    """A message the memory broker took at once (or refused, when not connected)."""

    rc: MQTTErrorCode

    def is_published(self) -> bool:
        return self.rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    def wait_for_publish(self, timeout: float | None = None) -> None:
        """Nothing to wait for: it was taken, or never sent."""


class MemoryBroker:
    """Give each node ``broker.transport()``; see ``brain.testing.running``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: list[MemoryTransport] = []
        self._retained: dict[str, bytes] = {}
        self._turns: defaultdict[str, itertools.count[int]] = defaultdict(itertools.count)

    def transport(self) -> MemoryTransport:
        return MemoryTransport(self)

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        """Deliver ``payload`` to every subscriber of ``topic`` (one per shared group)."""
        data = payload.encode() if isinstance(payload, str) else payload
        with self._lock:
            if retain:
                if data:
                    self._retained[topic] = data
                else:  # an empty retained message clears the topic, as in MQTT
                    self._retained.pop(topic, None)
            groups: defaultdict[str, list[MemoryTransport]] = defaultdict(list)
            for client in self._clients:
                plain, shared = client.matches(topic)
                if plain:
                    client.deliver(topic, data)
                for group in shared:
                    groups[group].append(client)
            for group, members in groups.items():
                members[next(self._turns[group]) % len(members)].deliver(topic, data)

    def wait_drained(self, timeout: float) -> bool:
        """Wait until every client has received what was delivered to it (for tests)."""
        with self._lock:
            clients = list(self._clients)
        return all(client.wait_drained(timeout) for client in clients)

    def retained(self, topic: str) -> bytes | None:
        with self._lock:
            return self._retained.get(topic)

    def _join(self, client: MemoryTransport) -> None:
        with self._lock:
            self._clients.append(client)

    def _leave(self, client: MemoryTransport) -> None:
        with self._lock:
            self._clients.remove(client)

    def _retained_for(self, topic_filter: str) -> list[tuple[str, bytes]]:
        with self._lock:
            return [
                (topic, data)
                for topic, data in self._retained.items()
                if mqtt.topic_matches_sub(topic_filter, topic)
            ]


class MemoryTransport:
    """One client of a ``MemoryBroker``; a ``brain.bus.Transport``."""

    def __init__(self, broker: MemoryBroker) -> None:
        self._broker = broker
        self._filters: list[str] = []
        self._inbound: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._pending = 0
        self._drained = threading.Condition()
        self._callbacks: Callbacks | None = None
        self._will: Will | None = None
        self._connected = False
        self._thread: threading.Thread | None = None

    def start(self, callbacks: Callbacks, *, will: Will | None) -> None:
        self._callbacks, self._will = callbacks, will
        self._thread = threading.Thread(target=self._receive, name="memory-bus", daemon=True)
        self._thread.start()
        self._connected = True
        self._broker._join(self)
        self._put(callbacks.connected)

    def stop(self) -> None:
        self._leave()
        self._inbound.put(None)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def vanish(self) -> None:
        """Lose the connection without a word, as a killed process: the will is said."""
        self._leave()
        if self._will is not None:
            self._broker.publish(self._will.topic, self._will.payload, retain=True)
        if self._callbacks is not None:
            self._put(lambda: self._callbacks.disconnected("vanished"))  # type: ignore[union-attr]

    def publish(self, topic: str, payload: bytes | str, *, qos: int, retain: bool) -> Sent:
        if not self._connected:
            return _Done(MQTTErrorCode.MQTT_ERR_NO_CONN)
        self._broker.publish(topic, payload, retain=retain)
        return _Done(MQTTErrorCode.MQTT_ERR_SUCCESS)

    def subscribe(self, topic_filter: str) -> None:
        if topic_filter not in self._filters:
            self._filters = [*self._filters, topic_filter]
        if not topic_filter.startswith("$share/"):
            for topic, data in self._broker._retained_for(topic_filter):
                self.deliver(topic, data)

    def matches(self, topic: str) -> tuple[bool, list[str]]:
        """Whether a plain subscription matches ``topic``, and which shared ones do."""
        plain, shared = False, []
        for topic_filter in self._filters:
            if mqtt.topic_matches_sub(strip_share(topic_filter), topic):
                if topic_filter.startswith("$share/"):
                    shared.append(topic_filter)
                else:
                    plain = True
        return plain, shared

    def deliver(self, topic: str, data: bytes) -> None:
        callbacks = self._callbacks
        if callbacks is not None:
            self._put(lambda: callbacks.received(topic, data))

    def wait_drained(self, timeout: float) -> bool:
        """Wait until everything delivered to this client has been received (for tests)."""
        with self._drained:
            return self._drained.wait_for(lambda: self._pending == 0, timeout)

    def _put(self, work: Callable[[], None]) -> None:
        with self._drained:
            self._pending += 1
        self._inbound.put(work)

    def _leave(self) -> None:
        if self._connected:
            self._connected = False
            self._broker._leave(self)

    def _receive(self) -> None:
        while (work := self._inbound.get()) is not None:
            try:
                work()
            finally:
                with self._drained:
                    self._pending -= 1
                    self._drained.notify_all()
