"""A person's walk past a camera, as a cortex perceives it: boxes frame by frame, and
the faces it told apart in them; for the tests of visits and of what acts on them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from schemas import Box, Label, Perception

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
