"""The camera: frames from a device, a stream, a video or image files, as image events."""

from __future__ import annotations

import threading
import time
from typing import Any

import cv2
from paho.mqtt.client import MQTT_ERR_SUCCESS
from pydantic import Field, field_validator

from brain import FatalError, NodeOptions, Sense, on, option
from brain.bus import Sent
from schemas import (
    MAX_IMAGE_BYTES,
    MAX_MASKS,
    Box,
    Command,
    ImageEvent,
    Polygon,
    StatValue,
    TopicName,
)
from senses._capture import Capture, Frame, SourceError, missing, open_capture
from senses._grabber import Grabber
from senses._motion import Motion


class CameraOptions(NodeOptions):
    source: str = Field(
        default="",
        description="Device index, URL, video, image file, "
        "directory or glob; empty: sample photos.",
    )
    name: TopicName = Field(default="camera", description="The {source} level of its topics.")
    fps: float = Field(default=2.0, gt=0, le=60, description="Frames published per second.")
    width: int | None = Field(default=640, ge=16, description="Shrink wider frames to this.")
    quality: int = Field(default=80, ge=1, le=100, description="JPEG quality.")
    loop: bool = Field(default=True, description="Start files over at their end.")
    stall_timeout: float = Field(
        default=10.0,
        gt=0,
        description="A live source that sends nothing for this long counts as gone.",
    )
    retry_max: float = Field(default=30.0, gt=0, description="Longest wait between retries.")
    motion: bool = Field(
        default=True,
        description="Send a frame only when the scene moves, and one every `still_every` s "
        "while it is still; false: every frame, at fps.",
    )
    still_every: float = Field(
        default=10.0, gt=0, description="Seconds between the frames of a still scene."
    )
    min_motion: float = Field(
        default=0.002,
        gt=0,
        lt=1,
        description="The least share of the frame that must change to count as motion.",
    )
    masks: list[Polygon] = Field(
        default_factory=list,
        max_length=MAX_MASKS,
        description="Areas where nothing is to be seen (a tree, a road): polygons of [x, y] "
        "corners in the frame's proportions, 0 to 1 from the top-left.",
    )

    @field_validator("source", mode="before")
    @classmethod
    def _device_numbers_are_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class Camera(Sense[CameraOptions]):
    """Publishes the newest frame of its source, a few times a second."""

    name = "camera"
    Options = CameraOptions
    publishes = (ImageEvent,)

    @property
    def source(self) -> str:
        return self.options.name

    def start(self) -> None:
        # A device or file that is not there at start is a sentence and an exit; a
        # source that goes away later is retried (a stream that drops, a camera unplugged).
        why = missing(self.options.source)
        if why is not None:
            raise FatalError(why)
        self._eye_open = threading.Event()
        self._eye_open.set()
        self._snapshot = threading.Event()
        self._capture: Capture | None = None
        self._grabber: Grabber | None = None
        self._retry_at = 0.0
        self._retry_in = 1.0
        self._connected = False
        self._ended = False
        self._seq = 0
        self._in_flight: Sent | None = None
        self._rate = (time.monotonic(), 0)
        self._motion = Motion(masks=self.options.masks, min_area=self.options.min_motion)
        self._sent_at = -float("inf")
        self._cover_checked = False  # whether the masks leave anything to see, once

    @on(Command, node="camera", target=option("name"))
    def obey(self, command: Command) -> None:
        # Only flags here: the capture loop in `run` does the work, woken at once.
        if command.command == "open":
            self._eye_open.set()
        elif command.command == "close":
            self._eye_open.clear()
        else:
            self._snapshot.set()
        self.log.info("command", command=command.command, reason=command.reason)
        self.wake()

    def run(self, stop: threading.Event) -> None:
        period = 1 / self.options.fps
        while not stop.is_set():
            began = time.monotonic()
            snapshot = self._snapshot.is_set()
            self._snapshot.clear()
            if self._eye_open.is_set() or snapshot:
                if not self._shoot(force=snapshot):
                    self.log.info("the source has ended", source=self.options.source)
                    return
                if not self._eye_open.is_set():
                    self._let_go()
            else:
                self._let_go()  # a closed eye frees the device for others
            self.sleep(max(0.0, period - (time.monotonic() - began)))

    def _shoot(self, *, force: bool) -> bool:
        """Publish one frame if there is one; False when a finite source has ended."""
        try:
            frame = self._next_frame()
        except SourceError as problem:
            self._lost(problem)
            return True
        if frame is None:
            return not self._ended
        if not force and self._previous_frame_still_leaving():
            self.stats.add("skipped_busy")  # the last frame has not left yet: no queue here
            return True
        self._publish(frame, force=force)
        return True

    def _previous_frame_still_leaving(self) -> bool:
        info = self._in_flight
        # A frame published while the broker was away was dropped (rc != 0): not in flight.
        return info is not None and info.rc == MQTT_ERR_SUCCESS and not info.is_published()

    def _next_frame(self) -> Frame | None:
        if time.monotonic() < self._retry_at:
            return None if self._capture is None else self._read()
        if self._capture is None:
            self._capture = open_capture(
                self.options.source, loop=self.options.loop, timeout_s=self.options.stall_timeout
            )
            if self._capture.live:
                self._grabber = Grabber(self._capture, stall_timeout=self.options.stall_timeout)
        frame = self._read()
        if not self._connected:
            self._connected, self._retry_in = True, 1.0
            self._motion.forget()  # back after a loss: the view may have changed meanwhile
            self.log.info("capturing", source=self._capture.description)
        return frame

    def _read(self) -> Frame | None:
        assert self._capture is not None
        if self._grabber is not None:
            return self._grabber.newest()
        frame = self._capture.read()
        self._ended = frame is None  # a file without loop: the node is done
        return frame

    def _lost(self, problem: SourceError) -> None:
        self._let_go()
        self._connected = False
        self._retry_at = time.monotonic() + self._retry_in
        self.bus.report_error(
            f"camera {self.options.name}: {problem}; retrying in {self._retry_in:g} s",
            topic=self.topics.matching(ImageEvent, source=self.options.name),
        )
        self._retry_in = min(self.options.retry_max, self._retry_in * 2)

    def _let_go(self) -> None:
        if self._grabber is not None:
            self._grabber.close()
        elif self._capture is not None:
            self._capture.close()
        self._capture, self._grabber = None, None

    def _publish(self, frame: Frame, *, force: bool) -> None:
        frame = shrunk(frame, width=self.options.width)
        moved = self._moved(frame)
        if (
            moved == []
            and not force
            and time.monotonic() - self._sent_at < self.options.still_every
        ):
            self.stats.add("still")  # nothing moved: the cortex has nothing new to see
            return
        jpeg = encoded(frame, quality=self.options.quality)
        height, width = frame.shape[:2]
        if len(jpeg) > MAX_IMAGE_BYTES:
            self.bus.report_error(
                f"a {width}x{height} frame is {len(jpeg)} bytes as JPEG, over "
                f"the {MAX_IMAGE_BYTES} limit; lower camera.width or quality"
            )
            return
        event = ImageEvent(
            source=self.options.name,
            content_type="image/jpeg",
            data=jpeg,
            width=width,
            height=height,
            seq=self._seq,
            motion=moved,
            masks=self.options.masks,
        )
        self._in_flight = self.emit(event)
        self._sent_at = time.monotonic()
        self._seq += 1
        self.stats.add("frames")

    def _moved(self, frame: Frame) -> list[Box] | None:
        """Where ``frame`` moved; None when the camera does not look (``motion`` false)."""
        if not self.options.motion:
            return None
        if not self._cover_checked:
            self._cover_checked = True
            if self._motion.covered(frame.shape[1], frame.shape[0]) > 0.99:
                self.log.warning(
                    "camera.masks cover the whole frame: no motion can be seen there, so "
                    "only keep-alive frames are sent; make the masks smaller"
                )
        return self._motion.regions(frame)

    def close(self) -> None:
        self._let_go()

    def current_stats(self) -> dict[str, StatValue]:
        began, frames_then = self._rate
        now, frames = time.monotonic(), int(self.stats.get("frames") or 0)
        self._rate = (now, frames)
        return {
            "fps": round((frames - frames_then) / max(now - began, 1e-9), 2),
            "connected": self._connected,
            "eye": "open" if self._eye_open.is_set() else "closed",
        }


def shrunk(frame: Frame, *, width: int | None) -> Frame:
    """``frame`` no wider than ``width``, keeping its aspect ratio (never enlarged)."""
    height_now, width_now = frame.shape[:2]
    if width is None or width_now <= width:
        return frame
    size = (width, max(1, round(height_now * width / width_now)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def encoded(frame: Frame, *, quality: int) -> bytes:
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("OpenCV could not encode the frame as JPEG")
    return jpeg.tobytes()
