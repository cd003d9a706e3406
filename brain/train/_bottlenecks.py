"""Bottlenecks: what the frozen base makes of each image, computed once and kept on disk.

The key is the image's content (not its name) and the base with its weights, so
renaming a photo costs nothing, adding ten photos costs ten, and another base
never reuses these. An augmented copy is keyed by its variant number too: its
flips and crops are drawn from a seed made of the image and the variant, so they
are the same every run, and can be kept as well.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from brain._images import DecodeError, decode_bytes, resized
from brain._model import RGB
from brain.cortex import compiled, scaled
from brain.train._bases import Loaded
from brain.train._dataset import Example

BATCH = 16


@dataclass
class Features:
    """Bottlenecks of some examples, in the examples' order."""

    vectors: NDArray[np.float32]
    labels: NDArray[np.int64]
    paths: list[Path]


#: How images become pixels (``brain._images``): bottlenecks made another way are not reused.
#: ("reduced": a big JPEG is decoded at a half, a quarter or an eighth of its size.)
PIXELS = "reduced"


@dataclass
class Bottlenecks:
    loaded: Loaded
    cache: Path
    skipped: dict[Path, str] = field(default_factory=dict)
    hits: int = 0
    computed: int = 0

    def __post_init__(self) -> None:
        self._folder = self.cache / f"{self.loaded.key}-{PIXELS}"
        self._forward: Callable[[NDArray[np.float32]], NDArray[np.float32]] | None = None

    def of(self, examples: list[Example], *, variants: int = 0, what: str = "images") -> Features:
        """Features of ``examples``, plus ``variants`` augmented copies of each.

        Files that cannot be read or decoded are left out and listed in ``skipped``.
        """
        wanted: list[tuple[Example, str, int]] = []
        for example in examples:
            try:
                digest = hashlib.sha256(example.path.read_bytes()).hexdigest()
            except OSError as error:
                self.skipped[example.path] = f"cannot be read ({error.strerror})"
                continue
            wanted.extend((example, digest, n) for n in range(variants + 1))
        missing = [item for item in wanted if not self._file(item[1], item[2]).exists()]
        self.hits += len(wanted) - len(missing)
        self._compute(missing, what)
        kept = [item for item in wanted if item[0].path not in self.skipped]
        dimensions = int(self.loaded.pooled.shape[-1])
        vectors = [np.load(self._file(digest, n)) for _, digest, n in kept]
        return Features(
            vectors=np.stack(vectors) if vectors else np.zeros((0, dimensions), np.float32),
            labels=np.array([example.label for example, _, _ in kept], np.int64),
            paths=[example.path for example, _, _ in kept],
        )

    def _file(self, digest: str, variant: int) -> Path:
        suffix = f"-{variant}" if variant else ""
        return self._folder / digest[:2] / f"{digest}{suffix}.npy"

    def _compute(self, missing: list[tuple[Example, str, int]], what: str) -> None:
        if not missing:
            return
        base = self.loaded.base
        if self._forward is None:
            self._forward = compiled(self.loaded.features())
        with tqdm(total=len(missing), desc=f"features of {what}", unit="img") as bar:
            for batch in _chunks(missing, BATCH):
                ready, pixels = [], []
                for example, digest, n in batch:
                    try:
                        pixels.append(
                            _pixels(example.path.read_bytes(), digest, n, base.input_size)
                        )
                    except (OSError, DecodeError) as error:
                        self.skipped[example.path] = str(error)
                        continue
                    ready.append(self._file(digest, n))
                if ready:
                    vectors = self._forward(scaled(pixels, base.preprocessing))
                    for target, vector in zip(ready, vectors, strict=True):
                        _save(target, vector)
                self.computed += len(ready)
                bar.update(len(batch))


def _save(target: Path, vector: NDArray[np.float32]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.npy")
    np.save(partial, vector)
    partial.replace(target)  # a stopped run leaves no half-written bottleneck


def _pixels(data: bytes, digest: str, variant: int, size: tuple[int, int]) -> RGB:
    if not variant:
        return decode_bytes(data, size=size)
    return augmented(
        decode_bytes(data), np.random.default_rng([int(digest[:12], 16), variant]), size
    )


def augmented(image: RGB, rng: np.random.Generator, size: tuple[int, int]) -> RGB:
    """A flip, a crop of 70 to 100% of each side, and a brightness of 80 to 120%."""
    if rng.random() < 0.5:
        image = image[:, ::-1]
    height, width = image.shape[:2]
    crop_h, crop_w = (int(side * rng.uniform(0.7, 1.0)) for side in (height, width))
    top, left = rng.integers(0, height - crop_h + 1), rng.integers(0, width - crop_w + 1)
    image = np.ascontiguousarray(image[top : top + crop_h, left : left + crop_w])
    scaled = resized(image, size).astype(np.float32)  # as the cortex resizes frames
    brightened: RGB = np.clip(scaled * rng.uniform(0.8, 1.2), 0, 255).astype(np.uint8)
    return brightened


T = TypeVar("T")


def _chunks(items: list[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
