"""The face library on the page: who is enrolled, with their faces; photos added from a
phone; renaming and removing (which deletes what was stored, as ``brain faces remove``
does); and the strangers' faces seen lately, grouped when they are one face, each group
one name away from the family.

The running cortex reads the gallery again whenever it changes on disk, so a face added
here is known from its next frame on.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import numpy as np
from aiohttp import web
from PIL import Image

from brain import RGB, FatalError
from brain.faces import (
    THRESHOLD,
    Embedder,
    Face,
    FaceFinder,
    Gallery,
    GalleryError,
    PhotoError,
    Vector,
    enrol_from,
    identity_availability,
    name_of,
    photo_pixels,
    said_name,
)
from effectors.browser._visits import Index, json_object, valid_id
from schemas import Box

#: Strangers' faces kept (the newest), and at most one a second from each camera.
MAX_STRANGERS = 60
STRANGER_EVERY = 1.0
#: Faces enrolled at most from one group of strangers or one visit.
MAX_ENROLLED = 5
#: Largest photo a page may upload.
MAX_UPLOAD_BYTES = 16_000_000

T = TypeVar("T")


class FaceModels:
    """MTCNN and dlib, each loaded at its first use (seconds, and TensorFlow for MTCNN)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._finder: FaceFinder | None = None
        self._embedder: Embedder | None = None

    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = Embedder()
            return self._embedder

    def faces_in(self, frame: RGB) -> list[Face]:
        embedder = self.embedder()
        with self._lock:
            if self._finder is None:
                self._finder = FaceFinder()
            return self._finder.find(frame, embedder)


@dataclass(frozen=True)
class SeenFace:
    id: str
    camera: str
    at: float  # time.time()
    face: RGB
    vector: Vector


class Strangers:
    """The strangers' faces seen lately, from the cameras' frames and the cortex's boxes."""

    def __init__(self, models: FaceModels) -> None:
        self._models = models
        self._seen: deque[SeenFace] = deque(maxlen=MAX_STRANGERS)
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def due(self, camera: str) -> bool:
        """Whether a stranger's face from ``camera`` is wanted now: none came this second."""
        now = time.time()
        with self._lock:
            if now - self._last.get(camera, 0.0) < STRANGER_EVERY:
                return False
            self._last[camera] = now
            return True

    def see(self, camera: str, frame: RGB, box: Box) -> None:
        """Keep a face the cortex called a stranger (ask ``due`` first)."""
        vector = self._models.embedder().embed(frame, box)
        face = Face(box=box, confidence=1.0, vector=vector).thumbnail(frame).copy()
        with self._lock:
            self._seen.append(SeenFace(secrets.token_hex(6), camera, time.time(), face, vector))

    def groups(self) -> list[list[SeenFace]]:
        """The faces, newest first, grouped with the first face they lie close to."""
        with self._lock:
            seen = list(reversed(self._seen))
        groups: list[list[SeenFace]] = []
        for face in seen:
            near = (g for g in groups if np.linalg.norm(g[0].vector - face.vector) < THRESHOLD)
            group = next(near, None)
            if group is None:
                groups.append([face])
            else:
                group.append(face)
        return groups

    def face(self, face_id: str) -> SeenFace | None:
        with self._lock:
            return next((face for face in self._seen if face.id == face_id), None)

    def during(self, camera: str, since: float, until: float) -> list[SeenFace]:
        with self._lock:
            return [f for f in self._seen if f.camera == camera and since <= f.at <= until]

    def forget(self, faces: Iterable[SeenFace]) -> None:
        gone = {face.id for face in faces}
        with self._lock:
            kept = [face for face in self._seen if face.id not in gone]
            self._seen.clear()
            self._seen.extend(kept)


