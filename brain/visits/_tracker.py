"""Tracks: a camera's detections, frame after frame, joined into the things they are.

SORT's way (Bewley et al., 2016) with a plain constant-velocity guess in place of its
Kalman filter: each track's box is moved on by its velocity to the frame's time, and
the frame's detections are given to the tracks by the Hungarian method (scipy's
``linear_sum_assignment``) on how much their boxes overlap (cost 1 - IoU). A camera
that sends a few frames a second (only while something moves) lets a walker's box
leave its last one behind: where no box overlaps, a detection near where the track
should be (less than a box's size away) is taken at a higher cost. A track is
``confirmed`` after ``min_hits`` detections, so one odd frame makes no visit. A track
missed for more than a moment is lost, not ended: a detection that looks like it
(``_looks``) near where it went takes it up again, so one who steps out of view and
back within ``lost_after`` seconds is the same visit, and the next one to come in
there is not. Time is the frames' (``Perception.taken``), so a visit lasts as the
camera saw it, however late the perceptions come.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from brain._masks import zones_of
from brain.visits._identity import Votes
from brain.visits._looks import SAME_LOOK, Look, alike, blend
from schemas import Box, Label, Polygon, Snapshot, new_id

#: Seconds a track may be missed and still be followed by where it moves; past that it
#: is lost, and taken up again only by a detection that looks like it.
MOMENT = 1.0
#: How far (in box sizes) a detection may be from where a track should be: when their
#: boxes do not overlap (a walker between two frames), and for a lost track.
NEAR, NEAR_LOST = 0.5, 3.0
#: Boxes that overlap less than this are one thing's only if they look alike too.
CLEAR_OVERLAP = 0.3
#: A track missed for more than a moment is taken up by a box in its very place (a thing
#: standing still, seen on a keep-alive frame) that overlaps its box this much, and looks
#: like it.
STILL_OVERLAP = 0.7
#: Every this many detections, a followed track's look is brought up to date.
LOOK_EVERY = 10
#: Cost that means "never": the assignment needs finite numbers.
_NEVER = 1e6


@dataclass(frozen=True)
class Detection:
    """One thing found in a frame, with the faces told apart inside it."""

    label: str
    score: float
    box: Box
    faces: tuple[Label, ...] = ()


@dataclass(frozen=True)
class Frame:
    """The frame a camera's detections were found in: when it was taken, its size and
    the zones of its view (polygons in its proportions, by name)."""

    at: float  # seconds since the epoch
    width: int
    height: int
    zones: Mapping[str, Polygon] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class Trail:
    """What is known of one track: kept as it is across a restart of its tracker (a
    dataclass, not a model: it changes on every frame, and pydantic saves it as well)."""

    label: str
    score: float
    box: Box
    width: int
    height: int
    first_seen: float  # seconds since the epoch, as frames are taken
    last_seen: float
    id: str = field(default_factory=new_id)
    velocity: tuple[float, float] = (0.0, 0.0)  # its box's centre, pixels per second
    look: Look | None = None  # how it looks (``_looks``)
    hits: int = 1
    confirmed: bool = False
    votes: Votes = field(default_factory=Votes)
    zones: dict[str, float] = field(default_factory=dict)  # seconds in each
    inside: list[str] = field(default_factory=list)  # the zones it stands in now
    view: float = 0.0  # how good its best view is (``snapshot``)
    view_at: float | None = None  # when a view of it was last taken
    snapshot: Snapshot | None = None
    cause: str = ""  # the perception that last changed it
    frame: str | None = None  # and that perception's frame
    said: float | None = None  # when its last event went out (frame time)
    said_as: str = ""  # what was known of it then (who, where, how good a view)

    def seconds(self) -> float:
        return self.last_seen - self.first_seen

    def who(self) -> str | None:
        """A person's identity (an enrolled name, stranger, unidentified); a thing has none."""
        return self.votes.who() if self.label == "person" else None


