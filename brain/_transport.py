"""What carries the bus's bytes: MQTT through paho, or (in tests) memory.

The ``Bus`` knows the contract (typed events, presence, errors); a transport only
connects, publishes, subscribes and reports what happened through ``Callbacks``.
``PahoTransport`` is the real one; ``brain.testing`` ships one in memory, so the
logic of a node can be tested without a broker.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from brain._url import BrokerUrl


class Sent(Protocol):
    """A message handed to the transport (paho's ``MQTTMessageInfo`` is one)."""

    @property
    def rc(self) -> int:
        """0 while it goes well; paho's error code (e.g. no connection) when not."""

    def is_published(self) -> bool: ...

    def wait_for_publish(self, timeout: float | None = None) -> None: ...


@dataclass(frozen=True)
class Will:
    """What the broker says for a client that vanished without a word."""

    topic: str
    payload: str


@dataclass(frozen=True)
class Callbacks:
    """How a transport tells the bus what happened; called on the transport's thread."""

    connected: Callable[[], None]
    refused: Callable[[str], None]
    unreachable: Callable[[], None]
    disconnected: Callable[[str], None]
    received: Callable[[str, bytes | bytearray], None]


class Transport(Protocol):
    def start(self, callbacks: Callbacks, *, will: Will | None) -> None:
        """Connect in the background, and reconnect whenever the connection is lost."""

    def stop(self) -> None:
        """Disconnect for good."""

    def publish(self, topic: str, payload: bytes | str, *, qos: int, retain: bool) -> Sent: ...

    def subscribe(self, topic_filter: str) -> None: ...


class PahoTransport:
    """MQTT 3.1.1 through paho-mqtt 2.x, reconnecting by itself."""

    def __init__(
        self, *, url: BrokerUrl, client_id: str, clean_session: bool, keepalive: int
    ) -> None:
        # MQTT 3.1.1, not 5: paho parses MQTT 5 properties on every message, which nearly
        # doubles its receive cost (27 -> 49 us a message here), and brain needs nothing of
        # MQTT 5: Mosquitto serves $share/ subscriptions to 3.1.1 clients too.
        self._url = url
        self._keepalive = keepalive
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=clean_session,
        )
        if url.username:
            self._client.username_pw_set(url.username, url.password)
        if url.tls:
            self._client.tls_set(ca_certs=url.ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)

    def start(self, callbacks: Callbacks, *, will: Will | None) -> None:
        client = self._client
        if will is not None:
            client.will_set(will.topic, will.payload, qos=1, retain=True)

        def connect(
            _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None
        ) -> None:
            if reason.is_failure:
                callbacks.refused(str(reason))
            else:
                callbacks.connected()

        def disconnect(
            _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None
        ) -> None:
            callbacks.disconnected(str(reason))

        received = callbacks.received
        client.on_connect = connect
        client.on_connect_fail = lambda _c, _u: callbacks.unreachable()
        client.on_disconnect = disconnect
        client.on_message = lambda _c, _u, message: received(message.topic, message.payload)
        client.connect_async(self._url.host, self._url.port, keepalive=self._keepalive)
        client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes | str, *, qos: int, retain: bool) -> Sent:
        return self._client.publish(topic, payload, qos=qos, retain=retain)

    def subscribe(self, topic_filter: str) -> None:
        self._client.subscribe(topic_filter, qos=1)