def add_faces(
    app: web.Application, *, gallery: Path, strangers: Strangers, models: FaceModels, index: Index
) -> None:
    """The face library's routes."""

    def library() -> Gallery:
        return Gallery.open(gallery)

    async def listing(_request: web.Request) -> web.StreamResponse:
        available, why = identity_availability()
        people = await _gallery_work(lambda: _people(library()))
        groups = [
            {
                "id": group[0].id,
                "faces": [f"faces/strangers/{face.id}" for face in group[:6]],
                "count": len(group),
                "cameras": sorted({face.camera for face in group}),
                "last_seen": datetime.fromtimestamp(group[0].at).astimezone().isoformat(),
            }
            for group in strangers.groups()
        ]
        return web.json_response(
            {
                "gallery": str(gallery),
                "available": available,
                "why": why,
                "people": people,
                "strangers": groups,
            }
        )

    async def photo(request: web.Request) -> web.StreamResponse:
        name, photo_id = request.match_info["name"], request.match_info["photo"]
        path = await _gallery_work(lambda: library().photo_file(name, photo_id))
        if path is None:
            raise web.HTTPNotFound(text=f"{name} has no face {photo_id!r}\n")
        return web.FileResponse(path, headers={"Content-Type": "image/jpeg"})

    async def upload(request: web.Request) -> web.StreamResponse:
        name = await _gallery_work(lambda: name_of(request.match_info["name"]))
        data = await request.read()

        await _gallery_work(
            lambda: _enrol_photo(library(), models, name, data, origin="uploaded on the page"),
            photo=f"a photo of {said_name(name)}",
            fix="give one where the face is clear",
        )
        return web.json_response({"name": name})

    async def rename(request: web.Request) -> web.StreamResponse:
        new = str((await json_object(request)).get("name", ""))
        await _gallery_work(lambda: library().rename(request.match_info["name"], new))
        return web.json_response({"name": name_of(new)})

    async def remove(request: web.Request) -> web.StreamResponse:
        await _gallery_work(lambda: library().remove(request.match_info["name"]))
        return web.json_response({"removed": request.match_info["name"]})

    async def stranger(request: web.Request) -> web.StreamResponse:
        face = strangers.face(valid_id(request))
        if face is None:
            raise web.HTTPNotFound(text="that face is no longer kept\n")
        return web.Response(body=_jpeg(face.face), content_type="image/jpeg")

    async def name_strangers(request: web.Request) -> web.StreamResponse:
        first = valid_id(request)
        name = str((await json_object(request)).get("name", ""))
        group = next((g for g in strangers.groups() if g[0].id == first), None)
        if group is None:
            raise web.HTTPNotFound(text="those faces are no longer kept; reload the page\n")
        enrolled = await _gallery_work(lambda: _enrol_seen(library(), name, group))
        strangers.forget(group)
        return web.json_response({"name": name_of(name), "faces": enrolled})

    async def name_visit(request: web.Request) -> web.StreamResponse:
        track = valid_id(request)
        name = str((await json_object(request)).get("name", ""))
        events = index.events()
        visit = next(iter(events.visits(track=track) if events else []), None)
        if visit is None or events is None:
            raise web.HTTPNotFound(text="no such visit in the recordings\n")
        seen = strangers.during(
            visit.source, visit.first_seen.timestamp() - 2, visit.last_seen.timestamp() + 2
        )
        if seen:
            enrolled = await _gallery_work(lambda: _enrol_seen(library(), name, seen))
            strangers.forget(seen)
            return web.json_response({"name": name_of(name), "faces": enrolled})
        snapshot = events.visit_snapshot(track) or b""
        await _gallery_work(
            lambda: _enrol_photo(library(), models, name, snapshot, origin=f"visit {track}"),
            photo="this visit's best view",
            fix="add a photo of them on the Faces view",
        )
        return web.json_response({"name": name_of(name), "faces": 1})

    app.router.add_get("/faces", listing)
    app.router.add_get("/faces/people/{name}/{photo}", photo)
    app.router.add_post("/faces/people/{name}/photos", upload)
    app.router.add_post("/faces/people/{name}/rename", rename)
    app.router.add_delete("/faces/people/{name}", remove)
    app.router.add_get("/faces/strangers/{id}", stranger)
    app.router.add_post("/faces/strangers/{id}/name", name_strangers)
    app.router.add_post("/visits/{id}/name", name_visit)


async def _gallery_work(work: Callable[[], T], *, photo: str = "", fix: str = "") -> T:
    """``work`` on a worker thread (the gallery's files, the face models); what the gallery
    or the photo refuses is a 400 that says why and how to fix it."""
    try:
        return await asyncio.to_thread(work)
    except GalleryError as error:
        raise web.HTTPBadRequest(text=f"{error}\n") from None
    except PhotoError as error:
        raise web.HTTPBadRequest(text=f"{photo}: {error}; {fix}\n") from None
    except FatalError as error:  # the face models are not installed
        raise web.HTTPServiceUnavailable(text=f"{error}\n") from None


def _people(gallery: Gallery) -> list[dict[str, object]]:
    return [
        {
            "name": person.name,
            "said": said_name(person.name),
            "added": person.added.isoformat(),
            "faces": [
                f"faces/people/{person.name}/{photo}" for photo in gallery.photo_ids(person.name)
            ],
        }
        for person in gallery.people()
    ]


def _enrol_photo(
    gallery: Gallery, models: FaceModels, name: str, photo: bytes, *, origin: str
) -> None:
    """Enrol the largest face in an encoded photo."""
    frame = photo_pixels(photo)
    enrol_from(gallery, name, frame, models.faces_in(frame), largest=True, origin=origin)


def _enrol_seen(gallery: Gallery, name: str, faces: list[SeenFace]) -> int:
    """Enrol the first ``MAX_ENROLLED`` of ``faces``; how many that was."""
    chosen = faces[:MAX_ENROLLED]
    for seen in chosen:
        gallery.add(name, seen.vector, seen.face, origin=f"seen at {seen.camera}")
    return len(chosen)


def _jpeg(face: RGB) -> bytes:
    out = io.BytesIO()
    Image.fromarray(face).save(out, format="JPEG", quality=85)
    return out.getvalue()
