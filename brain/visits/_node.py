"""The visits node: every camera's detections become tracks, published as they live.

It hears every perception (no ``$share``: several cortexes may split a camera's frames,
but one node must see all of its detections) and every frame (for a track's best
view). Its tracks are saved to ``state_file`` every second and read back when it
starts, and its session is persistent: the broker holds the perceptions that come
while it restarts, so a restart does not split a visit in two.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from pydantic import Field, TypeAdapter, ValidationError

from brain._config import state_dir
from brain._files import write_whole
from brain._images import DecodeError, decode
from brain._inbox import Queue
from brain._model import RGB
from brain._node import Node, NodeOptions
from brain._wiring import on
from brain.faces import visitor
from brain.visits._looks import Look, look_of
from brain.visits._tracker import CameraTracks, Detection, Frame, Trail
from brain.visits._views import could_beat, view_of
from schemas import (
    MAX_MASKS,
    Box,
    ImageEvent,
    Label,
    Perception,
    Polygon,
    StatValue,
    TopicName,
    Track,
    TrackState,
    ZoneTime,
)

#: Cameras whose tracks and frames are kept at once: a flood of made-up camera names
#: (anyone who may publish perceptions can name any) costs at most this many.
MAX_CAMERAS = 64
#: Recent frames kept per camera, for the best views: a cortex perceives a frame well
#: within this many of the camera's frames.
FRAMES = 16
#: Detections taken from one perception at most (the best): a crowd stays bounded.
MAX_DETECTIONS = 256
#: The longest label a track may have (the contract's): a longer one is no thing.
MAX_LABEL = 64
#: Seconds between two looks for a better view of one track.
VIEW_EVERY = 1.0


#: A camera's zones: named polygons, as many as a track can say it stood in.
Zones = Annotated[dict[TopicName, Polygon], Field(max_length=MAX_MASKS)]


def _default_state_file() -> Path:
    return state_dir() / "visits.json"


class VisitsOptions(NodeOptions):
    lost_after: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a track may go unseen and still be the same visit (one who "
        "steps out of view and back); then it has ended.",
    )
    min_hits: int = Field(
        default=3, ge=1, description="Detections before a track is a visit: one odd frame is not."
    )
    min_score: float = Field(default=0.4, ge=0, le=1, description="Least score of a detection.")
    labels: list[str] = Field(
        default_factory=list, description="Only these are tracked (person, car...); empty: all."
    )
    zones: dict[TopicName, Zones] = Field(
        default_factory=dict,
        description="Per camera, named areas of its view (polygons in the frame's "
        "proportions), 16 at most: a track says which it stood in, and for how long.",
    )
    max_tracks: int = Field(default=512, ge=1, description="Tracks kept per camera at most.")
    update_every: float = Field(
        default=2.0, gt=0, description="Seconds between two `updated` events of a track."
    )
    snapshot_size: int = Field(default=240, ge=16, description="Longest side of a best view.")
    state_file: Path = Field(
        default_factory=_default_state_file, description="The tracks, kept across restarts."
    )


class Visits(Node[VisitsOptions]):
    """Joins each camera's detections into tracks: one visit, one track."""

    name = "visits"
    Options = VisitsOptions
    publishes = (Track,)
    persistent = True  # the perceptions that come while it restarts are held for it

    def start(self) -> None:
        self._lock = threading.Lock()  # the inbox thread tracks; `run` ends and saves
        self._cameras = self._load()
        now = time.monotonic()
        self._heard = dict.fromkeys(self._cameras, now)  # when each camera last had news
        self._frames: dict[str, deque[ImageEvent]] = {}
        self._dirty = False
        self.log.info(
            "tracking",
            cameras=len(self._cameras),
            tracks=sum(len(c.tracks) for c in self._cameras.values()),
            state_file=str(self.options.state_file),
        )

    @on(ImageEvent, keep=Queue(size=64, dropped="frames_dropped"))
    def remember(self, frame: ImageEvent) -> None:
        if frame.source not in self._frames and len(self._frames) >= MAX_CAMERAS:
            del self._frames[next(iter(self._frames))]
        self._frames.setdefault(frame.source, deque(maxlen=FRAMES)).append(frame)

    @on(Perception, keep=Queue(size=1000))
    def perceive(self, perception: Perception) -> None:
        found = self._detections(perception)
        if perception.kind != "vision" or not found:
            return
        frame = self._frame(perception)
        width = perception.width or (frame.width if frame else max(d.box.right for d in found))
        height = perception.height or (frame.height if frame else max(d.box.bottom for d in found))
        seen = Frame(
            at=(perception.taken or perception.ts).timestamp(),
            width=max(1, width),
            height=max(1, height),
            zones=self.options.zones.get(perception.source, {}),
        )
        pixels = _Pixels(frame, self)
        with self._lock:
            camera = self._camera(perception.source)
            changes = camera.update(
                seen,
                found,
                lost_after=self.options.lost_after,
                min_hits=self.options.min_hits,
                most=self.options.max_tracks,
                looks=pixels.look,
            )
            self._heard[perception.source] = time.monotonic()
            self._dirty = True
            for track, detection in changes.seen:
                track.cause, track.frame = perception.id, perception.cause
                self._look_at(track, detection, pixels)
            for track in changes.started:
                self._say(perception.source, track, "started")
            for track, _ in changes.seen:
                if track not in changes.started and self._worth_saying(track):
                    self._say(perception.source, track, "updated")
            for track in changes.ended:
                self._say(perception.source, track, "ended")
        self.stats.add("detections", len(found))

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.sleep(1.0)
            self._end_quiet_cameras()
            self._save()
        self._save()

    def current_stats(self) -> dict[str, StatValue]:
        with self._lock:
            live = sum(t.confirmed for c in self._cameras.values() for t in c.tracks)
        return {"tracks": live, "cameras": len(self._cameras)}

    # -- what is tracked -----------------------------------------------------------------

    def _detections(self, perception: Perception) -> list[Detection]:
        """The perception's boxed labels worth tracking, each with the faces told apart
        inside it (a face goes to the smallest person its centre is in)."""
        wanted = self.options.labels
        things = sorted(
            (
                Detection(label=label.label, score=label.score, box=label.box)
                for label in perception.labels
                if label.box is not None
                and label.distance is None
                and label.score >= self.options.min_score
                and len(label.label) <= MAX_LABEL
                and (not wanted or label.label in wanted)
            ),
            key=lambda detection: -detection.score,
        )[:MAX_DETECTIONS]
        faces: dict[int, list[Label]] = {}
        for face in perception.labels:
            if face.box is not None and face.distance is not None:
                holder = _holder(face.box, things)
                if holder is not None:
                    faces.setdefault(holder, []).append(face)
        return [replace(d, faces=tuple(faces.get(i, ()))) for i, d in enumerate(things)]

    def _camera(self, source: str) -> CameraTracks:
        if source not in self._cameras and len(self._cameras) >= MAX_CAMERAS:
            quiet = min(self._heard, key=self._heard.__getitem__)
            for track in self._cameras.pop(quiet).tracks:
                if track.confirmed:
                    self._say(quiet, track, "ended")
            del self._heard[quiet]
        return self._cameras.setdefault(source, CameraTracks())

    def _frame(self, perception: Perception) -> ImageEvent | None:
        # By id, never by arrival order: the newest frame may not be the one perceived.
        frames = self._frames.get(perception.source, ())
        return next((f for f in reversed(frames) if f.id == perception.cause), None)

    def _look_at(self, track: Trail, detection: Detection, pixels: _Pixels) -> None:
        """Keep the detection's crop as the track's best view, if it is a better one."""
        face = bool(detection.faces)
        if not could_beat(track.view, detection.box, face=face):
            return
        last = track.view_at if track.snapshot is not None else None
        if last is not None and track.last_seen - last < VIEW_EVERY:
            return
        rgb = pixels.get()
        if rgb is None:
            return
        snapshot, quality = view_of(rgb, detection.box, face=face, size=self.options.snapshot_size)
        track.view_at = track.last_seen
        if quality > track.view:
            track.snapshot, track.view = snapshot, quality

    # -- what is said of it --------------------------------------------------------------

    def _worth_saying(self, track: Trail) -> bool:
        """Something new (who, where, a better view), or a while since it was last said."""
        if track.said is None or _signature(track) != track.said_as:
            return True
        return track.last_seen - track.said >= self.options.update_every

    def _say(self, source: str, track: Trail, state: TrackState) -> None:
        identity = track.who()
        self.publish(
            Track(
                source=source,
                track=track.id,
                state=state,
                label=track.label,
                score=round(track.score, 4),
                identity=identity,
                faces=track.votes.faces,
                box=track.box,
                width=track.width,
                height=track.height,
                first_seen=datetime.fromtimestamp(track.first_seen, UTC),
                last_seen=datetime.fromtimestamp(track.last_seen, UTC),
                zones=[ZoneTime(zone=z, seconds=round(s, 1)) for z, s in track.zones.items()],
                snapshot=track.snapshot,
                text=sentence(source, track.label, identity, state, track.seconds()),
                cause=track.cause,
                frame=track.frame,
            )
        )
        track.said, track.said_as = track.last_seen, _signature(track)
        self.stats.add(f"tracks_{state}")
        if state != "updated":
            self.log.info(
                f"track {state}", source=source, track=track.id, label=track.label, who=identity
            )

    # -- lasting ---------------------------------------------------------------------------

    def _end_quiet_cameras(self) -> None:
        """A camera's tracks also end when nothing more is heard of it (an empty scene
        sends no perception): its time is moved on by the time gone by here."""
        now = time.monotonic()
        with self._lock:
            for source, camera in list(self._cameras.items()):
                quiet = now - self._heard.get(source, now)
                if camera.latest is None or quiet <= self.options.lost_after:
                    continue
                moved_on = camera.latest + quiet
                for track in camera.expire(moved_on, lost_after=self.options.lost_after):
                    self._say(source, track, "ended")
                    self._dirty = True

    def _load(self) -> dict[str, CameraTracks]:
        path = self.options.state_file
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            return _SAVED.validate_json(text)
        except ValidationError as error:
            self.log.error(
                "the saved tracks cannot be read; starting without them",
                state_file=str(path),
                reason=str(error).splitlines()[0],
                fix="nothing to do: new visits are tracked as they come",
            )
            return {}

    def _save(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            data = _SAVED.dump_json(self._cameras)
            self._dirty = False
        try:
            write_whole(self.options.state_file, data)
        except OSError as error:  # a full disk: tracking goes on; a restart may split a visit
            self.log.error("could not save the tracks", reason=str(error), fix="free some disk")


class _Pixels:
    """A perception's frame, decoded once, the first time a look or a view needs it."""

    def __init__(self, frame: ImageEvent | None, node: Visits) -> None:
        self._frame, self._node = frame, node
        self._pixels: RGB | None = None

    def get(self) -> RGB | None:
        frame, self._frame = self._frame, None
        if frame is not None:
            try:
                self._pixels = decode(frame)
            except DecodeError as error:
                self._node.bus.report_error(
                    str(error), topic=self._node.topics.of(frame), cause=frame.id
                )
        return self._pixels

    def look(self, box: Box) -> Look | None:
        pixels = self.get()
        return None if pixels is None else look_of(pixels, box)


def _holder(face: Box, things: list[Detection]) -> int | None:
    """The index of the smallest person whose box holds the face's centre, if any."""
    x, y = face.x + face.width / 2, face.y + face.height / 2
    holders = [
        i
        for i, thing in enumerate(things)
        if thing.label == "person"
        and thing.box.x <= x <= thing.box.right
        and thing.box.y <= y <= thing.box.bottom
    ]
    return min(holders, key=lambda i: things[i].box.width * things[i].box.height, default=None)


def _signature(track: Trail) -> str:
    return f"{track.who()}|{','.join(sorted(track.zones))}|{track.view:.0f}"


def sentence(
    source: str, label: str, identity: str | None, state: TrackState, seconds: float
) -> str:
    """What a track is, said as it is: "Alice is at the front door.", "A stranger was at
    the frontdoor for 38 s."."""
    who = visitor(identity, label)
    who = who[:1].upper() + who[1:]
    place = source.replace("_", " ").replace("-", " ")
    if state == "ended":
        return f"{who} was at the {place} for {round(seconds)} s."
    return f"{who} is at the {place}."


#: The ``state_file``: each camera's tracks.
_SAVED = TypeAdapter(dict[str, CameraTracks])
