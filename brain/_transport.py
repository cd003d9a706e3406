"""What carries the bus's bytes: MQTT through paho, or (in tests) memory.

The ``Bus`` knows the contract (typed events, presence, errors); a transport only
connects, publishes, subscribes and reports what happened through ``Callbacks``.
``PahoTransport`` is the real one; ``brain.testing`` ships one in memory, so the
logic of a node can be tested without a broker.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from brain._buffered import BufferedClient, BufferedSocket, waits
from brain._url import BrokerUrl

#: Seconds before the first reconnect, doubling up to the second while the broker is away.
_MIN_DELAY, _MAX_DELAY = 1.0, 30.0
#: Longest sleep of the loop with nothing to do: how often keepalive is looked after.
_TICK = 1.0
#: Messages read in a row before the loop looks after writes and keepalive again.
_READS_PER_WAKE = 256
#: A publish within this many seconds of the one before belongs to a burst: it is held,
#: to be written with those that follow, until the burst pauses this long.
_BURST_GAP = 0.001
#: Messages a burst holds at the most before they are written together.
_BURST_BATCH = 32
#: Seconds a publisher waits for the socket before it leaves its message to the loop's
#: thread. That thread holds it for a message read, a keepalive check or a write, but on
#: a busy machine it can be put aside holding it; a message handed over has not left
#: when ``publish`` returns, and a camera skips its next frame.
_LOCK_WAIT = 0.02
#: Seconds ``stop`` waits for the last writes (the DISCONNECT) to leave.
_STOP_TIMEOUT = 5.0


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
    """How a transport tells the bus what happened.

    Called on the transport's network thread, except ``disconnected`` when a publisher
    finds the connection lost (then on that publisher's thread), and never while the
    transport holds its socket.
    """

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
    """MQTT 3.1.1 through paho-mqtt 2.x, on a network loop of brain's own.

    Why not paho's ``loop_start``: its thread writes every message, and each ``publish``
    wakes it through a socket pair. A node that does any work between publishes (building
    the next event) then trades the GIL with that thread on every message, which made
    that work cost two to five times itself (``benchmarks/bus.py``). Here the thread
    that publishes writes its own message, and the loop's thread reads, keeps the
    connection alive, writes what a publisher could not, and reconnects. It drives paho
    through its API for external loops (``loop_read``, ``loop_write``, ``loop_misc``,
    ``want_write``), as aiomqtt does.

    It writes bursts together: a publish within ``_BURST_GAP`` of the one before is
    held with those that follow, and they leave in one ``send``. And it reads through a
    buffer, a burst of messages a system call (``brain/_buffered.py``).
    """

    def __init__(
        self, *, url: BrokerUrl, client_id: str, clean_session: bool, keepalive: int
    ) -> None:
        # MQTT 3.1.1, not 5: paho parses MQTT 5 properties on every message, which nearly
        # doubles its receive cost (27 -> 49 us a message here), and brain needs nothing of
        # MQTT 5: Mosquitto serves $share/ subscriptions to 3.1.1 clients too.
        self._url = url
        self._client_id = client_id
        self._keepalive = keepalive
        self._client = BufferedClient(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=clean_session,
            # A QoS 1 message is acknowledged once the bus has it (``_acknowledge``), not
            # when paho has read it: the PUBACK would leave with whatever is written next,
            # perhaps before a ``before_ack`` handler has put its result on disk.
            manual_ack=True,
        )
        if url.username:
            self._client.username_pw_set(url.username, url.password)
        if url.tls:
            self._client.tls_set(ca_certs=url.ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        # With this set, paho only queues what it is given and leaves the writing to us.
        self._client.on_socket_register_write = lambda _c, _u, _s: None
        # paho's socket state is safe for one thread at a time: whoever reads, writes,
        # reconnects or checks keepalive holds this.
        self._socket_lock = threading.Lock()
        #: What paho had to tell the bus while the lock was held, told once it is not.
        self._news: list[Callable[[], None]] = []
        self._acks_queued = False
        self._stopping = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        self._thread: threading.Thread | None = None
        self._retry_delay: float | None = None
        # A burst's messages held for writing together: how many, when the last came, and
        # whether the loop's thread is watching for the burst to pause (else it is woken).
        self._held = 0
        self._last_publish = 0.0
        self._watching = False

    def start(self, callbacks: Callbacks, *, will: Will | None) -> None:
        client = self._client
        if will is not None:
            client.will_set(will.topic, will.payload, qos=1, retain=True)
        news = self._news

        def connect(
            _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None
        ) -> None:
            if reason.is_failure:
                news.append(partial(callbacks.refused, str(reason)))
            else:
                self._retry_delay = None
                news.append(callbacks.connected)

        def disconnect(
            _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None
        ) -> None:
            news.append(partial(callbacks.disconnected, str(reason)))

        def message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
            news.append(partial(self._acknowledge, callbacks.received, message))

        client.on_connect = connect
        client.on_disconnect = disconnect
        client.on_message = message
        client.connect_async(self._url.host, self._url.port, keepalive=self._keepalive)
        self._thread = threading.Thread(
            target=self._run, args=(callbacks,), name=f"mqtt-{self._client_id}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._client.disconnect()
        self._write()
        self._stopping.set()
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(_STOP_TIMEOUT)
        self._wake_reader.close()
        self._wake_writer.close()

    def publish(self, topic: str, payload: bytes | str, *, qos: int, retain: bool) -> Sent:
        """Queue the message, and write it at once unless it comes in a burst.

        Each write is a system call that, on the way to a broker on the same machine,
        also delivers the message and wakes the broker. In a burst (a publish within
        ``_BURST_GAP`` of the one before) messages are held and written back to back,
        ``_BURST_BATCH`` at a time, or by the loop's thread when the burst pauses: the
        broker and the subscribers then wake once for many. A lone message is written
        at once, as before.
        """
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        now = time.monotonic()
        in_burst = now - self._last_publish < _BURST_GAP
        self._last_publish = now
        if in_burst and self._held < _BURST_BATCH:
            self._held += 1
            if not self._watching:
                self._wake()  # so the loop's thread writes them if the burst stops here
            return info
        self._write()
        return info

    def subscribe(self, topic_filter: str) -> None:
        self._client.subscribe(topic_filter, qos=1)
        self._write()

    def _write(self) -> None:
        """Write what is queued from the calling thread, or leave it to the loop's thread
        when that keeps the socket (reconnecting) or the socket is full."""
        if self._socket_lock.acquire(timeout=_LOCK_WAIT):
            try:
                left = self._send_queued()
            finally:
                self._let_go()
        else:
            left = True
        if left:
            self._wake()

    def _send_queued(self) -> bool:
        """Hand paho's queued messages to the socket and send them; whether any must
        wait (the socket is full, or there is none). Called holding the socket."""
        self._held = 0
        client = self._client
        client.loop_write()
        sock = client.socket()
        if isinstance(sock, BufferedSocket):
            sock.flush()
        return sock is None or waits(client, sock)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # already awake (the pair is full), or stopped
            self._wake_writer.send(b"\0")

    def _acknowledge(
        self, received: Callable[[str, bytes | bytearray], None], message: mqtt.MQTTMessage
    ) -> None:
        """Tell the bus, then acknowledge: the broker forgets a QoS 1 message only once the
        bus has it (queued in the inbox, or for ``before_ack``, handled)."""
        try:
            received(message.topic, message.payload)
        finally:
            if message.qos:
                self._client.ack(message.mid, message.qos)
                self._acks_queued = True  # written together, after the news (_let_go)

    def _let_go(self) -> None:
        """Release the socket, then tell the bus what paho had to tell it meanwhile: so a
        handler that blocks (an inbox full of QoS 1 events holds back the broker) never
        holds up a thread that publishes.

        Every ``_socket_lock.acquire()`` is followed by ``try: ... finally: _let_go()``,
        written out rather than as a context manager, which costs 4 us a message here.
        """
        if not self._news:  # as after most writes
            self._socket_lock.release()
            return
        news = self._news.copy()
        self._news.clear()
        self._socket_lock.release()
        for tell in news:
            tell()
        if self._acks_queued:
            self._acks_queued = False
            self._write()

    # -- the loop's thread -------------------------------------------------------

    def _run(self, callbacks: Callbacks) -> None:
        """Connect, serve the connection until it is lost, wait, and again, until stopped."""
        while not self._stopping.is_set():
            self._socket_lock.acquire()
            try:
                self._client.reconnect()
                opened = True
            except OSError:  # refused, unreachable, unknown host, TLS handshake failed
                opened = False
            finally:
                self._let_go()
            if opened:
                self._serve()
            else:
                callbacks.unreachable()
            if self._stopping.is_set():
                return
            # As paho's own loop does: 1 s after a loss, doubling while the broker stays away.
            delay = _MIN_DELAY if self._retry_delay is None else self._retry_delay * 2
            self._retry_delay = min(delay, _MAX_DELAY)
            self._stopping.wait(self._retry_delay)

    def _serve(self) -> None:
        client = self._client
        while True:
            sock = client.socket()
            if sock is None:
                return
            waiting = waits(client, sock)
            if self._stopping.is_set() and not waiting:
                return
            # Bytes read ahead (ours, and TLS's decrypted ones) are not seen by select.
            buffered = bool(getattr(sock, "pending", lambda: 0)())
            # Cleared before the burst is looked at, and set after: a publisher either
            # sees it cleared and wakes this thread, or held its message before the look.
            self._watching = False
            holding = self._watching = self._holding()
            try:
                readable, _, _ = select.select(
                    [sock, self._wake_reader],
                    [sock] if waiting and not holding else [],
                    [],
                    0.0 if buffered else (_BURST_GAP if holding else _TICK),
                )
            except (OSError, ValueError):  # closed under us, by a writer that found it lost
                continue
            if self._wake_reader in readable:
                with contextlib.suppress(OSError):
                    self._wake_reader.recv(4096)
            if buffered or sock in readable:
                self._read()
            self._socket_lock.acquire()
            try:
                client.loop_misc()  # keepalive: ping, or give up on a silent broker
                if not self._holding():
                    self._send_queued()
            finally:
                self._let_go()

    def _holding(self) -> bool:
        """Whether a burst's messages are held because the burst goes on."""
        return bool(self._held) and time.monotonic() - self._last_publish < _BURST_GAP

    def _read(self) -> None:
        """Read messages while they come, not one per ``select`` as paho's loop does."""
        client, lock = self._client, self._socket_lock
        for _ in range(_READS_PER_WAKE):
            lock.acquire()
            try:
                read = client.loop_read()
                found = bool(self._news)  # a message (or news of the connection)
            finally:
                self._let_go()
            if read != MQTTErrorCode.MQTT_ERR_SUCCESS or not found:
                return  # lost, or nothing more to read
