"""Where frames come from: a device, a stream, a video file, image files, or sample photos.

OpenCV does the capture. File sources check that their file is still there on
every frame: an open file that was deleted would otherwise go on playing.
"""

from __future__ import annotations

import glob
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import cv2
from cv2.typing import MatLike

from brain import BrainError

#: An image as OpenCV holds it: height x width x 3, BGR.
Frame = MatLike
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


class SourceError(BrainError):
    """The camera is not there now (unplugged, stream down, file gone); try again later."""


class Capture(Protocol):
    description: str
    #: A live source runs on by itself (grab continuously); a file is read on demand.
    live: bool

    def read(self) -> Frame | None:
        """The next frame; None when a finite source has ended."""
        ...

    def close(self) -> None: ...


class VideoCapture:
    """A device index, a stream URL or a video file, through cv2.VideoCapture."""

    def __init__(self, target: int | str, *, loop: bool, timeout_s: float) -> None:
        self.live = not isinstance(target, str) or "://" in target
        self.description = f"device {target}" if isinstance(target, int) else str(target)
        self._path = None if self.live else Path(str(target))
        self._loop = loop
        self._ensure_file()
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(timeout_s * 1000),
        ]
        self._capture = cv2.VideoCapture(target, cv2.CAP_ANY, params)
        if not self._capture.isOpened():
            raise SourceError(f"cannot open {self.description}")

    def _ensure_file(self) -> None:
        if self._path is not None and not self._path.is_file():
            raise SourceError(f"{self._path} is gone")

    def read(self) -> Frame | None:
        self._ensure_file()
        ok, frame = self._capture.read()
        if ok:
            return frame
        if self.live:
            raise SourceError(f"no frame from {self.description}")
        if not self._loop:
            return None
        self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)  # the end of a file: from the start
        ok, frame = self._capture.read()
        if not ok:
            raise SourceError(f"cannot read {self.description}")
        return frame

    def close(self) -> None:
        self._capture.release()


class Stills:
    """Image files (a file, a directory or a glob), or pictures in memory, in turn."""

    live = False

    def __init__(
        self, description: str, list_images: Callable[[], Sequence[Path | Frame]], *, loop: bool
    ) -> None:
        self.description = description
        self._list = list_images
        self._loop = loop
        self._queue: list[Path | Frame] = []
        self._started = False

    def read(self) -> Frame | None:
        if not self._queue:
            if self._started and not self._loop:
                return None
            self._queue = list(self._list())  # listed anew each round: new files join in
            self._started = True
            if not self._queue:
                raise SourceError(f"no images in {self.description}")
        item = self._queue.pop(0)
        if not isinstance(item, Path):
            return item
        frame = cv2.imread(str(item), cv2.IMREAD_COLOR)
        if frame is None:
            raise SourceError(f"{item} is gone or is not an image")
        return frame

    def close(self) -> None:
        self._queue = []


def sample_photos() -> list[Frame]:
    """A few photos that scikit-image ships: the demo runs on a machine with no camera."""
    from skimage import data  # only the demo needs it

    pictures = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    return [cv2.cvtColor(picture, cv2.COLOR_RGB2BGR) for picture in pictures]


def open_capture(source: str, *, loop: bool, timeout_s: float) -> Capture:
    """Open ``source``: '' for sample photos, a device index, a URL, or a path or glob."""
    if source == "":
        return Stills("sample photos", sample_photos, loop=True)
    if source.isdigit():
        return VideoCapture(int(source), loop=loop, timeout_s=timeout_s)
    if "://" in source:
        return VideoCapture(source, loop=loop, timeout_s=timeout_s)
    path = Path(source)
    if path.is_dir():
        return Stills(source, lambda: _images_in(path), loop=loop)
    if glob.has_magic(source):
        # glob.glob, not Path.glob: a user pattern may be absolute or span directories.
        return Stills(source, lambda: sorted(map(Path, glob.glob(source))), loop=loop)  # noqa: PTH207
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return Stills(source, lambda: [path], loop=loop)
    return VideoCapture(source, loop=loop, timeout_s=timeout_s)


def missing(source: str) -> str | None:
    """Why ``source`` cannot be there at all (a device or a file that does not exist, a
    pattern that matches nothing), in one sentence; None when it may be. A stream may
    come later, so it is never missing."""
    if source == "" or "://" in source:
        return None
    if source.isdigit():
        device = Path(f"/dev/video{source}")
        if sys.platform.startswith("linux") and not device.exists():
            return (
                f"there is no camera {source} ({device} does not exist): plug one in, or give "
                "camera.source a file, a folder or a stream URL (empty: sample photos)"
            )
        return None
    if glob.has_magic(source):
        if not glob.glob(source):  # noqa: PTH207 - a user pattern, maybe absolute
            return f"camera.source {source!r} matches no file: check the pattern"
        return None
    if not Path(source).exists():
        return (
            f"camera.source {source!r} does not exist: give a device number, a file, a folder, "
            "a pattern or a stream URL (empty: sample photos)"
        )
    return None


def _images_in(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise SourceError(f"{directory} is gone")
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
