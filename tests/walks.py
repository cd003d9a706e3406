"""A person's walk past a camera, as a cortex perceives it: boxes frame by frame, and
the faces it told apart in them; for the tests of visits and of what acts on them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from brain import Model
from brain.visits import CameraTracks, Detection, Frame, look_of
from schemas import Box, Label, Perception
from tests.scenes import opencv_samples

START = datetime(2026, 12, 1, 14, 2, tzinfo=UTC)


def perceived(
    at: float,
    *boxes: Box,
    label: str = "person",
    faces: tuple[Label, ...] = (),
    source: str = "frontdoor",
    cause: str | None = None,
) -> Perception:
    """What a cortex says of a frame taken ``at`` seconds after START."""
    labels = [Label(label=label, score=0.8, box=box) for box in boxes]
    return Perception(
        source=source,
        cause=cause or f"frame{round(at * 1000)}",
        sense="camera",
        kind="vision",
        labels=[*labels, *faces],
        text="I see someone.",
        taken=START + timedelta(seconds=at),
        width=640,
        height=480,
    )


def walking(
    seconds: float, *, fps: float = 5, start: int = 40, y: int = 200
) -> Iterator[tuple[float, Box]]:
    """A person walking left to right, 60 pixels a second."""
    for step in range(round(seconds * fps)):
        at = step / fps
        yield at, Box(x=start + round(60 * at), y=y, width=50, height=120)


def face(name: str, box: Box, distance: float = 0.4) -> Label:
    """A face the cortex told apart, in the top of ``box``."""
    head = Box(x=box.x + 15, y=box.y + 5, width=20, height=20)
    return Label(label=name, score=0.99, box=head, distance=distance)


# -- walks on a real video -------------------------------------------------------------

#: Twelve walks across vtest.avi's car park, each by one person (a red and blue jacket,
#: a white hoodie, a striped jumper...), as a person sees them: where the person is,
#: every 5 frames, as [frame, centre x, feet y, height] in pixels. Made by looking at
#: crops of each person found along the video and naming who each one is.
WALKS: dict[str, list[list[int]]] = json.loads(
    (Path(__file__).parent / "vtest_walks.json").read_text()
)


@dataclass
class OnVideo:
    """What tracking made of vtest.avi: the people model's detections frame by frame,
    and the tracks they became."""

    detections: list[tuple[float, list[Detection]]] = field(default_factory=list)
    #: Per frame: each track seen, and its box.
    seen: dict[int, list[tuple[str, Box]]] = field(default_factory=dict)

    @property
    def tracks(self) -> int:
        return len({track for found in self.seen.values() for track, _ in found})

    def walks(self) -> dict[str, set[str]]:
        """Each walk, and the tracks it was followed by (one: never split)."""
        followed: dict[str, set[str]] = {}
        for name, points in WALKS.items():
            tracks = followed.setdefault(name, set())
            for index, x, feet, height in points:
                for track, box in self.seen.get(index, ()):
                    near = abs(box.x + box.width / 2 - x) + abs(box.bottom - feet)
                    if near < 0.3 * height:
                        tracks.add(track)
                        break
        return followed

    def figures(self) -> dict[str, object]:
        walks = self.walks()
        owners: dict[str, int] = {}
        for tracks in walks.values():
            for track in tracks:
                owners[track] = owners.get(track, 0) + 1
        return {
            "detections": sum(len(found) for _, found in self.detections),
            "tracks": self.tracks,
            "walks": len(walks),
            "walks_in_one_track": sum(len(tracks) == 1 for tracks in walks.values()),
            "tracks_per_walk": {name: len(tracks) for name, tracks in walks.items()},
            "tracks_in_two_walks": sum(count > 1 for count in owners.values()),
        }


def track_vtest(model: Model, *, fps: float = 10.0) -> OnVideo:
    """The people model on each frame of vtest.avi (10 fps; fewer: some are skipped, as
    a busy cortex does), and the tracker on what it finds, with the frames' looks."""
    video = cv2.VideoCapture(str(opencv_samples() / "vtest.avi"))
    camera, result, index = CameraTracks(), OnVideo(), -1
    while True:
        ok, bgr = video.read()
        if not ok:
            break
        index += 1
        if round(index * fps / 10) == round((index - 1) * fps / 10):
            continue
        rgb = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), np.uint8)
        [labels] = model.classify([rgb])
        found = [
            Detection(label=label.label, score=label.score, box=label.box)
            for label in labels
            if label.label == "person" and label.box is not None
        ]
        at = index / 10
        result.detections.append((at, found))
        frame = Frame(at=at, width=rgb.shape[1], height=rgb.shape[0])
        changes = camera.update(
            frame, found, lost_after=30, min_hits=3, most=512, looks=partial(look_of, rgb)
        )
        result.seen[index] = [(track.id, detection.box) for track, detection in changes.seen]
    video.release()
    return result
