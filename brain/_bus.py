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
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import MQTTErrorCode
from pydantic import ValidationError

from brain._topics import Topics, strip_share
from brain._transport import Callbacks, PahoTransport, Sent, Transport, Will
from brain._url import BrokerUrl
from schemas import MAX_IMAGE_BYTES, ErrorEvent, Event

E = TypeVar("E", bound=Event)

#: Largest payload a node accepts: a 2 MiB image as base64 plus its JSON envelope.
DEFAULT_MAX_PAYLOAD = MAX_IMAGE_BYTES * 4 // 3 + 64 * 1024
#: Presence words on ``{prefix}/status/{node}`` (plain text, retained).
ONLINE, OFFLINE, STOPPED = "online", "offline", "stopped"

_EXCERPT_CHARS = 200
#: This many lost connections within ``_TAKEN_OVER_SECONDS`` are said as a takeover.
_TAKEN_OVER_LOSSES, _TAKEN_OVER_SECONDS = 3, 60.0
#: Seconds between two reminders that the broker is still out of reach.
_STILL_UNREACHABLE_EVERY = 60.0
_NO_CONNECTION = MQTTErrorCode.MQTT_ERR_NO_CONN
_MAX_CACHED_TOPICS = 4096

log = structlog.get_logger()


@dataclass(frozen=True)
class _Subscription:
    topic_filter: str
    #: Called with (event, topic), or with (topic, payload) when there is no model.
    handler: Callable[..., None]
    model: type[Event] | None = None


