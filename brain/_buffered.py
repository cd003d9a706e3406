"""paho's socket, read and written through buffers: a burst of messages a system call.

paho reads a message with three or four system calls and writes each message with one
of its own; on the way to a broker on the same machine every write also delivers the
message and wakes the broker. ``BufferedClient`` is paho's client with its socket
wrapped in a ``BufferedSocket``; ``brain/_transport.py`` decides when to ``flush``.
"""

from __future__ import annotations

import contextlib
from typing import Any

import paho.mqtt.client as mqtt

#: Bytes a read asks for at most: a burst of small messages, or part of a frame.
_READ_AHEAD = 65536
#: Bytes written but not yet sent that make paho hold further messages itself.
_WRITE_BEHIND = 1 << 18
#: Seconds ``close`` waits for the last bytes (paho's DISCONNECT) to leave.
_CLOSE_TIMEOUT = 5.0


class BufferedSocket:
    """A socket that paho reads from and writes to through buffers, a burst at a time.

    paho reads a message with three or four system calls (the command byte, each
    length byte, then the rest), and writes each message with one of its own. Through
    this, a burst of messages costs one read, and what one ``loop_write`` writes leaves
    in one ``send`` (``flush``). Bytes read ahead count as ``pending``, which paho's
    loop and ours check (as for TLS) before waiting in ``select``. The rest is the
    socket's own.
    """

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._read = bytearray()
        self._unsent = bytearray()

    def recv(self, size: int) -> bytes:
        if not self._read:
            data = self._sock.recv(_READ_AHEAD)  # raises as the socket does when empty
            if not data:
                return b""  # closed by the broker
            self._read += data
        chunk = bytes(self._read[:size])
        del self._read[:size]  # cheap: a bytearray drops its front in place
        return chunk

    def pending(self) -> int:
        own = getattr(self._sock, "pending", None)
        return len(self._read) + (own() if own is not None else 0)

    def send(self, data: bytes | bytearray) -> int:
        if len(self._unsent) >= _WRITE_BEHIND:
            raise BlockingIOError  # paho keeps the message, and asks to write later
        self._unsent += data
        return len(data)

    @property
    def unsent(self) -> bool:
        return bool(self._unsent)

    def flush(self) -> None:
        """Send what paho wrote; what the socket cannot take now waits for the next."""
        while self._unsent:
            try:
                sent = self._sock.send(self._unsent)
            except OSError:
                # Full (TLS's "want read/write" too): the rest waits for the next flush.
                # Lost: the reader finds out, and paho sends QoS 1 again after reconnecting.
                return
            del self._unsent[:sent]

    def close(self) -> None:
        # paho closes the socket right after it writes DISCONNECT: send that first.
        if self._unsent:
            with contextlib.suppress(OSError):
                self._sock.settimeout(_CLOSE_TIMEOUT)
                self._sock.sendall(self._unsent)
        self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def waits(client: mqtt.Client, sock: Any) -> bool:
    """Whether anything paho queued, or wrote into ``sock``, has not been sent yet."""
    return client.want_write() or (isinstance(sock, BufferedSocket) and sock.unsent)


class BufferedClient(mqtt.Client):
    """paho's client, reading and writing through a ``BufferedSocket``.

    paho has no public hook for the socket it makes; ``_create_socket`` is where it
    wraps its own (for WebSockets), so brain wraps there too. A paho release that
    renames it fails ``tests/test_transport.py`` rather than slowing every node unseen.
    """

    def _create_socket(self) -> Any:
        return BufferedSocket(super()._create_socket())
