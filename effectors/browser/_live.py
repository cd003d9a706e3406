"""The live grid: each camera's newest frame, and how the camera is doing.

The node keeps the newest frame of every camera on the bus (and a few before it, for
the faces of strangers in them). A page is told that a frame came, with the camera's
state; it fetches ``/live/{camera}`` when it is ready for the next picture, so each
viewer gets frames at the rate its link allows, never a queue of old ones.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from schemas import ImageEvent, TopicName

#: A camera with no frame for this long is offline (a still scene sends one every 10 s).
ONLINE_FOR = 30.0
#: Frames kept per camera: the newest is shown, the others wait for their perception.
KEPT_FRAMES = 8
#: The frames over which a camera's rate is measured.
RATE_OVER = 10
#: Cameras shown; frames from more are left out, so made-up sources cannot fill memory.
MAX_CAMERAS = 64

_CAMERA = TypeAdapter(TopicName)


@dataclass
class Camera:
    name: str
    frames: deque[ImageEvent] = field(default_factory=lambda: deque(maxlen=KEPT_FRAMES))
    arrivals: deque[float] = field(default_factory=lambda: deque(maxlen=RATE_OVER))

    def state(self, now: float) -> dict[str, object]:
        newest = self.frames[-1]
        span = self.arrivals[-1] - self.arrivals[0] if len(self.arrivals) > 1 else 0.0
        return {
            "camera": self.name,
            "id": newest.id,
            "at": newest.ts.isoformat(),
            "width": newest.width,
            "height": newest.height,
            "fps": round((len(self.arrivals) - 1) / span, 1) if span > 0 else 0.0,
            "online": now - self.arrivals[-1] < ONLINE_FOR,
        }


class Cameras:
    """Every camera's newest frames; fed on the inbox thread, read on the web server's."""

    def __init__(self) -> None:
        self._cameras: dict[str, Camera] = {}
        self._lock = threading.Lock()

    def add(self, frame: ImageEvent) -> dict[str, object] | None:
        """Keep ``frame``; its camera's state, for the pages (None: too many cameras)."""
        now = time.monotonic()
        with self._lock:
            if frame.source not in self._cameras and len(self._cameras) >= MAX_CAMERAS:
                return None
            camera = self._cameras.setdefault(frame.source, Camera(frame.source))
            camera.frames.append(frame)
            camera.arrivals.append(now)
            return camera.state(now)

    def states(self) -> list[dict[str, object]]:
        now = time.monotonic()
        with self._lock:
            return [camera.state(now) for _, camera in sorted(self._cameras.items())]

    def newest(self, camera: str) -> ImageEvent | None:
        with self._lock:
            found = self._cameras.get(camera)
            return found.frames[-1] if found else None

    def frame(self, camera: str, frame_id: str) -> ImageEvent | None:
        """One of the camera's last frames, by id (a perception's cause)."""
        with self._lock:
            found = self._cameras.get(camera)
            return next((f for f in found.frames if f.id == frame_id), None) if found else None


def add_live(app: web.Application, cameras: Cameras) -> None:
    """``/live``: every camera's state; ``/live/{camera}``: its newest frame."""

    async def states(_request: web.Request) -> web.StreamResponse:
        return web.json_response({"cameras": cameras.states(), "stale_after": ONLINE_FOR})

    async def newest(request: web.Request) -> web.StreamResponse:
        asked = request.match_info["camera"]
        try:
            camera = _CAMERA.validate_python(asked)
        except ValidationError:
            raise web.HTTPBadRequest(text=f"{asked!r} is no camera's name\n") from None
        frame = cameras.newest(camera)
        if frame is None:
            raise web.HTTPNotFound(text=f"no frame from {camera} has come yet\n")
        headers = {"Cache-Control": "no-store", "X-Frame-Id": frame.id}
        return web.Response(body=frame.data, content_type=frame.content_type, headers=headers)

    app.router.add_get("/live", states)
    app.router.add_get("/live/{camera}", newest)
