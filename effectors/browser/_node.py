"""The browser node: a web page is the brain's eye, voice and ear.

Each open page is a camera and a microphone source on the bus. Its frames and
transcripts go up through the websocket; the perceptions of its source, the
mentions, the alerts and the camera commands for its source come down. The web
server runs on its own asyncio loop in the node's thread, beside the bus thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import threading
from pathlib import Path

from aiohttp import web
from pydantic import Field, ValidationError

from brain import FatalError, Latest, Node, NodeOptions, on, state_dir
from brain.bus import describe_rejection
from brain.faces import STRANGER, default_gallery, identity_availability, visitor
from brain.images import DecodeError, decode, image_header
from brain.recording import default_folder
from effectors.browser._address import shown_host, tls_context
from effectors.browser._faces import MAX_UPLOAD_BYTES, FaceModels, Strangers, add_faces
from effectors.browser._gate import Gate, lasting_token
from effectors.browser._health import Health, add_health
from effectors.browser._live import Cameras, add_live
from effectors.browser._pages import Page, Pages
from effectors.browser._server import Limits, limit_connections, open_files_allowed, page_app
from effectors.browser._visits import FalseAlarms, Index, add_visits
from schemas import (
    MAX_IMAGE_BYTES,
    Alert,
    Clip,
    Command,
    ErrorEvent,
    Event,
    ImageEvent,
    Perception,
    State,
    Stats,
    StatValue,
    Track,
    TranscriptEvent,
)


class BrowserOptions(NodeOptions):
    host: str = Field(
        default="127.0.0.1",
        description="Address to listen on; any other than localhost needs `cert` and `key`.",
    )
    port: int = Field(default=8080, ge=0, le=65535, description="Port to listen on.")
    cert: Path | None = Field(default=None, description="TLS certificate (PEM), for https.")
    key: Path | None = Field(default=None, description="TLS private key (PEM), for https.")
    token: str | None = Field(
        default=None,
        min_length=16,
        description="The page's access token; default: a random one kept in the state directory.",
    )
    origins: list[str] = Field(
        default_factory=list,
        description="Other origins allowed to open the websocket, e.g. behind a proxy.",
    )
    max_fps: float = Field(default=15, gt=0, le=60, description="Most frames a second per page.")
    max_frame_bytes: int = Field(
        default=1_000_000, ge=1000, le=MAX_IMAGE_BYTES, description="Largest frame a page may send."
    )
    recordings: Path = Field(
        default_factory=default_folder,
        description="The recorder's folder, whose visits, alerts and clips the page shows.",
    )
    gallery: Path = Field(
        default_factory=default_gallery,
        description="The face library the page shows and changes: cortex.gallery's folder.",
    )
    idle_timeout: float = Field(
        default=15.0,
        gt=0,
        description="Seconds a connection may stay without a whole request before it is closed.",
    )
    max_connections: int = Field(
        default=200,
        ge=1,
        description="Connections at once, pages and downloads; more are closed at once "
        "(and never more than half the files this process may open).",
    )


class Browser(Node[BrowserOptions]):
    """Serves the page, and connects each open page to the bus."""

    name = "browser"
    Options = BrowserOptions
    publishes = (ImageEvent, TranscriptEvent, Command)

    def start(self) -> None:
        options = self.options
        tls = tls_context(options.host, options.cert, options.key)
        token = options.token or lasting_token(state_dir() / "browser-token")
        self._loop = asyncio.new_event_loop()
        self._stopped = asyncio.Event()
        self._pages = Pages(self._loop)
        self._rules: dict[str, str] = {}  # each alert rule's state, for pages that open later
        self._cameras, self._health = Cameras(), Health()
        self._strangers = Strangers(models := FaceModels())
        self._faces_told = identity_availability()[0]
        app = page_app(
            gate=Gate(token, frozenset(options.origins)),
            pages=self._pages,
            uplink=self,
            limits=Limits(fps=options.max_fps, frame_bytes=options.max_frame_bytes),
            max_upload=MAX_UPLOAD_BYTES,
        )
        index = Index(options.recordings)
        false_alarms = FalseAlarms(state_dir() / "browser-false-alarms.json")
        add_live(app, self._cameras)
        add_visits(app, index, false_alarms)
        add_faces(
            app, gallery=options.gallery, strangers=self._strangers, models=models, index=index
        )
        add_health(
            app, self._health, recordings=options.recordings, false_alarms=false_alarms.__len__
        )
        self.listen(self.topics.status(), self.node_status)
        self._heard_itself = threading.Event()
        # A connection that sends no whole request is closed after idle_timeout, however
        # slowly it sends: idle and half-sent requests do not pile up.
        self._runner = web.AppRunner(app, access_log=None, keepalive_timeout=options.idle_timeout)
        try:
            port = self._loop.run_until_complete(self._listen(tls))
        except FatalError:
            self.close()
            raise
        scheme = "https" if tls else "http"
        self.address = f"{scheme}://{shown_host(options.host)}:{port}/?token={token}"
        self.log.info("open the page", url=self.address)

    async def _listen(self, tls: ssl.SSLContext | None) -> int:
        await self._runner.setup()
        cap = min(self.options.max_connections, open_files_allowed() // 2)
        limit_connections(self._runner, cap, self.log)
        site = web.TCPSite(self._runner, self.options.host, self.options.port, ssl_context=tls)
        try:
            await site.start()
        except OSError as error:
            raise FatalError(
                f"cannot listen on {self.options.host}:{self.options.port} ({error.strerror}); "
                "choose another port with --set browser.port=N"
            ) from None
        return int(self._runner.addresses[0][1])

    def run(self, stop: threading.Event) -> None:
        # The web server runs while this thread waits in its loop, until `stopping`.
        while not stop.is_set():
            self._loop.run_until_complete(self._stopped.wait())
            self._stopped.clear()

    def stopping(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nothing waits in it
            self._loop.call_soon_threadsafe(self._stopped.set)

    def close(self) -> None:
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    # -- up: from the pages (on the loop's thread) -------------------------------

    def opened(self, page: Page) -> None:
        self.log.info("page opened", source=page.source, pages=len(self._pages))
        for rule, value in list(self._rules.items()):
            page.post(json.dumps({"type": "rule", "rule": rule, "state": value}))

    def frame(self, page: Page, data: bytes) -> None:
        self.stats.add("frames_in")
        if len(data) > self.options.max_frame_bytes:
            self.stats.add("frames_refused")
            page.tell(
                "refused",
                f"a frame of {len(data)} bytes is over the limit of "
                f"{self.options.max_frame_bytes}; send smaller or lower-quality frames",
            )
            return
        try:
            width, height = _jpeg_size(data)
        except ValueError as error:
            self.stats.add("frames_refused")
            page.tell("refused", str(error))
            return
        if not page.limiter.allow():
            self.stats.add("frames_throttled")
            if page.limiter.should_warn():
                page.tell(
                    "throttled",
                    f"frames come faster than {self.options.max_fps:g} a second; "
                    "the page should send fewer",
                    max_fps=self.options.max_fps,
                )
            return
        seq = next(page.seq)
        event = ImageEvent(
            source=page.source,
            content_type="image/jpeg",
            data=data,
            width=width,
            height=height,
            seq=seq,
        )
        page.sent_frame(event.id, seq)
        self.publish(event)

    def text(self, page: Page, data: str) -> None:
        """A transcript (what the user said or typed), or an alert rule to arm or disarm."""
        kind: type[Event] = TranscriptEvent
        try:
            message = json.loads(data)
            if not isinstance(message, dict) or message.get("type") not in _TEXT_MESSAGES:
                raise ValueError("a text message must be a JSON object: a 'transcript' or an 'arm'")
            if message.pop("type") == "arm":
                kind = Command
                self._armed(page, message)
                return
            transcript = TranscriptEvent.model_validate({**message, "source": page.source})
        except ValidationError as error:
            page.tell("refused", describe_rejection(error, kind))
            return
        except json.JSONDecodeError as error:
            page.tell("refused", f"a text message must be JSON ({error.msg})")
            return
        except RecursionError:
            page.tell("refused", "a text message is nested too deeply to be a transcript")
            return
        except ValueError as error:
            page.tell("refused", str(error))
            return
        self.stats.add("transcripts")
        self.publish(transcript)
        command = transcript.voice_command()
        if command is not None:  # the page is its own camera: it obeys its own voice
            self._pages.deliver(page.source, {"type": "command", "command": command})

    def _armed(self, page: Page, message: dict[str, object]) -> None:
        """A rule's switch: the alerts node arms or disarms it, and says so (``rule_state``)."""
        rule = message.get("rule")
        if not isinstance(rule, str) or rule not in self._rules:
            raise ValueError(f"there is no alert rule {rule!r} to arm or disarm")
        order = "arm" if message.get("armed") else "disarm"
        command = Command(source=page.source, command=order, reason="switched on the page")
        self.stats.add("arming")
        self.publish(command, node="alerts", target=rule)

    # -- down: from the bus (on the inbox thread, on to the pages' loop) --------------

    @on(ImageEvent, keep=Latest(per="source"))
    def frame_came(self, frame: ImageEvent) -> None:
        """A camera's newest frame: every page's live grid fetches it when it can."""
        state = self._cameras.add(frame)
        if state is None:
            self.stats.add("cameras_refused")
        else:
            self._pages.deliver(None, {"type": "frame", **state})

    @on(Perception)
    def perceived(self, perception: Perception) -> None:
        # Every page: the page that saw it shows it on its eye, the others on their grid.
        message = {"type": "perception", "perception": perception.model_dump(mode="json")}
        self._pages.deliver(None, message, cause=perception.cause)
        if perception.sense == "camera" and self._faces_told:
            self._keep_strangers(perception)

    def _keep_strangers(self, perception: Perception) -> None:
        """The faces the cortex called strangers, for the face library's "seen lately"."""
        told = (label for label in perception.labels if label.label == STRANGER)
        boxes = [label.box for label in told if label.box is not None]
        if not boxes or not self._strangers.due(perception.source):
            return
        frame = self._cameras.frame(perception.source, perception.cause)
        if frame is None:
            return
        try:
            pixels = decode(frame)
        except DecodeError:
            return
        for box in boxes:
            self._strangers.see(perception.source, pixels, box)

    @on(Track)
    def tracked(self, track: Track) -> None:
        """Who is at each camera now, for the grid's tiles."""
        shown = track.model_dump(mode="json", include=_TRACK_SHOWN)
        shown["who"] = visitor(track.identity, track.label)
        self._pages.deliver(None, {"type": "track", "track": shown})

    @on(Stats)
    def stats_came(self, stats: Stats) -> None:
        self._health.stats(stats)

    @on(ErrorEvent)
    def error_came(self, error: ErrorEvent) -> None:
        self._health.error(error)

    def node_status(self, topic: str, payload: bytes) -> None:
        said = payload[:16].decode("ascii", errors="replace")
        node = self.topics.status_of(topic)
        self._health.status(node, said)
        if node == self.name:
            self._heard_itself.set()

    def connected(self) -> None:
        if not self._heard_itself.is_set():  # asked once connected: our presence is out
            with contextlib.suppress(RuntimeError):  # the loop has closed: we are stopping
                self._loop.call_soon_threadsafe(
                    self._loop.call_later, HEARING_WAIT, self._check_hearing
                )

    def _check_hearing(self) -> None:
        """The broker grants a subscription its ACL refuses, then delivers nothing: an
        ACL from before the page showed the house leaves Live and Health empty without a
        word. Our own presence, which every node publishes, tells."""
        if not self._heard_itself.is_set():
            self.log.warning(
                "the broker lets this node hear no node's presence: the page's Live and "
                "Health views stay empty",
                fix="give the browser's user in the broker's ACL what mosquitto/acl gives "
                "it (read brain/status/#, brain/stats/#, brain/errors/#, readwrite "
                "brain/senses/camera/#), then restart the broker",
            )

    @on(Command, node="camera", with_keys=True)
    def command_camera(self, command: Command, keys: dict[str, str]) -> None:
        """The cortex's voice commands for a camera: the page of that name obeys them."""
        self._pages.deliver(keys["target"], {"type": "command", "command": command.command})

    @on(State, node="alerts")
    def rule_state(self, state: State) -> None:
        """An alert rule's state (armed, disarmed, removed), for every page's switches."""
        if state.value == "removed":
            self._rules.pop(state.name, None)
        else:
            self._rules[state.name] = state.value
        self._pages.deliver(None, {"type": "rule", "rule": state.name, "state": state.value})

    @on(Clip)
    def clip_ready(self, clip: Clip) -> None:
        """A clip is in: the pages' review shows it."""
        self._pages.deliver(None, {"type": "clip", "alert": clip.alert, "rule": clip.rule})

    @on(Alert)
    def alerted(self, alert: Alert) -> None:
        self._pages.deliver(None, {"type": "alert", "alert": alert.model_dump(mode="json")})

    def current_stats(self) -> dict[str, StatValue]:
        return {"pages": len(self._pages), "url": self.address.split("?")[0]}


_TEXT_MESSAGES = ("transcript", "arm")
#: Seconds after starting by which the node must have heard its own presence.
HEARING_WAIT = 15.0
#: What a page is told of a track: enough to say who is where, not its best view.
_TRACK_SHOWN = {"source", "track", "state", "label", "identity", "box", "width", "height", "text"}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from the JPEG header; anything else is refused before the bus."""
    try:
        kind, width, height = image_header(data)
    except DecodeError as error:
        raise ValueError(
            f"a frame is not a readable JPEG image ({error}); send canvas.toBlob JPEGs"
        ) from None
    if kind != "JPEG":
        raise ValueError(f"a frame must be a JPEG image, not {kind}")
    return width, height
