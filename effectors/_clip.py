"""Clips: the frames around an alert, as a small H.264 MP4 that browsers play.

PyAV (FFmpeg, with its H.264 encoder x264) writes it; frames keep their own times, so
a camera's uneven pace shows as it was. Frames are decoded as the cortex decodes them.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from brain import BrainError
from brain.files import inside, write_whole
from brain.images import DecodeError, decode
from schemas import Alert, ImageEvent

#: The longest side of a clip's frames: small enough for a phone, big enough for a face.
CLIP_SIZE = 640


class ClipError(BrainError, ValueError):
    """No clip can be made of these frames; the message says why."""


@dataclass(frozen=True)
class Video:
    data: bytes
    seconds: float
    frames: int
    width: int
    height: int
    start: datetime  # when its first frame was taken

    def moment_of(self, at: datetime) -> float:
        """Seconds into the video at which ``at`` happened (0 if before its first frame)."""
        return max(0.0, (at - self.start).total_seconds())


def encode_clip(frames: list[ImageEvent], *, size: int = CLIP_SIZE) -> Video:
    """The frames (oldest first) as an H.264 MP4; unreadable frames are left out."""
    pictures = []
    for frame in frames:
        try:
            pictures.append((frame, decode(frame)))
        except DecodeError:
            continue
    if not pictures:
        raise ClipError("none of its frames can be decoded")
    first_frame, first = pictures[0]
    scale = min(1.0, size / max(first.shape[:2]))
    # H.264 wants even sides.
    width = max(2, int(first.shape[1] * scale) // 2 * 2)
    height = max(2, int(first.shape[0] * scale) // 2 * 2)
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)  # pts in ms: each frame at its time
        stream.options = {"preset": "veryfast", "crf": "28"}
        start = first_frame.ts
        last_ms = -1
        for frame, picture in pictures:
            at_ms = max(last_ms + 1, int((frame.ts - start).total_seconds() * 1000))
            video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            video_frame = video_frame.reformat(width=width, height=height)
            video_frame.pts, video_frame.time_base = at_ms, Fraction(1, 1000)
            container.mux(stream.encode(video_frame))
            last_ms = at_ms
        container.mux(stream.encode(None))
    seconds = (pictures[-1][0].ts - start).total_seconds()
    return Video(out.getvalue(), seconds, len(pictures), width, height, start)


@dataclass
class _Gathering:
    alert: Alert
    frames: list[ImageEvent]
    until: float  # time.monotonic() when the last frame is in


class Clips:
    """The clips being gathered: the frames from ``before`` seconds before each alert
    (those still kept) at once, the rest as they come for ``after`` seconds; then each
    is encoded and kept as ``folder/{alert id}.mp4``. Any thread may call."""

    def __init__(self, *, before: float, after: float, folder: Path) -> None:
        self._before, self._after, self._folder = before, after, folder
        self._gathering: list[_Gathering] = []
        self._lock = threading.Lock()

    def start(self, alert: Alert, recent: Iterable[ImageEvent]) -> None:
        since = alert.ts - timedelta(seconds=self._before)
        frames = [frame for frame in recent if frame.ts >= since]
        with self._lock:
            self._gathering.append(_Gathering(alert, frames, time.monotonic() + self._after))

    def add(self, frame: ImageEvent) -> None:
        with self._lock:
            for clip in self._gathering:
                if clip.alert.source == frame.source:
                    clip.frames.append(frame)

    def next_due_in(self) -> float | None:
        with self._lock:
            due = min((clip.until for clip in self._gathering), default=None)
        return None if due is None else max(0.0, due - time.monotonic())

    def finish_due(self) -> Iterator[tuple[Alert, Video | ClipError]]:
        """Each clip whose time is up: its video (kept on disk), or why there is none."""
        now = time.monotonic()
        with self._lock:
            due = [clip for clip in self._gathering if clip.until <= now]
            self._gathering = [clip for clip in self._gathering if clip.until > now]
        for clip in due:
            if not clip.frames:
                yield (
                    clip.alert,
                    ClipError(
                        f"no frames of {clip.alert.source} are kept from {self._before:g} s before "
                        "the alert on: they expired, or the camera sent none"
                    ),
                )
                continue
            try:
                video = encode_clip(clip.frames)
                write_whole(inside(self._folder, clip.alert.id, ".mp4"), video.data)
            # ValueError: a ClipError, or an OutsideFolderError (an id that is no file name).
            except (OSError, ValueError, av.error.FFmpegError) as error:
                yield clip.alert, ClipError(str(error))
                continue
            yield clip.alert, video
