"""The bus client: paho-mqtt 2.x with the contract's presence, QoS and typed payloads.

Why a wrapper: every node needs the same things done the same way (a will,
``online``/``stopped``, resubscribing after a reconnect, turning a bad payload
into an error event instead of an exception), and none of them should have to
think about paho's threads.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import ValidationError

from brain._topics import Topics, strip_share
from brain._url import BrokerUrl
from schemas import MAX_IMAGE_BYTES, ErrorEvent, Event, StatValue

E = TypeVar("E", bound=Event)

#: Largest payload a node accepts: a 2 MiB image as base64 plus its JSON envelope.
DEFAULT_MAX_PAYLOAD = MAX_IMAGE_BYTES * 4 // 3 + 64 * 1024
#: Presence words on ``{prefix}/status/{node}`` (plain text, retained).
ONLINE, OFFLINE, STOPPED = "online", "offline", "stopped"

_EXCERPT_CHARS = 200
_NO_CONNECTION = MQTTErrorCode.MQTT_ERR_NO_CONN
_MAX_CACHED_TOPICS = 4096

log = structlog.get_logger()


@dataclass(frozen=True)
class _Subscription:
    topic_filter: str
    #: Called with the event, or with (topic, payload) when there is no model.
    handler: Callable[..., None]
    model: type[Event] | None = None


class Bus:
    """A connection to the broker on behalf of one node.

    Handlers run on paho's network thread: they must be quick, and a node with
    slow work (inference, speech) hands it to a thread of its own.
    """

    def __init__(
        self,
        *,
        node: str,
        url: BrokerUrl | None = None,
        topics: Topics | None = None,
        presence: bool = True,
        persistent: bool = False,
        keepalive: int = 30,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
    ) -> None:
        self.node = node
        self.url = url or BrokerUrl()
        self.topics = topics or Topics()
        # Figures for the stats topic. Only the network thread writes `_received` and the
        # connection figures, so they need no lock; publishing may happen on any thread.
        self._received = 0
        self._disconnects = 0
        self._connect_failures = 0
        self._count_lock = threading.Lock()
        self._published = 0
        self._dropped_offline = 0
        self._errors = 0
        self.connected = threading.Event()
        self._presence = presence
        self._persistent = persistent
        self._keepalive = keepalive
        self._max_payload = max_payload
        self._closing = False
        self._was_connected = False
        self._last_confirmable: mqtt.MQTTMessageInfo | None = None
        self._subscriptions: tuple[_Subscription, ...] = ()
        self._subscribing = threading.Lock()
        self._routes: dict[str, tuple[_Subscription, ...]] = {}
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        # MQTT 3.1.1, not 5: paho parses MQTT 5 properties on every message, which nearly
        # doubles its receive cost (27 -> 49 us a message here), and brain needs nothing of
        # MQTT 5: Mosquitto serves $share/ subscriptions to 3.1.1 clients too.
        # A persistent session (for a node that must not miss a QoS 1 event while it
        # restarts) needs the same client id each time: the broker keeps its subscriptions
        # and queues its messages under that id.
        if self._persistent:
            client_id = f"brain-{self.topics.prefix}-{self.node}-{socket.gethostname()}"
        else:
            client_id = f"brain-{self.node}-{secrets.token_hex(3)}"
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=not self._persistent,
        )
        if self.url.username:
            client.username_pw_set(self.url.username, self.url.password)
        if self.url.tls:
            client.tls_set(ca_certs=self.url.ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if self._presence:
            client.will_set(self.topics.status(self.node), OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    # -- lifecycle -------------------------------------------------------------

    def connect(self, *, timeout: float | None = None) -> None:
        """Start connecting in the background; paho retries until the broker answers.

        With ``timeout``, wait that long for the first connection and raise
        ``TimeoutError`` if the broker did not answer.
        """
        self._client.connect_async(self.url.host, self.url.port, keepalive=self._keepalive)
        self._client.loop_start()
        if timeout is not None and not self.connected.wait(timeout):
            raise TimeoutError(f"no MQTT broker answered at {self.url} within {timeout:g} s")

    def close(self, *, flush_timeout: float = 2.0, status: str = STOPPED) -> None:
        """Deliver what is still on its way, say ``status`` and disconnect.

        ``stopped`` (rather than the will's ``offline``) tells watchers this was no crash;
        a node that crashed or could not run closes with ``offline``.
        """
        self._closing = True
        if self.connected.is_set():
            if self._last_confirmable is not None:
                self.wait_confirmed(self._last_confirmable, flush_timeout)
            if self._presence:
                info = self._client.publish(
                    self.topics.status(self.node), status, qos=1, retain=True
                )
                self.wait_confirmed(info, flush_timeout)
        self._client.disconnect()
        self._client.loop_stop()

    @staticmethod
    def wait_confirmed(info: mqtt.MQTTMessageInfo, timeout: float) -> bool:
        """Wait until the broker has the message (QoS 1; in order, so the last stands for
        all); False when it was never sent or the broker did not confirm in time."""
        with contextlib.suppress(RuntimeError, ValueError):  # never sent: nothing to wait for
            info.wait_for_publish(timeout=timeout)
        return info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS and info.is_published()

    def figures(self) -> dict[str, StatValue]:
        """What went through this connection, for the stats topic."""
        with self._count_lock:
            return {
                "received": self._received,
                "published": self._published,
                "dropped_offline": self._dropped_offline,
                "errors": self._errors,
                "disconnects": self._disconnects,
                "connected": self.connected.is_set(),
            }

    # -- publishing ------------------------------------------------------------

    def publish(self, topic: str, event: Event) -> mqtt.MQTTMessageInfo:
        """Publish an event with the QoS and retain flag the contract gives it.

        The returned info tells when the message has left (``is_published()``), so a
        sense can skip a frame rather than queue it behind a slow connection.
        """
        return self.publish_raw(topic, event.to_json(), qos=event.QOS, retain=event.RETAIN)

    def publish_raw(
        self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False
    ) -> mqtt.MQTTMessageInfo:
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if qos:
            self._last_confirmable = info
        elif info.rc is _NO_CONNECTION:
            # paho keeps QoS 1 messages for the reconnect; a QoS 0 frame is gone.
            with self._count_lock:
                self._dropped_offline += 1
            return info
        with self._count_lock:
            self._published += 1
        return info

    def report_error(
        self, reason: str, *, topic: str = "", payload: bytes = b"", cause: str | None = None
    ) -> None:
        """Log, count and publish an input this node rejected."""
        with self._count_lock:
            self._errors += 1
        log.warning("error", reason=reason, topic=topic)
        excerpt = payload[:_EXCERPT_CHARS].decode("utf-8", errors="replace")
        error = ErrorEvent(
            source=self.node,
            node=self.node,
            reason=reason,
            topic=topic,
            cause=cause,
            excerpt=excerpt,
        )
        self.publish(self.topics.error(self.node), error)

    # -- subscribing -----------------------------------------------------------

    def subscribe(self, topic_filter: str, model: type[E], handler: Callable[[E], None]) -> None:
        """Deliver payloads on ``topic_filter`` to ``handler`` as ``model`` instances.

        A payload that is not a valid ``model`` becomes an error event; the
        handler never sees it.
        """
        self._add(_Subscription(topic_filter, handler, model))

    def subscribe_raw(self, topic_filter: str, handler: Callable[[str, bytes], None]) -> None:
        """Deliver ``(topic, payload)`` as they come, for tools that show any traffic."""
        self._add(_Subscription(topic_filter, handler))

    def _add(self, subscription: _Subscription) -> None:
        # Under the lock that `_on_connect` holds while it subscribes: a subscription added
        # as the connection completes is made by one or the other, never by neither.
        with self._subscribing:
            self._subscriptions = (*self._subscriptions, subscription)
            self._routes = {}
            if self.connected.is_set():
                self._client.subscribe(subscription.topic_filter, qos=1)

    def _route(self, topic: str) -> tuple[_Subscription, ...]:
        """The subscriptions ``topic`` matches; remembered, since topics repeat."""
        found = tuple(
            s
            for s in self._subscriptions
            if mqtt.topic_matches_sub(strip_share(s.topic_filter), topic)
        )
        if len(self._routes) >= _MAX_CACHED_TOPICS:
            self._routes.clear()
        self._routes[topic] = found
        return found

    # -- paho callbacks (network thread) ------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _flags: Any,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error(
                "broker refused the connection",
                broker=str(self.url),
                reason=str(reason),
                fix="check the user name and password in the broker URL",
            )
            return
        # A clean session forgets subscriptions, so every (re)connect makes them again.
        with self._subscribing:
            for subscription in self._subscriptions:
                client.subscribe(subscription.topic_filter, qos=1)
            self.connected.set()
        if self._presence:
            client.publish(self.topics.status(self.node), ONLINE, qos=1, retain=True)
        log.info("reconnected" if self._was_connected else "connected", broker=str(self.url))
        self._was_connected = True

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        self._connect_failures += 1
        if self._connect_failures == 1:
            log.warning("cannot reach the broker yet; retrying", broker=str(self.url))

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: Any,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self.connected.clear()
        if not self._closing:
            self._disconnects += 1
            self._connect_failures = 0
            log.warning("lost the broker; reconnecting", broker=str(self.url), reason=str(reason))

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        # The hot path of every node: kept flat, one frame, no work that is not needed.
        self._received += 1
        topic, payload = message.topic, message.payload
        if len(payload) > self._max_payload:
            self.report_error(
                f"payload of {len(payload)} bytes is over the limit of {self._max_payload} bytes",
                topic=topic,
                payload=bytes(payload),
            )
            return
        routes = self._routes.get(topic)
        if routes is None:  # an empty tuple is a remembered answer too
            routes = self._route(topic)
        for subscription in routes:
            model = subscription.model
            try:
                if model is None:
                    subscription.handler(topic, payload)
                    continue
                try:
                    event = model.__pydantic_validator__.validate_json(payload)
                except ValidationError as error:
                    rejected = bytes(payload)
                    self.report_error(
                        describe_rejection(error, model),
                        topic=topic,
                        payload=rejected,
                        cause=_event_id(rejected),
                    )
                    continue
                subscription.handler(event)
            except Exception as error:  # a handler's bug must not take the node down
                log.exception("handler failed", topic=topic)
                self.report_error(f"handler failed: {type(error).__name__}: {error}", topic=topic)


def describe_rejection(error: ValidationError, model: type[Event]) -> str:
    """One sentence about why a payload is not a valid ``model``."""
    problems = error.errors(include_url=False)
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"])
    if first["type"] == "json_invalid":
        sentence = f"payload is not valid JSON ({first['msg']})"
    elif where == "schema" and first["type"] == "literal_error":
        sentence = f"schema is {first['input']!r}, expected {model.schema_name()!r}"
    elif where:
        sentence = f"{where}: {first['msg']}"
    else:
        sentence = f"payload is not a {model.schema_name()} event: {first['msg']}"
    if len(problems) > 1:
        sentence += f" (and {len(problems) - 1} more problems)"
    return sentence


def _event_id(payload: bytes) -> str | None:
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
        return None
    found = document.get("id") if isinstance(document, dict) else None
    return found if isinstance(found, str) else None
