"""`brain models bench`: each engine and precision on this machine, in figures, so a
user chooses ``cortex.runtime`` and ``cortex.precision`` with numbers."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass

from brain._errors import FatalError
from brain._plugins import Catalog
from brain.cortex._engines import ENGINES
from brain.cortex._node import CortexOptions, load_model
from brain.cortex._photos import sample_photos


@dataclass(frozen=True)
class Row:
    runtime: str
    precision: str
    single_per_s: float
    batch_8_per_s: float
    p50_ms: float

    def __str__(self) -> str:
        return (
            f"  {self.runtime:<9} {self.precision:<8} {self.single_per_s:>8.1f} "
            f"{self.batch_8_per_s:>10.1f} {self.p50_ms:>9.1f}"
        )


HEADER = f"  {'runtime':<9} {'precision':<8} {'img/s':>8} {'batch 8/s':>10} {'p50 ms':>9}"


def bench(options: CortexOptions, catalog: Catalog, *, rounds: int = 10) -> Iterator[Row]:
    """One row per installed engine and precision the model runs on; when it runs on
    none, the reason it gave."""
    refused: FatalError | None = None
    rows = 0
    for engine in ENGINES.values():
        if not engine.installed():
            continue
        for precision in engine.precisions:
            chosen = options.model_copy(update={"runtime": engine.name, "precision": precision})
            try:
                model = load_model(chosen, catalog)
            except FatalError as error:  # e.g. the people model, on OpenVINO or in int8
                refused = refused or error
                continue
            rows += 1
            frames = sample_photos(model.input_size or (640, 480))
            model.classify(frames[:1])  # warm
            latencies = []
            for n in range(rounds):
                began = time.perf_counter()
                model.classify([frames[n % len(frames)]])
                latencies.append(time.perf_counter() - began)
            batch = (frames * 8)[:8]
            began = time.perf_counter()
            model.classify(batch)
            yield Row(
                runtime=engine.name,
                precision=precision,
                single_per_s=rounds / sum(latencies),
                batch_8_per_s=8 / (time.perf_counter() - began),
                p50_ms=statistics.median(latencies) * 1000,
            )
    if rows == 0 and refused is not None:
        raise refused
