"""The page's web server: the page's files, and one websocket per open page.

Frames go up as binary JPEG messages, transcripts as JSON text messages; what the
page should show comes down as JSON text messages (see ``static/page.js``).
"""

from __future__ import annotations

import asyncio
import resource
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aiohttp import WSMsgType, web
from aiohttp.typedefs import Handler
from aiohttp.web_protocol import RequestHandler
from pydantic import TypeAdapter, ValidationError
from structlog.typing import FilteringBoundLogger as BoundLogger

from effectors.browser._gate import Gate
from effectors.browser._limits import FrameLimiter
from effectors.browser._pages import Page, Pages
from schemas import TopicName

STATIC = Path(__file__).resolve().parent / "static"

#: The page's address carries the token: it must not leak to other sites in a Referer.
HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'",
}
_SOURCE = TypeAdapter(TopicName)
#: Seconds between two warnings about too many connections.
_SAY_EVERY = 60.0


class Uplink(Protocol):
    """What the node does with what pages send."""

    def opened(self, page: Page) -> None: ...
    def frame(self, page: Page, data: bytes) -> None: ...
    def text(self, page: Page, data: str) -> None: ...


@dataclass(frozen=True, kw_only=True)
class Limits:
    fps: float
    frame_bytes: int


def page_app(
    *, gate: Gate, pages: Pages, uplink: Uplink, limits: Limits, max_upload: int
) -> web.Application:
    """The page, its files and its websocket; the node adds the views' routes."""

    @web.middleware
    async def token_needed(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not gate.admits(request):
            raise web.HTTPForbidden(
                text="This page needs its token: open the address that the browser node "
                "printed, with ?token=... in it.\n"
            )
        # What changes something comes only from our own page, never from another site.
        if request.method not in ("GET", "HEAD") and not gate.trusts_origin(request):
            raise web.HTTPForbidden(text="Only the brain's own page may change things.\n")
        return await handler(request)

    async def index(request: web.Request) -> web.StreamResponse:
        response = web.FileResponse(STATIC / "index.html", headers=HEADERS)
        gate.remember(request, response)
        return response

    async def websocket(request: web.Request) -> web.StreamResponse:
        if not gate.trusts_origin(request):
            raise web.HTTPForbidden(text="This websocket only serves the brain's own page.\n")
        source = _source(request)
        # Over twice the limit, aiohttp drops the connection; up to it, the page is told.
        socket = web.WebSocketResponse(max_msg_size=2 * limits.frame_bytes, heartbeat=20)
        await socket.prepare(request)
        page = Page(source=source, socket=socket, limiter=FrameLimiter(limits.fps))
        await _serve(page, pages, uplink, limits)
        return socket

    app = web.Application(middlewares=[token_needed], client_max_size=max_upload)
    app.router.add_get("/", index)
    app.router.add_get("/ws", websocket)
    app.router.add_static("/static", STATIC)
    app.on_shutdown.append(lambda _app: pages.close_all())
    return app


def open_files_allowed() -> int:
    """How many files this process may have open (its soft limit, ``ulimit -n``)."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def limit_connections(runner: web.AppRunner, cap: int, log: BoundLogger) -> None:
    """Close each connection past ``cap`` as it is made, before anything is read from it
    (the token check comes later): a crowd of idle clients cannot take every file the
    process may open. Said at most once a minute."""
    server = runner.server
    assert server is not None, "the runner is set up first"
    made = server.connection_made
    said_at = [-_SAY_EVERY]

    def connection_made(handler: RequestHandler, transport: asyncio.Transport) -> None:
        made(handler, transport)
        if len(server.connections) <= cap:
            return
        transport.close()
        now = time.monotonic()
        if now - said_at[0] >= _SAY_EVERY:
            said_at[0] = now
            log.warning(
                "too many connections; closing the new ones",
                connections=len(server.connections),
                cap=cap,
                fix="raise browser.max_connections, or find who opens so many",
            )

    server.connection_made = connection_made  # type: ignore[method-assign]


def _source(request: web.Request) -> str:
    wanted = request.query.get("source") or f"page-{secrets.token_hex(2)}"
    try:
        return _SOURCE.validate_python(wanted)
    except ValidationError:
        raise web.HTTPBadRequest(
            text=f"source {wanted!r} cannot be a topic level: use letters, digits, - and _.\n"
        ) from None


async def _serve(page: Page, pages: Pages, uplink: Uplink, limits: Limits) -> None:
    pages.add(page)
    sender = asyncio.create_task(page.send_until_closed())
    page.tell("welcome", f"you are {page.source}", source=page.source, max_fps=limits.fps)
    uplink.opened(page)
    try:
        async for message in page.socket:
            if message.type is WSMsgType.BINARY:
                uplink.frame(page, message.data)
            elif message.type is WSMsgType.TEXT:
                uplink.text(page, message.data)
    finally:
        pages.remove(page)
        sender.cancel()
