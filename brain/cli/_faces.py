"""``brain faces``: the face library (gallery) that tells the family from strangers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from brain.cli._group import main
from brain.cli._options import SharedOptions, shared_options, user_errors, with_shared
from brain.cli._progress import saying
from brain.cortex import CortexOptions
from brain.faces import (
    Embedder,
    Face,
    FaceFinder,
    Gallery,
    PhotoError,
    default_gallery,
    enrol_from,
    name_of,
    photos_in,
    read_photo,
)

F = TypeVar("F", bound=Callable[..., Any])


def _gallery_option(command: F) -> F:
    return click.option(
        "--gallery",
        type=click.Path(path_type=Path, file_okay=False),
        help="The face library [default: cortex.gallery, else ~/.local/state/brain/faces].",
    )(command)


@main.group()
@shared_options
def faces() -> None:
    """The face library: who the family is, so the faces model can tell strangers."""


@faces.command()
@click.argument("name")
@click.argument("photos", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--pick",
    type=click.Choice(["largest"]),
    help="In a photo of several faces, enrol the largest [default: skip such photos].",
)
@_gallery_option
@with_shared
def add(
    options: SharedOptions, name: str, photos: tuple[Path, ...], pick: str | None, gallery: Path
) -> None:
    """Enrol NAME from PHOTOS (files or folders), one face each."""
    with user_errors():
        name = name_of(name)
        library = _open(_cortex(options), gallery)
        finder, embedder = _face_models()
        added = skipped = 0
        for path in photos_in(list(photos)):
            try:
                frame = read_photo(path)
                found = finder.find(frame, embedder)
                enrol_from(library, name, frame, found, largest=pick == "largest", origin=str(path))
            except PhotoError as error:
                click.echo(f"skipped {path}: {error}")
                skipped += 1
                continue
            click.echo(f"added {path}")
            added += 1
    summary = f"{name}: {added} photos added, {skipped} skipped; gallery {library.directory}"
    if not added:
        raise click.ClickException(f"{summary}; no face of {name} was enrolled")
    click.echo(summary)


@faces.command("list")
@_gallery_option
@with_shared
def list_faces(options: SharedOptions, gallery: Path) -> None:
    """Who is in the gallery: names, photo counts, when each was added."""
    with user_errors():
        library = _open(_cortex(options), gallery)
        people = library.people()
    click.echo(f"gallery {library.directory}: {len(people)} enrolled")
    for person in people:
        click.echo(f"  {person.name:<20} {person.photos:>3} photos  added {person.added:%Y-%m-%d}")


@faces.command()
@click.argument("photos", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per photo and line.")
@_gallery_option
@with_shared
def who(options: SharedOptions, photos: tuple[Path, ...], as_json: bool, gallery: Path) -> None:
    """Who is in PHOTOS (files or folders): each face's name, or stranger."""
    with user_errors():
        cortex = _cortex(options)
        library = _open(cortex, gallery)
        if library.empty:
            raise click.ClickException(
                f"the gallery {library.directory} is empty; enrol someone first: "
                "brain faces add NAME PHOTO..."
            )
        threshold = cortex.face_threshold
        finder, embedder = _face_models()
        for path in photos_in(list(photos)):
            try:
                found = finder.find(read_photo(path), embedder)
            except PhotoError as error:
                said = {"photo": str(path), "error": str(error)}
                click.echo(json.dumps(said) if as_json else f"{path}: {error}")
                continue
            seen = [_seen(face, library, threshold) for face in found]
            if as_json:
                click.echo(json.dumps({"photo": str(path), "faces": seen}))
                continue
            described = ", ".join(_said(face) for face in seen) or "no face"
            click.echo(f"{path}: {described}")


@faces.command()
@click.argument("name")
@_gallery_option
@with_shared
def remove(options: SharedOptions, name: str, gallery: Path) -> None:
    """Forget NAME: their embeddings and thumbnails are deleted."""
    with user_errors():
        library = _open(_cortex(options), gallery)
        library.remove(name)
    click.echo(f"removed {name} from {library.directory}")


@faces.command()
@click.argument("name")
@click.argument("new_name")
@_gallery_option
@with_shared
def rename(options: SharedOptions, name: str, new_name: str, gallery: Path) -> None:
    """Call NAME NEW_NAME from now on (their faces are kept)."""
    with user_errors():
        library = _open(_cortex(options), gallery)
        library.rename(name, new_name)
    click.echo(f"renamed {name} to {name_of(new_name)} in {library.directory}")


def _face_models() -> tuple[FaceFinder, Embedder]:
    """MTCNN and dlib's embedder, said first on standard error: loading them (and
    TensorFlow) takes seconds that would otherwise pass without a word."""
    with saying("loading the face finder (MTCNN) and the face embedder (dlib)", about_s=10):
        return FaceFinder(), Embedder()


def _cortex(options: SharedOptions) -> CortexOptions:
    """The cortex's options, where the gallery and the threshold are set for all."""
    return cast(CortexOptions, options.settings().options_for("cortex", CortexOptions))


def _open(cortex: CortexOptions, given: Path | None) -> Gallery:
    return Gallery.open(given or cortex.gallery or default_gallery())


def _seen(face: Face, library: Gallery, threshold: float) -> dict[str, Any]:
    box = face.box.model_dump()
    if face.vector is None:
        return {"name": None, "distance": None, "box": box}
    match = library.match(face.vector, threshold=threshold)
    return {"name": match.name, "distance": round(match.distance, 3), "box": box}


def _said(seen: dict[str, Any]) -> str:
    if seen["name"] is None:
        return "a face too small to tell"
    return f"{seen['name']} ({seen['distance']:.2f})"
