"""A node's inbox: the one way work leaves the bus thread.

The bus thread only validates a message and posts it here; the node's handlers run
one at a time on the node's inbox thread, in the order their events arrived. Each
handler says how much may wait for it:

- ``Latest(per="source")``: only the newest event of each source waits (a camera
  that outpaces the model loses older frames, never latency); optionally in batches.
- ``Queue(size=...)``: a bounded line; when it is full the oldest waiting event goes,
  and what is dropped is counted.

The thread sleeps until an event comes or the inbox closes: it never polls.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from brain._stats import Counters


@dataclass(frozen=True)
class Option:
    """A number a node's options give, read when the node starts: ``option("batch")``."""

    name: str


def option(name: str) -> Any:
    """Stands for ``options.<name>`` in a declaration (``Queue(size=option("queue"))``)."""
    return Option(name)


def _resolve(value: Any, options: Any) -> Any:
    return getattr(options, value.name) if isinstance(value, Option) else value


@dataclass(frozen=True)
class Latest:
    """Only the newest event per ``per`` (a field of the event) waits.

    ``batch``: the handler gets a list of up to this many (of different sources); the
    first waits ``gather_ms`` for others to share its batch.
    """

    per: str = "source"
    batch: int | None = None
    gather_ms: float = 0.0
    #: The counter of events replaced by a newer one before they were handled.
    dropped: str = "dropped"

    def mailbox(self, options: Any) -> _Mailbox:
        batch = _resolve(self.batch, options)
        gather = _resolve(self.gather_ms, options) / 1000
        return _LatestMailbox(self.per, batch, gather, self.dropped)


@dataclass(frozen=True)
class Queue:
    """A line of at most ``size`` events; when full, the oldest goes (counted).

    ``max_age``: an event that waited longer is dropped too (counted in ``STALE``).
    ``before_ack``: the bus thread waits until the handler has run, so the broker's
    acknowledgement (and, in a persistent session, its forgetting the message) comes
    after the work: a kill then loses nothing. Only for quick handlers.
    """

    size: int = 100
    max_age: float | None = None
    dropped: str = "dropped"
    before_ack: bool = False

    def mailbox(self, options: Any) -> _Mailbox:
        size, max_age = _resolve(self.size, options), _resolve(self.max_age, options)
        return _QueueMailbox(size, max_age, self.dropped, self.before_ack)


Keep = Latest | Queue
#: The figure of events dropped for waiting longer than ``Queue.max_age``.
STALE = "dropped_stale"


class _Mailbox:
    """What waits for one handler; guarded by the inbox's lock."""

    def __init__(self, dropped: str) -> None:
        self.dropped = dropped
        self.name = ""  # the handler's, for error reports

    def stat_names(self) -> tuple[str, ...]:
        """The names of the stats it counts drops in."""
        return (self.dropped,)

    def put(self, seq: int, now: float, event: Any) -> tuple[bool, threading.Event | None]:
        """Add an event; False when one waiting had to go for it, and what will be set
        once it is handled (for a poster that waits)."""
        raise NotImplementedError

    def head(self) -> tuple[int, float] | None:
        """Arrival number and time at which the next take is ready; None: nothing waits."""
        raise NotImplementedError

    def take(self, now: float) -> tuple[Any, int]:
        """What to hand to the handler now (None: it all expired), and how many expired."""
        raise NotImplementedError

    def handled(self) -> None:
        """The last take has been handled."""

    def release(self) -> None:
        """Stop every poster waiting: the inbox is closing."""

    def __len__(self) -> int:
        raise NotImplementedError


class _LatestMailbox(_Mailbox):
    def __init__(self, per: str, batch: int | None, gather: float, dropped: str) -> None:
        super().__init__(dropped)
        self._per, self._batch, self._gather = per, batch, gather
        self._waiting: OrderedDict[Any, tuple[int, float, Any]] = OrderedDict()

    def put(self, seq: int, now: float, event: Any) -> tuple[bool, threading.Event | None]:
        key = getattr(event, self._per)
        replaced = self._waiting.pop(key, None) is not None  # the newer one queues at the back
        self._waiting[key] = (seq, now, event)
        return not replaced, None

    def head(self) -> tuple[int, float] | None:
        if not self._waiting:
            return None
        seq, arrived, _ = next(iter(self._waiting.values()))
        if self._batch is None or len(self._waiting) >= self._batch:
            return seq, arrived
        return seq, arrived + self._gather

    def take(self, now: float) -> tuple[Any, int]:
        if self._batch is None:
            return self._waiting.popitem(last=False)[1][2], 0
        taken: list[Any] = []
        while self._waiting and len(taken) < self._batch:
            taken.append(self._waiting.popitem(last=False)[1][2])
        return taken, 0

    def __len__(self) -> int:
        return len(self._waiting)


