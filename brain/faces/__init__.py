"""Who is at the door: faces found, embedded, and matched against the family's gallery."""

from brain.faces._embedding import (
    EMBEDDING,
    MIN_FACE_PIXELS,
    THRESHOLD,
    Embedder,
    Face,
    FaceFinder,
    Vector,
    identity_availability,
)
from brain.faces._gallery import (
    Gallery,
    GalleryError,
    Match,
    Person,
    default_gallery,
    name_of,
    said_name,
    visitor,
)
from brain.faces._photos import PhotoError, enrol_from, photo_pixels, photos_in, read_photo
from schemas import STRANGER

__all__ = [
    "EMBEDDING",
    "MIN_FACE_PIXELS",
    "STRANGER",
    "THRESHOLD",
    "Embedder",
    "Face",
    "FaceFinder",
    "Gallery",
    "GalleryError",
    "Match",
    "Person",
    "PhotoError",
    "Vector",
    "default_gallery",
    "enrol_from",
    "identity_availability",
    "name_of",
    "photo_pixels",
    "photos_in",
    "read_photo",
    "said_name",
    "visitor",
]
