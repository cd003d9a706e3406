"""The alerts: a person at the door fires a rule; people hear of it, even if their phone is off.

Rules are judged on the inbox thread (a visit once, or frames by a window of scores;
and a cooldown), and a rule that fires raises its alert there too: the snapshot is
downscaled (a millisecond or two), the alert written to the outbox and published,
before the broker has the perception's (the track's) acknowledgement
(``before_ack``). The deliveries, which may take seconds, run in ``run``, with
retries and backoff. The node keeps a persistent session: the broker holds the
perceptions and tracks that come while it restarts.
"""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections import deque
from pathlib import Path
from typing import TypeVar

from pydantic import Field, field_validator

from brain import Effector, NodeOptions, Queue, on, state_dir
from brain.files import remove_oldest
from effectors._arming import ARMED, DISARMED, REMOVED, Arming
from effectors._clip import ClipError, Clips
from effectors._cooldown import Cooldown
from effectors._notify import privately, send
from effectors._outbox import Delivery, Outbox
from effectors._recent import newest
from effectors._rules import DEFAULT_RULES, Rule, validate_rules
from effectors._snapshot import SnapshotError, downscale
from schemas import (
    MAX_IMAGE_BYTES,
    Alert,
    Clip,
    Command,
    ImageEvent,
    Label,
    Perception,
    Snapshot,
    State,
    StatValue,
    Track,
)

E = TypeVar("E", ImageEvent, Perception)
#: Cameras whose recent frames and scores are kept at once.
_CAMERAS = 64
#: Seconds of boxed perceptions with no visit before the node says the visits node is missing.
VISITS_AWAITED = 60.0
#: What a rule's name may hold that an event id may not (a rule may be "front door").
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def _default_outbox() -> Path:
    return state_dir() / "alerts-outbox.sqlite3"


def _default_clips() -> Path:
    return state_dir() / "alerts-clips"


def _default_armed_file() -> Path:
    return state_dir() / "alerts-armed.json"


class AlertsOptions(NodeOptions):
    rules: list[Rule] = Field(default_factory=lambda: list(DEFAULT_RULES))
    outbox: Path = Field(default_factory=_default_outbox, description="SQLite file of deliveries.")
    armed_file: Path = Field(
        default_factory=_default_armed_file,
        description="Which rules are armed (`brain alerts arm|disarm RULE`), kept across restarts.",
    )
    snapshot_size: int = Field(default=320, ge=16, description="Longest side of a snapshot.")
    frames: int = Field(
        default=100, ge=1, description="Recent frames kept per camera (snapshots, clips)."
    )
    clip_before: float = Field(
        default=5.0, ge=0, description="Seconds of video before the alert in its clip."
    )
    clip_after: float = Field(
        default=5.0, ge=0, description="Seconds of video after the alert in its clip."
    )
    clips: Path = Field(
        default_factory=_default_clips, description="Where the clips are kept, by alert id."
    )
    retry_max: float = Field(default=300.0, gt=0, description="Longest wait between tries.")
    keep_days: float = Field(
        default=7.0, gt=0, description="Clips and delivered alerts older than this are deleted."
    )
    clips_mb: float = Field(
        default=512.0, gt=0, description="The oldest clips go past this size in all."
    )

    _check_rules = field_validator("rules", mode="before")(validate_rules)


