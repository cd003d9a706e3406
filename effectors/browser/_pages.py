"""The open pages, and the hand-off of bus events from the inbox thread to the pages' loop.

Each page has its own outbox and sender task, so a slow phone delays only itself;
when its outbox is full the oldest message goes, since the newest perception is
the one worth showing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, web

from effectors.browser._limits import FrameLimiter

OUTBOX_SIZE = 32
#: Frames remembered per page, to tell a page which of its frames a perception is about.
REMEMBERED_FRAMES = 256


@dataclass(eq=False)
class Page:
    """One open websocket: a camera and a microphone source on the bus."""

    source: str
    socket: web.WebSocketResponse
    limiter: FrameLimiter
    seq: itertools.count[int] = field(default_factory=itertools.count)
    outbox: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(OUTBOX_SIZE))
    _frames: OrderedDict[str, int] = field(default_factory=OrderedDict)

    def sent_frame(self, event_id: str, seq: int) -> None:
        self._frames[event_id] = seq
        if len(self._frames) > REMEMBERED_FRAMES:
            self._frames.popitem(last=False)

    def seq_of(self, event_id: str) -> int | None:
        return self._frames.get(event_id)

    def tell(self, kind: str, reason: str, **details: Any) -> None:
        """Tell the page about its own input (refused, throttled...), in one sentence."""
        self.post(json.dumps({"type": kind, "reason": reason, **details}))

    def post(self, message: str) -> None:
        """Queue a message for the page (on the loop's thread)."""
        if self.outbox.full():
            self.outbox.get_nowait()
        self.outbox.put_nowait(message)

    async def send_until_closed(self) -> None:
        with contextlib.suppress(ConnectionError):
            while not self.socket.closed:
                await self.socket.send_str(await self.outbox.get())


class Pages:
    """The pages now open. Call ``deliver`` from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._open: set[Page] = set()

    def __len__(self) -> int:
        return len(self._open)

    def add(self, page: Page) -> None:
        self._open.add(page)

    def remove(self, page: Page) -> None:
        self._open.discard(page)

    async def close_all(self) -> None:
        """Tell every page we are going away; they reconnect when we are back."""
        for page in list(self._open):
            await page.socket.close(code=WSCloseCode.GOING_AWAY, message=b"the brain is stopping")

    def deliver(
        self, source: str | None, message: dict[str, Any], *, cause: str | None = None
    ) -> None:
        """Send ``message`` to the pages of ``source`` (every page when None), from any thread.

        With ``cause``, the message gains the page's ``seq`` of that frame, so a page
        knows which of its frames a perception is about.
        """
        with contextlib.suppress(RuntimeError):  # the loop has closed: we are stopping
            self._loop.call_soon_threadsafe(self._deliver, source, message, cause)

    def _deliver(self, source: str | None, message: dict[str, Any], cause: str | None) -> None:
        for page in list(self._open):
            if source is None or page.source == source:
                seq = page.seq_of(cause) if cause else None
                page.post(json.dumps(message if seq is None else {**message, "seq": seq}))