class Bus:
    """A connection to the broker on behalf of one node.

    Handlers run on the transport's network thread: they must be quick. A node's
    declared handlers (``brain.on``) are, since they only post to the node's inbox.
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
        transport: Transport | None = None,
    ) -> None:
        self.node = node
        #: Whose presence this connection says: the node's, or an instance's
        #: (``camera/frontdoor``), so that one camera of several that stops is said alone.
        self.presence = node
        self.url = url or BrokerUrl()
        self.topics = topics or Topics()
        # Figures for the stats topic. Only the transport's callbacks write `_received` and
        # the connection stats, one at a time for each, so they need no lock; publishing
        # may happen on any thread.
        self._received = 0
        self._disconnects = 0
        self._connect_failures = 0
        self._unreachable_since = self._unreachable_said = 0.0
        self._count_lock = threading.Lock()
        self._published = 0
        self._dropped_offline = 0
        self._errors = 0
        self.connected = threading.Event()
        self._presence = presence
        self._max_payload = max_payload
        self._closing = False
        self._was_connected = False
        self._last_confirmable: Sent | None = None
        self._subscriptions: tuple[_Subscription, ...] = ()
        self._subscribing = threading.Lock()
        self._routes: dict[str, tuple[_Subscription, ...]] = {}
        self._when_connected: list[Callable[[], None]] = []
        self._losses: deque[float] = deque(maxlen=_TAKEN_OVER_LOSSES)
        self._said_taken_over = False
        # A persistent session (for a node that must not miss a QoS 1 event while it
        # restarts) needs the same client id each time: the broker keeps its subscriptions
        # and queues its messages under that id.
        if persistent:
            client_id = f"brain-{self.topics.prefix}-{node}-{socket.gethostname()}"
        else:
            client_id = f"brain-{node}-{secrets.token_hex(3)}"
        self._transport = transport or PahoTransport(
            url=self.url, client_id=client_id, clean_session=not persistent, keepalive=keepalive
        )

    # -- lifecycle -------------------------------------------------------------

    def connect(self, *, timeout: float | None = None) -> None:
        """Start connecting in the background; the transport retries until the broker answers.

        With ``timeout``, wait that long for the first connection and raise
        ``TimeoutError`` if the broker did not answer.
        """
        will = Will(self.topics.status(self.presence), OFFLINE) if self._presence else None
        callbacks = Callbacks(
            connected=self._connected,
            refused=self._refused,
            unreachable=self._unreachable,
            disconnected=self._disconnected,
            received=self._receive,
        )
        self._transport.start(callbacks, will=will)
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
                info = self._transport.publish(
                    self.topics.status(self.presence), status, qos=1, retain=True
                )
                self.wait_confirmed(info, flush_timeout)
        self._transport.stop()

    @staticmethod
    def wait_confirmed(info: Sent, timeout: float) -> bool:
        """Wait until the broker has the message (QoS 1; in order, so the last stands for
        all); False when it was never sent or the broker did not confirm in time."""
        with contextlib.suppress(RuntimeError, ValueError):  # never sent: nothing to wait for
            info.wait_for_publish(timeout=timeout)
        return info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS and info.is_published()

    def stats(self) -> dict[str, int]:
        """What went through this connection, for the stats topic (all only grow)."""
        with self._count_lock:
            return {
                "received": self._received,
                "published": self._published,
                "dropped_offline": self._dropped_offline,
                "errors": self._errors,
                "disconnects": self._disconnects,
            }

    # -- publishing ------------------------------------------------------------

    def publish(self, event: Event, **keys: str) -> Sent:
        """Publish an event on its type's topic, with the QoS and retain flag the contract
        gives it. ``keys`` fill what the event's fields do not (a command's ``target``).

        The returned info tells when the message has left (``is_published()``), so a
        sense can skip a frame rather than queue it behind a slow connection.
        """
        topic = self.topics.of(event, **keys)
        return self.publish_raw(topic, event.to_json(), qos=event.QOS, retain=event.RETAIN)

    def publish_raw(
        self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False
    ) -> Sent:
        info = self._transport.publish(topic, payload, qos=qos, retain=retain)
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

    def clear_retained(self, kind: type[Event], **keys: str) -> None:
        """Remove what is retained on the topic of ``kind`` that ``keys`` name."""
        self.publish_raw(self.topics.matching(kind, **keys), b"", qos=1, retain=True)

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
        self.publish(error)

    # -- subscribing -----------------------------------------------------------

    def subscribe(
        self,
        kind: type[E],
        handler: Callable[[E, str], None],
        *,
        shared: str = "",
        **keys: str,
    ) -> str:
        """Deliver events of ``kind`` to ``handler(event, topic)``; return the filter.

        ``keys`` narrow the type's topic (``source="frontdoor"``); those not given match
        any. ``shared`` names a shared-subscription group, whose members share the events.
        A payload that is not a valid ``kind`` becomes an error event; the handler never
        sees it.
        """
        topic_filter = self.topics.matching(kind, shared=shared, **keys)
        self._add(_Subscription(topic_filter, handler, kind))
        return topic_filter

    def subscribe_raw(self, topic_filter: str, handler: Callable[[str, bytes], None]) -> None:
        """Deliver ``(topic, payload)`` as they come, for tools that show any traffic."""
        self._add(_Subscription(topic_filter, handler))

    def when_connected(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the transport's thread: quickly) after each connection,
        the first and every one after a broker restart, once subscribed and online."""
        self._when_connected.append(callback)

    def _add(self, subscription: _Subscription) -> None:
        # Under the lock that `_on_connect` holds while it subscribes: a subscription added
        # as the connection completes is made by one or the other, never by neither.
        with self._subscribing:
            self._subscriptions = (*self._subscriptions, subscription)
            self._routes = {}
            if self.connected.is_set():
                self._transport.subscribe(subscription.topic_filter)

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

    # -- transport callbacks (the transport's thread) ----------------------------

    def _connected(self) -> None:
        # A clean session forgets subscriptions, so every (re)connect makes them again.
        with self._subscribing:
            for subscription in self._subscriptions:
                self._transport.subscribe(subscription.topic_filter)
            self.connected.set()
        if self._presence:
            self._transport.publish(self.topics.status(self.presence), ONLINE, qos=1, retain=True)
        log.info("reconnected" if self._was_connected else "connected", broker=str(self.url))
        self._was_connected = True
        for callback in self._when_connected:
            callback()

    def _refused(self, reason: str) -> None:
        log.error(
            "broker refused the connection",
            broker=str(self.url),
            reason=reason,
            fix="check the user name and password in the broker URL",
        )

    def _unreachable(self) -> None:
        self._connect_failures += 1
        now = time.monotonic()
        if self._connect_failures == 1:
            self._unreachable_since = self._unreachable_said = now
            log.warning("cannot reach the broker yet; retrying", broker=str(self.url))
        elif now - self._unreachable_said >= _STILL_UNREACHABLE_EVERY:
            # Said again now and then, with what to do: one line at the start scrolls away.
            self._unreachable_said = now
            log.warning(
                "still cannot reach the broker; retrying",
                broker=str(self.url),
                for_s=round(now - self._unreachable_since),
                fix="start one (`brain broker`, or `sudo systemctl start mosquitto`), "
                "or give its address with --mqtt",
            )

    def _disconnected(self, reason: str) -> None:
        self.connected.clear()
        if self._closing:
            return
        self._disconnects += 1
        self._connect_failures = 0
        log.warning("lost the broker; reconnecting", broker=str(self.url), reason=reason)
        self._losses.append(time.monotonic())
        often = self._losses[-1] - self._losses[0] < _TAKEN_OVER_SECONDS
        if len(self._losses) == _TAKEN_OVER_LOSSES and often and not self._said_taken_over:
            # A broker that closes a connection right after it is made, again and again, is
            # most often giving its client id to another client (MQTT 3.1.1 says no more).
            self._said_taken_over = True
            log.error(
                f"the broker closed this connection {_TAKEN_OVER_LOSSES} times within a "
                "minute: another client probably logs in with the same client id or user",
                user=self.url.username,
                fix="give each process a user of its own (mosquitto/README.md)",
            )

    def _receive(self, topic: str, payload: bytes | bytearray) -> None:
        # The hot path of every node: kept flat, one frame, no work that is not needed.
        self._received += 1
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
                if not payload:  # a retained message cleared: no event
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
                subscription.handler(event, topic)
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