@dataclass
class Changes:
    """What one frame's detections did to a camera's tracks."""

    started: list[Trail] = field(default_factory=list)
    #: Each confirmed track seen in the frame, with its detection (started ones too).
    seen: list[tuple[Trail, Detection]] = field(default_factory=list)
    ended: list[Trail] = field(default_factory=list)


@dataclass(slots=True)
class CameraTracks:
    """The tracks of one camera, and the time of its newest frame."""

    tracks: list[Trail] = field(default_factory=list)
    latest: float | None = None

    def update(
        self,
        frame: Frame,
        found: list[Detection],
        *,
        lost_after: float,
        min_hits: int,
        most: int,
        looks: Callable[[Box], Look | None] = lambda box: None,
    ) -> Changes:
        """Join the detections of ``frame`` to the tracks, at most ``most`` of them;
        ``looks`` tells how the thing in a box of the frame looks (None: it cannot say).
        A frame older than one already seen (another cortex was quicker) only adds
        its faces."""
        changes, at = Changes(), frame.at
        if self.latest is not None and at < self.latest:
            self._add_faces_late(found)
            return changes
        self.latest = at
        pairs, unmatched = _assign(self.tracks, found, at, looks)
        matched = {track for track, _ in pairs}  # a Trail is hashed by identity
        lost = [t for t in self.tracks if t.confirmed and t not in matched]
        if lost and unmatched:
            found_again, unmatched = _recognise(lost, unmatched, at, _Looks(looks, unmatched))
            pairs += found_again
            matched.update(track for track, _ in found_again)
        for track, detection in pairs:
            _follow(track, detection, frame)
            if track.hits % LOOK_EVERY == 0 or (track.hits >= min_hits and track.look is None):
                track.look = blend(track.look, looks(detection.box))
            if not track.confirmed and track.hits >= min_hits:
                track.confirmed = True
                changes.started.append(track)
            if track.confirmed:
                changes.seen.append((track, detection))
        # A track not yet confirmed and missing from this frame was a glitch (SORT's way).
        self.tracks = [t for t in self.tracks if t.confirmed or t in matched]
        room = max(0, most - len(self.tracks))
        for detection in sorted(unmatched, key=lambda d: -d.score)[:room]:
            self.tracks.append(_new_track(detection, frame))
        changes.ended = self.expire(at, lost_after=lost_after)
        return changes

    def expire(self, now: float, *, lost_after: float) -> list[Trail]:
        """Drop the tracks not seen for too long: confirmed ones have ended (returned)."""
        ended, kept = [], []
        for track in self.tracks:
            missed = now - track.last_seen
            if track.confirmed and missed > lost_after:
                ended.append(track)
            elif missed <= lost_after:
                kept.append(track)
        self.tracks = kept
        return ended

    def _add_faces_late(self, found: list[Detection]) -> None:
        for detection in found:
            if not detection.faces:
                continue
            same = [t for t in self.tracks if t.label == detection.label]
            if not same:
                continue
            overlaps = _iou(_box_array([t.box for t in same]), _box_array([detection.box]))[:, 0]
            if overlaps.max() >= 0.3:
                track = same[int(np.argmax(overlaps))]
                for face in detection.faces:
                    track.votes.add(face)


def _new_track(detection: Detection, frame: Frame) -> Trail:
    track = Trail(
        label=detection.label,
        score=detection.score,
        box=detection.box,
        width=frame.width,
        height=frame.height,
        first_seen=frame.at,
        last_seen=frame.at,
    )
    if frame.zones:
        _stand(track, frame, elapsed=0.0)
    for face in detection.faces:
        track.votes.add(face)
    return track


def _follow(track: Trail, detection: Detection, frame: Frame) -> None:
    """The track was seen again: where, how fast it moves, who its faces are."""
    elapsed = frame.at - track.last_seen
    if elapsed > 0:  # its velocity: half the old, half the move since
        old, new = track.box, detection.box
        dx = (new.x + new.width / 2) - (old.x + old.width / 2)
        dy = (new.y + new.height / 2) - (old.y + old.height / 2)
        vx, vy = track.velocity
        track.velocity = (0.5 * vx + 0.5 * dx / elapsed, 0.5 * vy + 0.5 * dy / elapsed)
    track.box, track.last_seen = detection.box, frame.at
    track.width, track.height = frame.width, frame.height
    track.hits += 1
    if detection.score > track.score:
        track.score = detection.score
    if frame.zones or track.inside:
        _stand(track, frame, elapsed=elapsed)
    for face in detection.faces:
        track.votes.add(face)