class _QueueMailbox(_Mailbox):
    def __init__(self, size: int, max_age: float | None, dropped: str, wait: bool) -> None:
        super().__init__(dropped)
        self._max_age, self._wait = max_age, wait
        self._waiting: deque[tuple[int, float, Any, threading.Event | None]] = deque()
        self._size = size
        self._taken: threading.Event | None = None  # of the event being handled

    def stat_names(self) -> tuple[str, ...]:
        return (self.dropped, STALE) if self._max_age is not None else (self.dropped,)

    def put(self, seq: int, now: float, event: Any) -> tuple[bool, threading.Event | None]:
        room = len(self._waiting) < self._size
        if not room:
            self._done(self._waiting.popleft()[3])
        done = threading.Event() if self._wait else None
        self._waiting.append((seq, now, event, done))
        return room, done

    def head(self) -> tuple[int, float] | None:
        return self._waiting[0][:2] if self._waiting else None

    def take(self, now: float) -> tuple[Any, int]:
        expired = 0
        while self._max_age is not None and now - self._waiting[0][1] > self._max_age:
            self._done(self._waiting.popleft()[3])
            expired += 1
            if not self._waiting:
                return None, expired
        _, _, event, self._taken = self._waiting.popleft()
        return event, expired

    def handled(self) -> None:
        self._done(self._taken)
        self._taken = None

    def release(self) -> None:
        self.handled()
        for *_, done in self._waiting:
            self._done(done)

    @staticmethod
    def _done(done: threading.Event | None) -> None:
        if done is not None:
            done.set()

    def __len__(self) -> int:
        return len(self._waiting)


Handler = Callable[[Any], None]
OnError = Callable[[str, Exception], None]


class Inbox:
    """The events waiting for a node's handlers. ``post`` from any thread; ``serve`` on one."""

    def __init__(self, *, stats: Counters, on_error: OnError) -> None:
        self._stats = stats
        self._on_error = on_error
        self._boxes: list[tuple[_Mailbox, Handler]] = []
        self._changed = threading.Condition()
        self._arrivals = itertools.count()
        self._closing = False  # what waits (and comes) is handled until `_drain_until`
        self._drain_until = 0.0
        self._closed = False  # serve has ended: what comes now is dropped
        self._handling = False

    def add(
        self, keep: Keep, handler: Handler, options: Any, *, name: str = ""
    ) -> Callable[[Any], None]:
        """Make a mailbox for ``handler`` (``name``, in error reports); return the function
        that posts to it. ``options`` give the numbers ``option(...)`` stands for."""
        box = keep.mailbox(options)
        box.name = name or getattr(handler, "__name__", "handler")
        self._boxes.append((box, handler))
        for counter in box.stat_names():  # stats from the start, not from the first drop
            self._stats.add(counter, 0)

        def post(event: Any) -> None:
            with self._changed:
                if self._closed:
                    self._stats.add("dropped_at_stop")
                    return
                kept, done = box.put(next(self._arrivals), time.monotonic(), event)
                if not kept:
                    self._stats.add(box.dropped)
                self._changed.notify_all()
            if done is not None:  # the poster waits until it is handled, or the inbox closes
                done.wait()

        return post

    def depth(self) -> int:
        """Events waiting now, over all handlers."""
        with self._changed:
            return sum(len(box) for box, _ in self._boxes)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing waits and no handler runs (for tests); False on timeout."""
        with self._changed:
            return self._changed.wait_for(
                lambda: not self._handling and not self._waiting(), timeout
            )

    def close(self, *, drain: float = 0.0) -> None:
        """End ``serve``: at once, or once what waits is handled, for at most ``drain``
        seconds (what comes meanwhile is handled too). Callable from any thread."""
        with self._changed:
            self._closing = True
            self._drain_until = time.monotonic() + drain
            self._changed.notify_all()

    def serve(self) -> None:
        """Run handlers as their events come, oldest first, until ``close``."""
        while True:
            with self._changed:
                chosen = self._wait_for_work()
                if chosen is None:
                    return
                box, handler = chosen
                work, expired = box.take(time.monotonic())
                self._handling = True
            if expired:
                self._stats.add(STALE, expired)
            if work is not None:
                try:
                    handler(work)
                except Exception as error:  # a handler's bug must not take the node down
                    self._on_error(box.name, error)
            with self._changed:
                box.handled()
                self._handling = False
                self._changed.notify_all()

    def _wait_for_work(self) -> tuple[_Mailbox, Handler] | None:
        while True:
            now = time.monotonic()
            if self._closing and (now >= self._drain_until or not self._waiting()):
                self._closed = True
                for box, _ in self._boxes:
                    box.release()
                self._changed.notify_all()
                return None
            ready, wake_at = None, None
            for box, handler in self._boxes:
                head = box.head()
                if head is None:
                    continue
                seq, ready_at = head
                if ready_at <= now or self._closing:  # closing: no batch waits for company
                    if ready is None or seq < ready[0]:
                        ready = (seq, box, handler)
                elif wake_at is None or ready_at < wake_at:
                    wake_at = ready_at
            if ready is not None:
                return ready[1], ready[2]
            self._changed.wait(None if wake_at is None else wake_at - now)

    def _waiting(self) -> bool:
        return any(len(box) for box, _ in self._boxes)
