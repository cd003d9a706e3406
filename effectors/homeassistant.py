"""Home Assistant: brain's cameras, rules and nodes as entities, through MQTT discovery.

Per camera: "Person" and "Stranger" (on while seen, off after a quiet time), "Seen" (the
last sentence), "Visitors" (who is there now, from the visits) and "Last alert" (its
snapshot). Per alert rule: a switch that arms it.
Per node: whether it runs. The configs are said again whenever Home Assistant says it
is back (its birth message) and after every connection to the broker, so no entity is
left "unavailable"; a camera that is removed loses its entities.
"""

from __future__ import annotations

import json
import math
import threading
import time
from importlib.metadata import version
from pathlib import Path

from pydantic import Field

from brain import Latest, Node, NodeOptions, on, state_dir
from brain.faces import visitor
from brain.files import write_whole
from effectors._discovery import OFF, ON, Config, Discovery
from schemas import (
    UNIDENTIFIED,
    Alert,
    Command,
    Perception,
    State,
    StatValue,
    TopicName,
    Track,
)

#: Seconds between two writes of when each camera was last seen (not every frame).
_REMEMBER_EVERY = 3600.0
#: Who each camera state is of, and the label that turns it on.
_PRESENCES = {"person": "person", "stranger": "stranger"}
#: What the visitors sensor says when nobody is there.
NOBODY = "nobody"


def _default_memory() -> Path:
    return state_dir() / "homeassistant.json"


class HomeAssistantOptions(NodeOptions):
    discovery_prefix: TopicName = Field(
        default="homeassistant", description="Home Assistant's discovery prefix."
    )
    cameras: list[TopicName] = Field(
        default_factory=list,
        description="The cameras to show; a camera left out is removed. Empty: each camera "
        "once it is seen, until it is not seen for `forget_after`.",
    )
    quiet: float = Field(
        default=30.0, gt=0, description="Seconds without a person (a stranger) before it is off."
    )
    forget_after: float = Field(
        default=7 * 86400.0, gt=0, description="Seconds unseen before a seen camera is removed."
    )
    visit_quiet: float = Field(
        default=120.0,
        gt=0,
        description="Seconds without word of a visit before its visitor is taken as gone "
        "(the visits node stopped before it said the visit ended).",
    )
    memory: Path = Field(
        default_factory=_default_memory, description="What was shown, kept across restarts."
    )