def _stand(track: Trail, frame: Frame, *, elapsed: float) -> None:
    """Which zones the track stands in now; the time since it was last seen counts in
    each it stood in then and still does."""
    inside = zones_of(track.box, frame.zones, width=frame.width, height=frame.height)
    for zone in inside:
        was_there = zone in track.inside
        track.zones[zone] = track.zones.get(zone, 0.0) + (elapsed if was_there else 0.0)
    track.inside = inside


def _assign(
    tracks: list[Trail], found: list[Detection], at: float, looks: Callable[[Box], Look | None]
) -> tuple[list[tuple[Trail, Detection]], list[Detection]]:
    """Which detection is which track, and the detections that are no track yet: first
    by how much their boxes overlap (Hungarian); then, for the tracks seen a moment
    ago that no box overlapped, by nearness. A box that overlaps its track's clearly
    is its, however long since it was seen (a car parked, a keep-alive frame every
    10 s); one that overlaps a little, or is only near, only if it looks like it."""
    if not tracks or not found:
        return [], list(found)
    known = np.array(
        [
            (b.x, b.y, b.x + b.width, b.y + b.height, *t.velocity, at - t.last_seen)
            for t in tracks
            for b in (t.box,)
        ],
        np.float64,
    )
    missed = known[:, 6]
    moved = known[:, 4:6] * np.minimum(np.maximum(missed, 0.0), MOMENT)[:, None]
    guessed = known[:, :4] + np.concatenate([moved, moved], axis=1)
    overlap = _iou(guessed, _box_array([d.box for d in found]))
    lost = (missed > MOMENT)[:, None]
    cost = np.where(overlap > np.where(lost, STILL_OVERLAP, 0.1), 1.0 - overlap, _NEVER)
    _unless_alike(cost, (overlap < CLEAR_OVERLAP) | lost, tracks, _Looks(looks, found))
    pairs, rest = _pairs(tracks, found, cost)
    taken = {track for track, _ in pairs}
    left = [i for i, t in enumerate(tracks) if t not in taken and missed[i] <= MOMENT]
    if left and rest:
        near, rest = _near([tracks[i] for i in left], guessed[left], rest, _Looks(looks, rest))
        pairs += near
    return pairs, rest


def _near(
    tracks: list[Trail], guessed: np.ndarray, found: list[Detection], looks: _Looks
) -> tuple[list[tuple[Trail, Detection]], list[Detection]]:
    """Detections less than ``NEAR`` of a box from where their track should be (a
    walker's box that left its last one behind), and looking like it."""
    boxes = _box_array([d.box for d in found])
    # Centres apart in track sizes, squared: sums of corners are twice the centres, and
    # the longer sides, doubled, twice the sizes.
    apart = (guessed[:, None, :2] + guessed[:, None, 2:]) - (
        boxes[None, :, :2] + boxes[None, :, 2:]
    )
    sizes = 2 * np.maximum(np.max(guessed[:, 2:] - guessed[:, :2], axis=1), 1.0)[:, None]
    near = (apart[..., 0] ** 2 + apart[..., 1] ** 2) / sizes**2
    cost = np.where(near < NEAR**2, 1.0 + near, _NEVER)
    _unless_alike(cost, cost < _NEVER, tracks, looks)
    return _pairs(tracks, found, cost)


def _unless_alike(cost: np.ndarray, unsure: np.ndarray, tracks: list[Trail], looks: _Looks) -> None:
    """Rule out the ``unsure`` pairs whose track and detection do not look alike."""
    if any(track.look is not None for track in tracks):
        for row, column in zip(*np.nonzero((cost < _NEVER) & unsure), strict=True):
            if not looks.alike(tracks[row], column):
                cost[row, column] = _NEVER


