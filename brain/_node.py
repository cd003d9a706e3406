"""Node base classes: a node is one process on the bus with options and a lifecycle.

``start`` subscribes and opens resources, ``run`` does the node's work until
``stop`` is set, ``close`` lets go of what ``start`` took. The runner calls them
in that order, and publishes the node's figures every ``stats_interval``.
"""

from __future__ import annotations

import abc
import threading
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

import structlog
from paho.mqtt.client import MQTTMessageInfo
from pydantic import BaseModel, ConfigDict, Field

from brain._bus import Bus
from brain._stats import Counters
from schemas import Event, Perception, SenseEvent, StatValue

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


class FatalError(Exception):
    """A problem restarting cannot fix (no device, bad credentials, no weights).

    The node exits with ``EXIT_FATAL`` and the supervisor does not restart it;
    the message is the one sentence that tells the user what to do.
    """


class Node(Generic[O]):
    """Base of every node. Set ``name`` (the word users type) and ``Options``."""

    name: ClassVar[str] = ""
    Options: ClassVar[type[NodeOptions]] = NodeOptions
    #: The events this node writes and reads, for ``brain list`` and the docs.
    publishes: ClassVar[tuple[type[Event], ...]] = ()
    subscribes: ClassVar[tuple[type[Event], ...]] = ()
    #: True: the broker keeps this node's session while it restarts, and holds the QoS 1
    #: events that arrive meanwhile (one instance per host, prefix and name).
    persistent: ClassVar[bool] = False

    def __init__(self, *, bus: Bus, options: O, catalog: Catalog | None = None) -> None:
        self.bus = bus
        self.options = options
        #: The plugins found for this run, for nodes that load plugins of their own.
        self.catalog = catalog
        self.topics = bus.topics
        #: The node's own figures; the runner publishes them with the bus's.
        self.stats = Counters()
        self.log = structlog.get_logger()

    def start(self) -> None:
        """Subscribe and open resources; called once, before ``run``."""

    def run(self, stop: threading.Event) -> None:
        """Do the node's work until ``stop`` is set. Event-driven nodes just wait."""
        stop.wait()

    def close(self) -> None:
        """Release what ``start`` opened; called once, even after an error."""

    def figures(self) -> dict[str, StatValue]:
        """Node-specific figures (fps, queue depth...) added to each stats message."""
        return {}


class Sense(Node[O]):
    """A node that publishes sense events on ``{prefix}/senses/{sense}/{source}/{kind}``."""

    #: The topic level after ``senses/``; defaults to the node's name.
    sense: ClassVar[str] = ""

    def emit(self, event: SenseEvent) -> MQTTMessageInfo:
        """Publish a sense event; the info tells when it has left this process."""
        sense = self.sense or self.name
        return self.bus.publish(self.topics.sense(sense, event.source, event.KIND), event)


class Effector(Node[O], abc.ABC):
    """A node that acts on perceptions."""

    subscribes: ClassVar[tuple[type[Event], ...]] = (Perception,)

    def start(self) -> None:
        self.bus.subscribe(self.topics.perception(), Perception, self.perceive)

    @abc.abstractmethod
    def perceive(self, perception: Perception) -> None:
        """Act on one perception. Runs on the bus thread: hand slow work to a thread."""
