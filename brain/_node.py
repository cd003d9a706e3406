"""Node base classes: a node is one process on the bus with options and a lifecycle.

``start`` opens resources, ``run`` does the node's own work (a camera's capture
loop) until ``stop`` is set, ``close`` lets go of what ``start`` took. What a node
reads is declared on its handlers with ``@on``: the base class subscribes them and
runs them on the node's inbox thread. The runner calls all of this in order, and
publishes the node's stats every ``stats_interval``.
"""

from __future__ import annotations

import abc
import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import structlog
from pydantic import BaseModel, ConfigDict, Field

from brain._bus import Bus
from brain._inbox import Inbox, Queue
from brain._stats import Counters
from brain._transport import Sent
from brain._wiring import On, declared, on
from schemas import ErrorEvent, Event, Perception, SenseEvent, Stats, StatValue

if TYPE_CHECKING:
    from brain._plugins import Catalog


class NodeOptions(BaseModel):
    """Options every node has. Subclasses add their own; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stats_interval: float = Field(
        default=5.0, gt=0, description="Seconds between two messages on the stats topic."
    )
    keepalive: int = Field(
        default=30,
        ge=1,
        le=3600,
        description="Seconds between MQTT pings: the broker counts a node it has not heard "
        "from in 1.5 times this as gone (and gives its share of the frames to the others).",
    )


O = TypeVar("O", bound=NodeOptions)  # noqa: E741 - the conventional name for an options type

#: Events every node may publish, whatever it declares.
_ALWAYS_PUBLISHED: tuple[type[Event], ...] = (Stats, ErrorEvent)


class Node(Generic[O]):
    """Base of every node. Set ``name`` (the word users type), ``Options``, ``publishes``,
    and mark the methods that handle events with ``@on``."""

    name: ClassVar[str] = ""
    Options: ClassVar[type[NodeOptions]] = NodeOptions
    #: The events this node writes; ``publish`` refuses others. With the ``@on``
    #: handlers, this is its wiring, which ``brain list`` shows.
    publishes: ClassVar[tuple[type[Event], ...]] = ()
    #: Made from the ``@on`` handlers when the class is defined.
    subscribes: ClassVar[tuple[On, ...]] = ()
    #: Nodes this one needs running to be of use (the alerts need the visits' tracks):
    #: ``brain run`` starts those not named with it.
    needs: ClassVar[tuple[str, ...]] = ()
    #: True: the broker keeps this node's session while it restarts, and holds the QoS 1
    #: events that arrive meanwhile (one instance per host, prefix and name).
    persistent: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.subscribes = declared(cls)

    def __init__(self, *, bus: Bus, options: O, catalog: Catalog | None = None) -> None:
        self.bus = bus
        self.options = options
        #: The plugins found for this run, for nodes that load plugins of their own.
        self.catalog = catalog
        self.topics = bus.topics
        #: The node's own counts; the runner publishes them with the bus's.
        self.stats = Counters()
        self.log = structlog.get_logger().bind(node=self.name)
        self.inbox = Inbox(stats=self.stats, on_error=self._handler_failed)
        self._woken = threading.Event()

    @property
    def source(self) -> str:
        """Whose stats these are (the ``source`` of its stats): a camera's name."""
        return self.name

    # -- lifecycle (the runner calls these) --------------------------------------

    def start(self) -> None:
        """Open resources; called once, before the handlers are subscribed and ``run``."""

    def run(self, stop: threading.Event) -> None:
        """Do the node's own work until ``stop`` is set. Event-driven nodes just wait."""
        stop.wait()

    def close(self) -> None:
        """Release what ``start`` opened; called once after a ``start`` that returned, even
        after an error. (A ``start`` that raises closes what it opened itself.)"""

    def current_stats(self) -> dict[str, StatValue]:
        """The node's readings now (fps, outbox...), added to its counts in each stats message."""
        return {}

    def connected(self) -> None:
        """Called on the inbox thread after each connection to the broker, the first and
        every one after a broker restart: say retained states again here."""

    def wire(self) -> None:
        """Subscribe every ``@on`` handler, through the inbox; and ``connected``."""
        # One waiting call stands for any number of reconnections.
        once = Queue(size=1, dropped="reconnections_merged")
        reconnected = self.inbox.add(once, self._reconnected, None, name="connected")
        self.bus.when_connected(functools.partial(reconnected, True))
        for declaration in self.subscribes:
            handler = getattr(self, declaration.method)
            to_inbox = _post_alone
            if declaration.with_keys:  # the topic goes along, for the handler's keys
                handler = functools.partial(self._with_keys, declaration.event, handler)
                to_inbox = _post_with_topic
            post = self.inbox.add(declaration.keep, handler, self.options, name=declaration.method)
            shared, keys = declaration.resolve(self.options)
            deliver = functools.partial(to_inbox, post)
            self.bus.subscribe(declaration.event, deliver, shared=shared, **keys)

    # -- for the node's own code ----------------------------------------------------

    def publish(self, event: Event, **keys: str) -> Sent:
        """Publish one of the events this node declares in ``publishes``."""
        if not isinstance(event, (*self.publishes, *_ALWAYS_PUBLISHED)):
            raise TypeError(
                f"{type(self).__name__} publishes {type(event).__name__}, which it does not "
                "declare: add it to its `publishes`"
            )
        return self.bus.publish(event, **keys)

    def listen(
        self, topic_filter: str, handler: Callable[[str, bytes], None], *, keep: Queue | None = None
    ) -> None:
        """Hear a topic outside the contract's events (the plain-text status, another
        system's topics), or every topic as it is: ``handler(topic, payload)`` on the inbox
        thread, in order, an empty payload included (a retained message cleared). Call it
        in ``start``."""
        post = self.inbox.add(
            keep or Queue(), lambda heard: handler(*heard), None, name=handler.__name__
        )
        self.bus.subscribe_raw(topic_filter, lambda topic, payload: post((topic, bytes(payload))))

    def sleep(self, seconds: float | None) -> None:
        """Wait ``seconds`` (None: until woken), or less when ``wake`` is called."""
        self._woken.wait(seconds)
        self._woken.clear()

    def wake(self) -> None:
        """Cut a ``sleep`` short: work came, or the node is stopping. Any thread."""
        self._woken.set()

    def stopping(self) -> None:
        """Told (on another thread) that ``stop`` is set: end whatever ``run`` waits on.
        Override it when ``run`` waits on something other than ``sleep``."""
        self.wake()

    def _reconnected(self, _: object) -> None:
        self.connected()

    def _with_keys(self, kind: type[Event], handler: Any, received: tuple[Event, str]) -> None:
        event, topic = received
        handler(event, self.topics.keys(kind, topic))

    def _handler_failed(self, name: str, error: Exception) -> None:
        self.log.error("handler failed", handler=name, exc_info=error)
        self.bus.report_error(f"handler {name} failed: {type(error).__name__}: {error}")


def _post_alone(post: Any, event: Event, topic: str) -> None:
    post(event)


def _post_with_topic(post: Any, event: Event, topic: str) -> None:
    post((event, topic))


class Sense(Node[O]):
    """A node that publishes sense events on ``{prefix}/senses/{sense}/{source}/{kind}``."""

    #: The topic level after ``senses/``; defaults to the node's name.
    sense: ClassVar[str] = ""

    def emit(self, event: SenseEvent) -> Sent:
        """Publish a sense event; the info tells when it has left this process."""
        return self.publish(event, sense=self.sense or self.name)


class Effector(Node[O], abc.ABC):
    """A node that acts on perceptions."""

    @on(Perception)
    @abc.abstractmethod
    def perceive(self, perception: Perception) -> None:
        """Act on one perception; runs on the node's inbox thread."""