class HomeAssistant(Node[HomeAssistantOptions]):
    """Shows brain in Home Assistant, through MQTT discovery."""

    name = "homeassistant"
    Options = HomeAssistantOptions
    publishes = (State,)
    needs = ("visits",)  # who is at each camera now

    def start(self) -> None:
        options = self.options
        self._discovery = Discovery(options.discovery_prefix, self.topics.prefix, version("brain"))
        self._lock = threading.Lock()  # the handlers' thread and `run` share what is seen
        self._seen = self._recall()
        self._gone = [c for c in self._seen if not self._kept(c, time.time())]
        for camera in options.cameras:
            self._seen.setdefault(camera, time.time())
        self._remember()  # what will be shown: to be removed when it is taken out
        self._remember_at = time.monotonic() + _REMEMBER_EVERY
        self._on_until: dict[tuple[str, str], float] = {}  # (camera, what): when it goes off
        self._said: dict[str, str] = {}  # the last value of each state said
        self._snapshots: dict[str, bytes] = {}  # each camera's last alert's, said again
        self._rules: set[str] = set()
        self._nodes: set[str] = set()
        # Per camera, each visit there now: who (as said), and when it was last heard of.
        self._visitors: dict[str, dict[str, tuple[str, float]]] = {}
        self.listen(f"{options.discovery_prefix}/status", self.home_assistant_status)
        self.listen(self.topics.status(), self.node_status)

    # -- saying everything again ---------------------------------------------------

    def connected(self) -> None:
        """After every connection: the broker may have lost what was retained."""
        self._said.clear()
        self._announce_all()

    def home_assistant_status(self, _topic: str, payload: bytes) -> None:
        if payload == b"online":  # Home Assistant (re)started: it wants the configs again
            self.log.info("home assistant is back; saying the configs again")
            self._announce_all()

    def _announce_all(self) -> None:
        with self._lock:
            for camera in self._gone:
                self._remove_camera(camera)
            self._gone = []
            cameras = sorted(self._seen)
        for camera in cameras:
            self._announce_camera(camera)
            with self._lock:
                snapshot = self._snapshots.get(camera)
            if snapshot is not None:  # a broker that restarted lost the retained image
                self._publish_snapshot(camera, snapshot)
        for rule in sorted(self._rules):
            self._say_config(self._rule_config(rule))
        for node in sorted(self._nodes):
            self._say_config(self._node_config(node))
        self.stats.add("announcements")

    # -- cameras ----------------------------------------------------------------------

    @on(Perception, sense="camera", keep=Latest(per="source"))
    def perceived(self, perception: Perception) -> None:
        camera, now = perception.source, time.time()
        with self._lock:
            new = camera not in self._seen
            if new and self.options.cameras:
                return  # a camera the user did not list
            self._seen[camera] = now
            if new:
                self._remember()
        if new:
            self._announce_camera(camera)
        labels = {label.label for label in perception.labels}
        for what, label in _PRESENCES.items():
            if label in labels:
                with self._lock:
                    self._on_until[(camera, what)] = time.monotonic() + self.options.quiet
                self._say(f"{camera}-{what}", ON)
        self._say(f"{camera}-seen", perception.text[:200])
        self.wake()  # `run` works out when each goes off

    @on(Track)
    def visited(self, track: Track) -> None:
        """Who is at the camera now: a person's visit, from its start to its end."""
        if track.label != "person":
            return
        with self._lock:
            if track.source not in self._seen:
                return
            visitors = self._visitors.setdefault(track.source, {})
            if track.state == "ended":
                visitors.pop(track.track, None)
            else:
                who = visitor(track.identity or UNIDENTIFIED)
                visitors[track.track] = (who, time.monotonic())
        self._say_visitors(track.source)
        self.wake()

    def _say_visitors(self, camera: str) -> None:
        with self._lock:
            who = sorted(name for name, _ in self._visitors.get(camera, {}).values())
        self._say(f"{camera}-visitors", ", ".join(who)[:200] or NOBODY)

    @on(Alert)
    def alerted(self, alert: Alert) -> None:
        with self._lock:
            if alert.snapshot is None or alert.source not in self._seen:
                return
            self._snapshots[alert.source] = alert.snapshot.data
        self._publish_snapshot(alert.source, alert.snapshot.data)

    def _publish_snapshot(self, camera: str, data: bytes) -> None:
        self.bus.publish_raw(self._snapshot_topic(camera), data, qos=1, retain=True)

    def run(self, stop: threading.Event) -> None:
        """Turn presences off after the quiet time, and forget cameras long unseen."""
        while not stop.is_set():
            now = time.monotonic()
            with self._lock:
                quiet = [key for key, until in self._on_until.items() if until <= now]
                for key in quiet:
                    del self._on_until[key]
                forgotten = [c for c in self._seen if not self._kept(c, time.time())]
                for camera in forgotten:
                    self._remove_camera(camera)
                if now >= self._remember_at:  # when each was last seen, for the next start
                    self._remember()
                    self._remember_at = now + _REMEMBER_EVERY
                next_off = min(self._on_until.values(), default=None)
            for camera, what in quiet:
                self._say(f"{camera}-{what}", OFF)
            for camera in self._forget_visitors(now):
                self._say_visitors(camera)
            if any(self._visitors.values()):
                next_off = min(next_off or math.inf, now + self.options.visit_quiet / 4)
            wait = _REMEMBER_EVERY if next_off is None else min(_REMEMBER_EVERY, next_off - now)
            self.sleep(wait)

    def _forget_visitors(self, now: float) -> list[str]:
        """The cameras some visit of which went unheard of for too long (forgotten)."""
        changed = []
        with self._lock:
            for camera, visitors in self._visitors.items():
                gone = [
                    v
                    for v, (_, heard) in visitors.items()
                    if now - heard > self.options.visit_quiet
                ]
                for visit in gone:
                    del visitors[visit]
                if gone:
                    changed.append(camera)
        return changed

    def _kept(self, camera: str, now: float) -> bool:
        if self.options.cameras:
            return camera in self.options.cameras
        return now - self._seen[camera] < self.options.forget_after

    def _camera_configs(self, camera: str) -> list[Config]:
        discovery, me = self._discovery, self.name
        configs = [
            discovery.presence(camera, what, self._state_topic(f"{camera}-{what}"), me)
            for what in _PRESENCES
        ]
        configs.append(discovery.sentence(camera, self._state_topic(f"{camera}-seen"), me))
        configs.append(discovery.visitors(camera, self._state_topic(f"{camera}-visitors"), me))
        configs.append(discovery.snapshot(camera, self._snapshot_topic(camera), me))
        return configs

    def _announce_camera(self, camera: str) -> None:
        for config in self._camera_configs(camera):
            self._say_config(config)
        for what in _PRESENCES:
            key = f"{camera}-{what}"
            self._say(key, self._said.get(key, OFF))
        self._say_visitors(camera)

    def _remove_camera(self, camera: str) -> None:
        """Its entities go (an empty config), and what brain kept for them. Under the lock."""
        for config in self._camera_configs(camera):
            self.bus.publish_raw(config.topic, b"", qos=1, retain=True)
        self._visitors.pop(camera, None)
        names = (*(f"{camera}-{what}" for what in _PRESENCES), f"{camera}-seen")
        for name in (*names, f"{camera}-visitors"):
            self.bus.clear_retained(State, node=self.name, name=name)
            self._said.pop(name, None)
        self._publish_snapshot(camera, b"")
        self._snapshots.pop(camera, None)
        self._seen.pop(camera, None)
        self._remember()
        self.log.info("camera removed", camera=camera)

    # -- rules and nodes ---------------------------------------------------------------

    @on(State, node="alerts")
    def rule_state(self, state: State) -> None:
        """A rule's switch appears with its first state, and goes when the rule does."""
        rule = state.name
        if state.value == "removed":
            self._rules.discard(rule)
            self.bus.publish_raw(self._rule_config(rule).topic, b"", qos=1, retain=True)
        elif rule not in self._rules:
            self._rules.add(rule)
            self._say_config(self._rule_config(rule))

    def node_status(self, topic: str, payload: bytes) -> None:
        node = self.topics.status_of(topic)
        if payload and node not in self._nodes:
            self._nodes.add(node)
            self._say_config(self._node_config(node))

    def _rule_config(self, rule: str) -> Config:
        command = self.topics.matching(Command, node="alerts", target=rule)
        state = self.topics.matching(State, node="alerts", name=rule)
        return self._discovery.armed(rule, command, state, "alerts")

    def _node_config(self, node: str) -> Config:
        return self._discovery.running(node, self.topics.status(node))

    # -- saying ----------------------------------------------------------------------------

    def _state_topic(self, name: str) -> str:
        return self.topics.matching(State, node=self.name, name=name)

    def _snapshot_topic(self, camera: str) -> str:
        return f"{self.topics.prefix}/snapshots/{camera}"

    def _say(self, name: str, value: str) -> None:
        """A state, retained; only when it changed."""
        if self._said.get(name) == value:
            return
        self._said[name] = value
        self.publish(State(source=self.name, node=self.name, name=name, value=value))

    def _say_config(self, config: Config) -> None:
        self.bus.publish_raw(config.topic, config.encoded(), qos=1, retain=True)
        self.stats.add("configs")

    def _recall(self) -> dict[str, float]:
        """The cameras shown before, and when each was last seen."""
        path = self.options.memory
        try:
            cameras = json.loads(path.read_text(encoding="utf-8"))["cameras"]
            return {str(camera): float(seen) for camera, seen in cameras.items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            # What is seen is shown again; only a camera gone meanwhile keeps its entities.
            self.log.warning(
                "cannot read what was shown; starting afresh", file=str(path), reason=str(error)
            )
            return {}

    def _remember(self) -> None:
        write_whole(self.options.memory, json.dumps({"cameras": self._seen}).encode())

    def current_stats(self) -> dict[str, StatValue]:
        return {"cameras": len(self._seen), "rules": len(self._rules), "nodes": len(self._nodes)}
