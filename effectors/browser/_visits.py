"""The visits timeline: who came, where, when and for how long, from the recorder's index.

``GET /visits?day=2026-11-25&camera=frontdoor&who=a+stranger`` lists the visits (and
the alerts of rules that judge single frames), newest first; a visit's best view is
``/visits/{track}/snapshot``, an alert's snapshot and clip ``/alerts/{id}/snapshot``
and ``/alerts/{id}/clip`` (with ranges, so the page's video element can seek).
``POST /visits/{id}/false-alarm`` keeps the owner's word that it was no one.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from brain.faces import visitor
from brain.files import write_whole
from brain.recording import Events, Happened, Visit
from schemas import EventId

#: How far back the timeline looks when no day is asked for.
RECENT = timedelta(days=30)
#: False alarms remembered; the oldest are forgotten past this.
MAX_FALSE_ALARMS = 10_000

_ID = TypeAdapter(EventId)


class Index:
    """The recorder's index, opened at the first request: the recorder may start later."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._opened: Events | None = None

    def events(self) -> Events | None:
        if self._opened is None and (self.folder / "events.sqlite3").exists():
            self._opened = Events(self.folder)
        return self._opened

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()


class FalseAlarms:
    """The visits and alerts the owner marked "not a person", kept in one JSON file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        try:
            kept = json.loads(path.read_text())
            self._marked: dict[str, float] = {str(k): float(v) for k, v in kept.items()}
        except (OSError, ValueError, AttributeError, TypeError):  # none yet, or damaged
            self._marked = {}

    def __contains__(self, key: str) -> bool:
        return key in self._marked

    def __len__(self) -> int:
        return len(self._marked)

    def mark(self, key: str, marked: bool) -> None:
        with self._lock:
            if marked:
                self._marked[key] = time.time()
            else:
                self._marked.pop(key, None)
            while len(self._marked) > MAX_FALSE_ALARMS:
                del self._marked[min(self._marked, key=self._marked.__getitem__)]
            write_whole(self._path, json.dumps(self._marked).encode())


def add_visits(app: web.Application, index: Index, false_alarms: FalseAlarms) -> None:
    """Add the timeline's routes to the page's app."""

    async def listing(request: web.Request) -> web.StreamResponse:
        found = index.events()
        if found is None:
            return web.json_response(
                {"visits": [], "cameras": [], "who": [], "folder": str(index.folder)}
            )
        since, until = _day(request.query.get("day"))
        camera, who = request.query.get("camera") or None, request.query.get("who") or None
        shown = [
            *(_visit(v, v.track in false_alarms) for v in found.visits(since=since, until=until)),
            *(
                _alert(a, a.id in false_alarms)
                for a in found.list(since=since, until=until)
                if a.track is None  # a visit's alerts are shown with it
            ),
        ]
        cameras = sorted({str(item["camera"]) for item in shown})
        whom = sorted({str(item["who"]) for item in shown})
        chosen = [
            item
            for item in shown
            if camera in (None, item["camera"]) and who in (None, item["who"])
        ]
        chosen.sort(key=lambda item: str(item["start"]), reverse=True)
        return web.json_response({"visits": chosen, "cameras": cameras, "who": whom})

    async def visit_snapshot(request: web.Request) -> web.StreamResponse:
        found = index.events()
        data = found.visit_snapshot(valid_id(request)) if found else None
        return _jpeg(data, missing="no best view for that visit")

    async def alert_snapshot(request: web.Request) -> web.StreamResponse:
        found = index.events()
        return _jpeg(found.snapshot(valid_id(request)) if found else None, missing="no snapshot")

    async def clip(request: web.Request) -> web.StreamResponse:
        found = index.events()
        path = found.clip(valid_id(request)) if found else None
        if path is None:
            raise web.HTTPNotFound(text="no clip for that alert (yet, or any more)\n")
        return web.FileResponse(path, headers={"Content-Type": "video/mp4"})

    async def false_alarm(request: web.Request) -> web.StreamResponse:
        key = valid_id(request)
        asked = await json_object(request)
        false_alarms.mark(key, asked.get("false_alarm") is not False)
        return web.json_response({"id": key, "false_alarm": key in false_alarms})

    app.router.add_get("/visits", listing)
    app.router.add_get("/visits/{id}/snapshot", visit_snapshot)
    app.router.add_post("/visits/{id}/false-alarm", false_alarm)
    app.router.add_get("/alerts/{id}/snapshot", alert_snapshot)
    app.router.add_get("/alerts/{id}/clip", clip)
    app.on_cleanup.append(lambda _app: _closed(index))


def _jpeg(data: bytes | None, *, missing: str) -> web.Response:
    if data is None:
        raise web.HTTPNotFound(text=f"{missing}\n")
    return web.Response(body=data, content_type="image/jpeg")


async def _closed(index: Index) -> None:
    index.close()


async def json_object(request: web.Request) -> dict[str, object]:
    """A request's JSON object, or a 400 that says what to send."""
    try:
        asked = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="send a JSON object\n") from None
    if not isinstance(asked, dict):
        raise web.HTTPBadRequest(text="send a JSON object\n")
    return asked


def valid_id(request: web.Request) -> str:
    asked = request.match_info["id"]
    try:
        return _ID.validate_python(asked)
    except ValidationError:
        raise web.HTTPBadRequest(text=f"{asked!r} is no id: letters, digits, - and _\n") from None


def _day(asked: str | None) -> tuple[float, float | None]:
    if not asked:
        return time.time() - RECENT.total_seconds(), None
    try:
        day = date.fromisoformat(asked)
        start = datetime(day.year, day.month, day.day).astimezone()
        return start.timestamp(), (start + timedelta(days=1)).timestamp()
    except (ValueError, OverflowError):  # not a date; or the first or last day there is
        raise web.HTTPBadRequest(
            text=f"{asked!r} is no day to show: give YYYY-MM-DD, from 0002 to 9998\n"
        ) from None


def _visit(visit: Visit, false_alarm: bool) -> dict[str, object]:
    thumbnail = f"visits/{visit.track}/snapshot" if visit.has_snapshot else None
    return {
        "id": visit.track,
        "kind": "visit",
        "camera": visit.source,
        "who": visitor(visit.identity, visit.label),
        "start": visit.first_seen.isoformat(),
        "seconds": round(visit.seconds, 1),
        "ongoing": not visit.ended,
        "text": visit.text,
        "rules": visit.alerts,
        "thumbnail": thumbnail or _alert_url(visit.clip_alert, "snapshot"),
        "clip": _alert_url(visit.clip_alert, "clip") if visit.clip else None,
        "moment": visit.clip_moment,
        "false_alarm": false_alarm,
    }


def _alert(alert: Happened, false_alarm: bool) -> dict[str, object]:
    return {
        "id": alert.id,
        "kind": "alert",
        "camera": alert.source,
        "who": ", ".join(visitor(name) for name in alert.who) or alert.rule,
        "start": alert.at.isoformat(),
        "seconds": 0,
        "ongoing": False,
        "text": alert.text,
        "rules": [alert.rule],
        "thumbnail": _alert_url(alert.id, "snapshot") if alert.has_snapshot else None,
        "clip": _alert_url(alert.id, "clip") if alert.clip else None,
        "moment": alert.clip_moment,
        "false_alarm": false_alarm,
    }


def _alert_url(alert: str | None, what: str) -> str | None:
    return f"alerts/{alert}/{what}" if alert else None
