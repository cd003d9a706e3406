"""Where a Keras application's ImageNet weights come from: a file given, the Keras
cache, or a download (with a progress bar) where there is network."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from brain._errors import FatalError


def keras_cache(file_name: str) -> Path:
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return home / "models" / file_name


def resolve_weights(
    given: Path | None,
    *,
    option: str,
    file_name: str,
    url: str,
    missing: str,
    download: bool = True,
) -> Path:
    """The weights file to load. ``option`` gave ``given``; ``missing`` is the sentence
    when there is no file at all."""
    if given is not None:
        if not given.is_file():
            raise FatalError(f"the weights file {given} does not exist; check {option}")
        return given
    if keras_cache(file_name).is_file():
        return keras_cache(file_name)
    if download:
        import keras

        try:
            return Path(keras.utils.get_file(file_name, url, cache_subdir="models"))
        except Exception as error:  # no network, a proxy, a full disk: the fix is the same
            raise FatalError(f"{missing} (the download failed: {error})") from None
    raise FatalError(missing)


def weights_id(path: Path) -> str:
    """A short hash of a weights file: what converted models and bottlenecks are keyed by."""
    return sha256_of(path)[:16]


def sha256_of(path: Path) -> str:
    """A file's SHA-256 (hex), read a megabyte at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
