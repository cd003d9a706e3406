"""The review: what happened, from the recorder's folder (its index of alerts and clips).

``GET /review/events?day=2026-11-25&rule=door&source=frontdoor`` lists the alerts,
newest first; ``/review/snapshot/{id}`` and ``/review/clip/{id}`` give an alert's
snapshot and its clip (with ranges, so the page's video element can seek).
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path

from aiohttp import web

from brain.recording import Events, Happened

#: How far back the review looks when no day is asked for.
RECENT = timedelta(days=30)


def add_review(app: web.Application, folder: Path) -> None:
    """Add the review's routes to the page's app."""
    index: list[Events] = []  # opened at the first request: the recorder may start later

    def events() -> Events | None:
        if not index and (folder / "events.sqlite3").exists():
            index.append(Events(folder))
        return index[0] if index else None

    async def listing(request: web.Request) -> web.StreamResponse:
        found = events()
        if found is None:
            return web.json_response(
                {"events": [], "rules": [], "sources": [], "folder": str(folder)}
            )
        since, until = _day(request.query.get("day"))
        rule, source = request.query.get("rule") or None, request.query.get("source") or None
        recent = found.list(since=time.time() - RECENT.total_seconds())
        happened = found.list(since=since, until=until, rule=rule, source=source)
        return web.json_response(
            {
                "events": [_shown(event) for event in happened],
                "rules": sorted({event.rule for event in recent}),
                "sources": sorted({event.source for event in recent}),
            }
        )

    async def snapshot(request: web.Request) -> web.StreamResponse:
        found = events()
        data = found.snapshot(request.match_info["id"]) if found else None
        if data is None:
            raise web.HTTPNotFound(text="no snapshot for that alert\n")
        return web.Response(body=data, content_type="image/jpeg")

    async def clip(request: web.Request) -> web.StreamResponse:
        found = events()
        path = found.clip(request.match_info["id"]) if found else None
        if path is None:
            raise web.HTTPNotFound(text="no clip for that alert (yet, or any more)\n")
        return web.FileResponse(path, headers={"Content-Type": "video/mp4"})

    async def close(_app: web.Application) -> None:
        for opened in index:
            opened.close()

    app.router.add_get("/review/events", listing)
    app.router.add_get("/review/snapshot/{id}", snapshot)
    app.router.add_get("/review/clip/{id}", clip)
    app.on_cleanup.append(close)


def _day(asked: str | None) -> tuple[float | None, float | None]:
    if not asked:
        return time.time() - RECENT.total_seconds(), None
    try:
        day = date.fromisoformat(asked)
        start = datetime(day.year, day.month, day.day).astimezone()
        return start.timestamp(), (start + timedelta(days=1)).timestamp()
    except (ValueError, OverflowError):  # not a date; or the first or last day there is
        raise web.HTTPBadRequest(
            text=f"{asked!r} is no day to review: give YYYY-MM-DD, from 0002 to 9998\n"
        ) from None


def _shown(event: Happened) -> dict[str, object]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "rule": event.rule,
        "source": event.source,
        "text": event.text,
        "who": event.who,
        "armed": event.armed,
        "snapshot": f"review/snapshot/{event.id}" if event.has_snapshot else None,
        "clip": f"review/clip/{event.id}" if event.clip else None,
        "clip_seconds": event.clip_seconds,
    }
