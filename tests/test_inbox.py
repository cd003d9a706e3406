"""The inbox alone: what waits, what is dropped and counted, in which order handlers run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from brain import Latest, Queue, option
from brain._inbox import Inbox
from brain._stats import Counters

WAIT = 30  # seconds: room for a busy machine; the tests wait on events, not on this


@dataclass(frozen=True)
class Item:
    source: str
    n: int


@dataclass(frozen=True)
class Settings:
    batch: int = 4
    gather_ms: float = 0.0


class Served:
    """An inbox on a thread of its own, and what its handlers were given."""

    def __init__(self) -> None:
        self.stats = Counters()
        self.errors: list[str] = []
        self.inbox = Inbox(stats=self.stats, on_error=lambda _h, e: self.errors.append(str(e)))
        self.handled: list[Any] = []
        self.gate = threading.Event()  # a handler that waits here stands for slow work
        self.gate.set()

    def handler(self, name: str) -> Any:
        def handle(work: Any) -> None:
            self.gate.wait(WAIT)
            self.handled.append((name, work))

        return handle

    def start(self) -> None:
        self.thread = threading.Thread(target=self.inbox.serve, daemon=True)
        self.thread.start()

    def idle(self) -> None:
        assert self.inbox.wait_idle(WAIT), "the inbox did not empty"


@pytest.fixture
def served() -> Iterator[Served]:
    served = Served()
    yield served
    served.inbox.close()


def test_only_the_newest_event_of_each_source_waits_and_the_rest_are_counted(
    served: Served,
) -> None:
    post = served.inbox.add(Latest(per="source"), served.handler("frames"), Settings())
    for n in range(10):
        post(Item("door", n))
    post(Item("garden", 0))
    served.start()
    served.idle()
    assert served.handled == [("frames", Item("door", 9)), ("frames", Item("garden", 0))]
    assert served.stats.get("dropped") == 9


def test_frames_that_wait_together_are_one_batch_of_different_sources(served: Served) -> None:
    keep = Latest(per="source", batch=option("batch"), gather_ms=option("gather_ms"))
    post = served.inbox.add(keep, served.handler("frames"), Settings(batch=2))
    for source in ("a", "b", "c"):
        post(Item(source, 0))
    served.start()
    served.idle()
    assert served.handled == [
        ("frames", [Item("a", 0), Item("b", 0)]),
        ("frames", [Item("c", 0)]),
    ]


def test_a_full_queue_drops_its_oldest_and_counts_it(served: Served) -> None:
    post = served.inbox.add(Queue(size=3, dropped="dropped_backlog"), served.handler("q"), None)
    for n in range(5):
        post(Item("kitchen", n))
    served.start()
    served.idle()
    assert [work.n for _, work in served.handled] == [2, 3, 4]
    assert served.stats.get("dropped_backlog") == 2


def test_events_that_waited_too_long_are_dropped_as_stale(served: Served) -> None:
    post = served.inbox.add(Queue(max_age=0.0), served.handler("q"), None)
    post(Item("kitchen", 0))
    post(Item("kitchen", 1))
    served.start()
    served.idle()
    assert served.handled == []
    assert served.stats.get("dropped_stale") == 2


def test_handlers_run_in_the_order_their_events_came(served: Served) -> None:
    frames = served.inbox.add(Queue(), served.handler("frame"), None)
    perceptions = served.inbox.add(Queue(), served.handler("perception"), None)
    frames(Item("door", 0))
    perceptions(Item("door", 0))
    frames(Item("door", 1))
    served.start()
    served.idle()
    assert [name for name, _ in served.handled] == ["frame", "perception", "frame"]


def test_a_poster_before_ack_returns_only_once_its_event_is_handled(served: Served) -> None:
    post = served.inbox.add(Queue(before_ack=True), served.handler("q"), None)
    served.gate.clear()
    served.start()
    returned = threading.Event()
    poster = threading.Thread(target=lambda: (post(Item("door", 0)), returned.set()))
    poster.start()
    assert not returned.wait(0.3), "the poster returned before the handler ran"
    served.gate.set()
    assert returned.wait(WAIT)
    assert served.handled == [("q", Item("door", 0))]


def test_closing_releases_a_waiting_poster_and_ends_serve(served: Served) -> None:
    post = served.inbox.add(Queue(before_ack=True), served.handler("q"), None)
    poster = threading.Thread(target=post, args=(Item("door", 0),))
    poster.start()  # nothing serves: it waits
    served.start()
    served.gate.clear()
    served.inbox.close()
    served.gate.set()
    poster.join(WAIT)
    served.thread.join(WAIT)
    assert not poster.is_alive() and not served.thread.is_alive()


def test_a_failing_handler_is_reported_and_the_next_event_is_handled(served: Served) -> None:
    def fragile(work: Item) -> None:
        if work.n == 0:
            raise ValueError("broken")
        served.handled.append(work)

    post = served.inbox.add(Queue(), fragile, None)
    post(Item("door", 0))
    post(Item("door", 1))
    served.start()
    served.idle()
    assert served.errors == ["broken"] and served.handled == [Item("door", 1)]
