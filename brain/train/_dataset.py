"""The training images: one folder a class, split stably by file-name hash.

A photo's side (train, validation or test) depends only on its file name, so it
never changes between runs, and adding photos does not reshuffle the others.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from brain._errors import BrainError

Split = Literal["train", "validation", "test"]
#: Fewer images than this in a class: trained anyway, with a warning.
FEW_IMAGES = 20


class DatasetError(BrainError, ValueError):
    """Why these images cannot be trained on, in one sentence."""


@dataclass(frozen=True)
class Example:
    path: Path
    label: int
    split: Split


@dataclass
class Dataset:
    classes: list[str]
    examples: list[Example]
    warnings: list[str] = field(default_factory=list)

    def of(self, split: Split) -> list[Example]:
        return [example for example in self.examples if example.split == split]


def split_of(file_name: str, *, validation: float, test: float) -> Split:
    """Which side a file is on, from a hash of its name: stable across runs and machines."""
    bucket = int(hashlib.sha1(file_name.encode()).hexdigest(), 16) % 10_000 / 100
    if bucket < test:
        return "test"
    if bucket < test + validation:
        return "validation"
    return "train"


def scan(directory: Path, *, validation: float = 10, test: float = 10) -> Dataset:
    """The classes (sub-folders, sorted) and their files; percentages for the splits."""
    if not directory.is_dir():
        raise DatasetError(
            f"{directory} is not a folder; give a folder with one sub-folder a class"
        )
    folders = sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DatasetError(
            f"{directory} has no class folders; put each class's images in a sub-folder "
            "named after the class (e.g. people/, cats/)"
        )
    dataset = Dataset(classes=[], examples=[])
    for folder in folders:
        files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not files:
            dataset.warnings.append(f"class {folder.name!r} has no files and is left out")
            continue
        if len(files) < FEW_IMAGES:
            dataset.warnings.append(
                f"class {folder.name!r} has only {len(files)} files; "
                f"{FEW_IMAGES} or more train better"
            )
        label = len(dataset.classes)
        dataset.classes.append(folder.name)
        for path in files:
            split = split_of(path.name, validation=validation, test=test)
            dataset.examples.append(Example(path, label, split))
    if len(dataset.classes) < 2:
        raise DatasetError(
            f"{directory} has {len(dataset.classes)} class with images; a classifier needs "
            "two or more (e.g. people/ and not_people/)"
        )
    return dataset
