"""`brain train`: a new last layer for a frozen base, on your own photos, as a bundle."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from brain._config import state_dir
from brain._errors import FatalError
from brain.cortex import new_bundle, write_description
from brain.train._bases import BASES
from brain.train._bottlenecks import Bottlenecks
from brain.train._dataset import DatasetError, scan
from brain.train._fit import Schedule, fit_head
from brain.train._report import Report, judge


def _default_cache() -> Path:
    return state_dir() / "bottlenecks"


@dataclass(frozen=True, kw_only=True)
class TrainOptions:
    images: Path
    out: Path
    base: str = "inception_v3"
    base_weights: Path | None = None
    validation: float = 10
    test: float = 10
    augment: int = 0  # augmented copies of each training image
    schedule: Schedule = field(default_factory=Schedule)
    cache: Path = field(default_factory=_default_cache)


def train(options: TrainOptions) -> Report:
    """Train, judge on the test photos, and write the bundle (with its report) to ``out``."""
    began = time.monotonic()
    if options.base not in BASES:
        raise FatalError(f"unknown base {options.base!r}; choose one of {', '.join(BASES)}")
    try:
        dataset = scan(options.images, validation=options.validation, test=options.test)
    except DatasetError as error:
        raise FatalError(str(error)) from None
    with new_bundle(options.out) as folder:  # checked before the long work, written after
        loaded = BASES[options.base].load(options.base_weights)
        bottlenecks = Bottlenecks(loaded, options.cache)
        train_set = bottlenecks.of(dataset.of("train"), variants=options.augment, what="train")
        validation = bottlenecks.of(dataset.of("validation"), what="validation")
        test = bottlenecks.of(dataset.of("test"), what="test")
        if not len(train_set.labels):
            raise FatalError(
                f"no readable training images in {options.images}; add JPEG or PNG files"
            )
        head, history = fit_head(
            train_set, validation, classes=len(dataset.classes), schedule=options.schedule
        )
        scores = judge(
            dataset.classes, test.labels, head.predict(test.vectors, verbose=0), test.paths
        )
        report = Report(
            classes=dataset.classes,
            images={
                "train": len(dataset.of("train")),
                "validation": len(validation.paths),
                "test": len(test.paths),
            },
            scores=scores,
            skipped={str(path): reason for path, reason in bottlenecks.skipped.items()},
            warnings=dataset.warnings,
            bottlenecks={"computed": bottlenecks.computed, "cached": bottlenecks.hits},
            history=history,
            seconds=round(time.monotonic() - began, 1),
        )
        loaded.with_head(head).save(folder / "model.keras")
        base = loaded.base
        write_description(
            folder,
            labels=dataset.classes,
            metadata={
                "name": options.out.name,
                "base": base.name,
                "input_size": list(base.input_size),
                "preprocessing": base.preprocessing,
                "classes": dataset.classes,
                "accuracy": scores.accuracy,
                "images": str(options.images.resolve()),
            },
        )
        report.write(folder / "report")
    return report