def _recognise(
    lost: list[Trail], found: list[Detection], at: float, looks: _Looks
) -> tuple[list[tuple[Trail, Detection]], list[Detection]]:
    """Which detections are lost tracks back again: near where they went and looking
    like them; or, where there is no frame to look at, where their walk would have
    taken them. And the detections that are not."""
    cost = np.full((len(lost), len(found)), _NEVER)
    for row, track in enumerate(lost):
        size = max(track.box.width, track.box.height, 1)
        (x, y), guessed = _centre(track.box), _guess(track, at)
        (gx, gy) = ((guessed[0] + guessed[2]) / 2, (guessed[1] + guessed[3]) / 2)
        for column, detection in enumerate(found):
            (u, v) = _centre(detection.box)
            similarity = looks.similarity(track, column)
            if similarity is None:
                if np.hypot(u - gx, v - gy) < NEAR * size:
                    cost[row, column] = 1.0
            elif similarity >= SAME_LOOK and np.hypot(u - x, v - y) <= NEAR_LOST * size:
                cost[row, column] = 1.0 - similarity
    return _pairs(lost, found, cost)


class _Looks:
    """The looks of one frame's detections, each taken once, when first asked for."""

    def __init__(self, looks: Callable[[Box], Look | None], found: list[Detection]) -> None:
        self._looks, self._found = looks, found
        self._taken: dict[int, Look | None] = {}

    def similarity(self, track: Trail, column: int) -> float | None:
        """How alike the track and the detection look; None when either cannot say."""
        if track.look is None:
            return None
        if column not in self._taken:
            self._taken[column] = self._looks(self._found[column].box)
        look = self._taken[column]
        return None if look is None else alike(track.look, look)

    def alike(self, track: Trail, column: int) -> bool:
        """Whether they may be one thing: alike, or no telling (no frame to look at)."""
        similarity = self.similarity(track, column)
        return similarity is None or similarity >= SAME_LOOK


def _pairs(
    tracks: list[Trail], found: list[Detection], cost: np.ndarray
) -> tuple[list[tuple[Trail, Detection]], list[Detection]]:
    """The cheapest pairing of tracks and detections of one label (Hungarian), leaving
    out what costs "never"; and the detections left over."""
    kinds = [t.label for t in tracks]
    if len(set(kinds).union(d.label for d in found)) > 1:  # a person is never a car's track
        same = np.array(kinds)[:, None] == np.array([d.label for d in found])
        cost = np.where(same, cost, _NEVER)
    rows, columns = linear_sum_assignment(cost)
    possible = cost[rows, columns] < _NEVER
    rows, columns = rows[possible].tolist(), columns[possible].tolist()
    taken = set(columns)
    pairs = [(tracks[r], found[c]) for r, c in zip(rows, columns, strict=True)]
    return pairs, [d for c, d in enumerate(found) if c not in taken]


def _guess(track: Trail, at: float) -> tuple[float, float, float, float]:
    """Where the track's box should be at ``at``, moved on by its velocity."""
    ahead = max(0.0, at - track.last_seen)
    dx, dy = track.velocity[0] * ahead, track.velocity[1] * ahead
    box = track.box
    return (box.x + dx, box.y + dy, box.right + dx, box.bottom + dy)


def _box_array(boxes: list[Box]) -> np.ndarray:
    return np.array([(b.x, b.y, b.right, b.bottom) for b in boxes], np.float64).reshape(-1, 4)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in ``a`` with every box in ``b`` (x0 y0 x1 y1)."""
    left = np.maximum(a[:, None, 0], b[None, :, 0])
    top = np.maximum(a[:, None, 1], b[None, :, 1])
    right = np.minimum(a[:, None, 2], b[None, :, 2])
    bottom = np.minimum(a[:, None, 3], b[None, :, 3])
    common = np.maximum(right - left, 0.0) * np.maximum(bottom - top, 0.0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - common
    return np.where(union > 0, common / np.maximum(union, 1e-9), 0.0)


def _centre(box: Box) -> tuple[float, float]:
    return (box.x + box.width / 2, box.y + box.height / 2)