class Alerts(Effector[AlertsOptions]):
    """Fires alert rules on perceptions and delivers them through apprise."""

    name = "alerts"
    Options = AlertsOptions
    publishes = (Alert, Clip, State)
    persistent = True  # no perception is missed while it restarts
    needs = ("visits",)  # the tracks its rules judge visits on

    def start(self) -> None:
        self._arming = Arming(self.options.armed_file, [rule.name for rule in self.options.rules])
        self._outbox = Outbox(self.options.outbox)
        self._clips = Clips(
            before=self.options.clip_before,
            after=self.options.clip_after,
            folder=self.options.clips,
        )
        # Per camera, the most recently seen last: a flood of made-up camera names
        # (anyone who may publish frames can name any) costs at most _CAMERAS of them.
        self._frames: dict[str, deque[ImageEvent]] = {}
        self._perceptions: dict[str, deque[Perception]] = {}  # those with boxes, for visits
        self._visits_heard = False
        self._boxed_since: float | None = None  # the first boxed perception, with no visit
        self._scores: dict[tuple[str, str], deque[float]] = {}
        self._cooldowns = {rule.name: Cooldown(rule.cooldown) for rule in self.options.rules}
        self.log.info(
            "watching",
            rules=self._arming.states(),
            waiting_in_outbox=self._outbox.waiting(),
        )

    def connected(self) -> None:
        """Say each rule's state (retained), and that a rule no longer configured is gone:
        retained too, so a node that shows a switch for it (Home Assistant's) hears it
        whenever it starts, before or after this one. An empty retained state would be
        a payload its templates cannot read."""
        for rule, value in self._arming.states().items():
            self.publish(State(source=self.name, node=self.name, name=rule, value=value))
        for rule in self._arming.forgotten:
            self.publish(State(source=self.name, node=self.name, name=rule, value=REMOVED))
        self._arming.forgotten = []
        self._arming.save()  # the rules there are now: a later start knows which went

    @on(Command, node="alerts", with_keys=True)
    def obey(self, command: Command, keys: dict[str, str]) -> None:
        """``arm`` or ``disarm`` the rule the topic names."""
        rule, where = keys["target"], self.topics.of(command, **keys)
        if command.command not in ("arm", "disarm") or not self._arming.knows(rule):
            known = ", ".join(self._arming.states()) or "none"
            self.bus.report_error(
                f"the alerts take `arm` or `disarm` for a rule they have ({known}), not "
                f"{command.command!r} for {rule!r}",
                topic=where,
                cause=command.id,
            )
            return
        armed = command.command == "arm"
        self._arming.set(rule, armed)
        value = ARMED if armed else DISARMED
        said = State(source=self.name, node=self.name, name=rule, value=value, cause=command.id)
        self.publish(said)
        self.log.info(value, rule=rule, by=command.source, reason=command.reason)

    # -- on the inbox thread, in the order they came ----------------------------------

    @on(ImageEvent, keep=Queue(size=256, dropped="frames_dropped"))
    def remember(self, frame: ImageEvent) -> None:
        self._keep(self._frames, frame)
        self._clips.add(frame)

    def _keep(self, recent: dict[str, deque[E]], event: E) -> None:
        """The newest events of each camera: ``frames`` of them, of ``_CAMERAS`` cameras."""
        kept = newest(recent, event.source, lambda: deque(maxlen=self.options.frames), _CAMERAS)
        kept.append(event)

    @on(Perception, keep=Queue(size=1000, before_ack=True))
    def perceive(self, perception: Perception) -> None:
        if any(label.box is not None for label in perception.labels):
            self._keep(self._perceptions, perception)
            self._check_visits_come()
        for rule in self.options.rules:
            if rule.judges_frame(perception) and self._fires(rule, perception):
                # Raised here, on disk before the broker hears that we have the perception:
                # a kill now loses nothing, and no delivery, however slow, holds it back.
                # One alert per perception and rule: a perception the broker delivers
                # again (a kill before it was acknowledged) is the same alert.
                alert_id = f"{perception.id[:40]}-{_ID_UNSAFE.sub('_', rule.name)}"[:64]
                self._raise_alert(rule, perception, alert_id=alert_id)
                self.wake()

    @on(Track, keep=Queue(size=1000, before_ack=True))
    def visit(self, track: Track) -> None:
        """A rule fires once a visit, the first time its condition holds (and its
        camera's cooldown is over); when the visit ends, whoever heard of it hears how
        it ended, with its best view."""
        self._visits_heard = True
        for rule in self.options.rules:
            alert_id = f"{track.track[:40]}-{_ID_UNSAFE.sub('_', rule.name)}"[:64]
            fired = self._outbox.fired(alert_id)
            if (
                not fired
                and rule.fires_on(track)
                and self._cooldowns[rule.name].acquire(track.source)
            ):
                self._outbox.mark_fired(alert_id)
                self._raise_alert(rule, self._perception_of(track), alert_id=alert_id, track=track)
                self.wake()
            elif fired and track.state == "ended" and self._arming.armed(rule.name):
                snapshot = track.snapshot.data if track.snapshot else None
                self._outbox.add(
                    alert_id=f"{alert_id}-ended",
                    targets=rule.targets,
                    title=f"brain: {rule.name} at {track.source}, the whole visit",
                    body=f"{track.text}\nalert {alert_id}; its best view is attached",
                    snapshot=snapshot,
                )
                self.wake()

    def _check_visits_come(self) -> None:
        """Rules judge boxed perceptions by their visits: say it once when none come."""
        if self._visits_heard or all(rule.per == "frame" for rule in self.options.rules):
            return
        now = time.monotonic()
        self._boxed_since = self._boxed_since or now
        if now - self._boxed_since > VISITS_AWAITED:
            self.log.warning(
                "things with boxes are perceived, but no visit comes: the rules judge "
                "visits; run the visits node (`brain run` starts it with the alerts)"
            )
            self._visits_heard = True  # said once

    def _fires(self, rule: Rule, perception: Perception) -> bool:
        scores = newest(
            self._scores,
            (rule.name, perception.source),
            lambda: deque(maxlen=rule.window),
            _CAMERAS * len(self.options.rules),
        )
        scores.append(rule.score(perception))
        return (
            len(scores) == rule.window
            and statistics.median(scores) >= rule.min_score
            and self._cooldowns[rule.name].acquire(perception.source)
        )

    def _perception_of(self, track: Track) -> Perception:
        """The perception that last changed the track; made from the track when it
        is not here (it came to another node first)."""
        kept = self._perceptions.get(track.source, ())
        found = next((p for p in reversed(kept) if p.id == track.cause), None)
        return found or Perception(
            source=track.source,
            cause=track.frame or track.cause,
            sense=ImageEvent.SENSE,
            kind="vision",
            labels=[Label(label=track.label, score=track.score, box=track.box)],
            text=track.text,
        )

    def _raise_alert(
        self, rule: Rule, perception: Perception, *, alert_id: str, track: Track | None = None
    ) -> None:
        # By id, never by arrival order: the newest frame may not be the one perceived.
        frames = self._frames.get(perception.source, ())
        frame = next((f for f in reversed(frames) if f.id == perception.cause), None)
        snapshot = self._snapshot(frame) if rule.snapshot else None
        alert = Alert(
            id=alert_id,
            source=perception.source,
            rule=rule.name,
            perception=perception,
            track=track,
            snapshot=snapshot,
            armed=self._arming.armed(rule.name),
        )
        self._clips.start(alert, self._frames.get(perception.source, ()))
        if not alert.armed:  # it saw this, and says so; but nobody is told
            self.publish(alert)
            self.stats.add("fired_disarmed")
            return
        title = f"brain: {rule.name} at {perception.source}"
        if track is not None:
            body = track.text
        else:
            best = perception.labels[0] if perception.labels else None
            body = perception.text + (f" ({best.label}, {best.score:.0%})" if best else "")
        # On disk before anyone hears of it: a crash now delays the alert, never loses it.
        self._outbox.add(
            alert_id=alert.id,
            targets=rule.targets,
            title=title,
            body=f"{body}\nalert {alert.id} at {alert.ts.isoformat()}",
            snapshot=snapshot.data if snapshot else None,
        )
        self.publish(alert)
        self.stats.add("fired")
        self.log.info(
            "alert",
            rule=rule.name,
            source=perception.source,
            text=track.text if track else perception.text,
            track=track.track if track else None,
            snapshot=snapshot is not None,
        )

    def _snapshot(self, frame: ImageEvent | None) -> Snapshot | None:
        if frame is None:
            self.stats.add("snapshots_missing")
            return None
        try:
            return downscale(frame, size=self.options.snapshot_size)
        except SnapshotError as error:
            self.bus.report_error(str(error), topic=self.topics.of(frame), cause=frame.id)
            return None

    # -- the node's own work: deliveries ------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        self._keep_within_bounds()
        while not stop.is_set():
            self._deliver_due()
            if self._finish_clips():
                self._keep_within_bounds()
            # Until the next retry or clip is due, a new alert comes, or the node stops; a
            # wake meanwhile is no loss: the outbox has the alert.
            waits = [
                w for w in (self._outbox.next_due_in(), self._clips.next_due_in()) if w is not None
            ]
            self.sleep(min(waits, default=None))

    def _keep_within_bounds(self) -> None:
        """The clips folder and the outbox only grow: the oldest go past the limits."""
        keep_seconds = self.options.keep_days * 86400
        remove_oldest(
            self.options.clips.glob("*.mp4"),
            total_bytes=self.options.clips_mb * 1024 * 1024,
            keep_seconds=keep_seconds,
        )
        self._outbox.forget_delivered(before=time.time() - keep_seconds)

    def _finish_clips(self) -> int:
        """Publish the clips whose time is up; how many were finished."""
        finished = 0
        for alert, made in self._clips.finish_due():
            finished += 1
            if isinstance(made, ClipError):
                self.log.warning("no clip", alert=alert.id, reason=str(made))
                self.stats.add("clips_missing")
                continue
            if len(made.data) > MAX_IMAGE_BYTES:
                self.log.warning(
                    "clip too big to publish",
                    alert=alert.id,
                    bytes=len(made.data),
                    fix="lower alerts.clip_before and clip_after",
                )
                continue
            clip = Clip(
                source=alert.source,
                alert=alert.id,
                rule=alert.rule,
                data=made.data,
                seconds=made.seconds,
                moment=made.moment_of(alert.perception.taken or alert.ts),
                frames=made.frames,
                width=made.width,
                height=made.height,
            )
            self.publish(clip)
            self.stats.add("clips")
        return finished

    def _deliver_due(self) -> None:
        for delivery in self._outbox.due():
            problem = send(delivery)
            if problem is None:
                self._outbox.delivered(delivery)
                self.stats.add("delivered")
                self.log.info(
                    "delivered", alert=delivery.alert_id, target=privately(delivery.target)
                )
            else:
                self._retry_later(delivery, problem)

    def _retry_later(self, delivery: Delivery, problem: str) -> None:
        retry_in = min(self.options.retry_max, 2.0**delivery.attempts)
        self._outbox.failed(delivery, error=problem, retry_in=retry_in)
        self.stats.add("delivery_failures")
        self.log.warning(
            "delivery failed; will retry",
            alert=delivery.alert_id,
            target=privately(delivery.target),
            reason=problem,
            retry_in_s=retry_in,
        )

    def close(self) -> None:
        self._outbox.close()

    def current_stats(self) -> dict[str, StatValue]:
        return {"outbox_waiting": self._outbox.waiting(), "cameras": len(self._frames)}
