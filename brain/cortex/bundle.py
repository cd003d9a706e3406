"""A bundle: a classifier of your own classes, in one directory, as `brain train` makes it.

    BUNDLE/
      model.keras      the whole network (base and trained head), Keras format,
        or model.tflite  the same exported by `brain export` (served by LiteRT)
      labels.txt       one class name a line, in the order of the model's outputs
      metadata.json    {"format": "brain.bundle/1", "base": "inception_v3",
                        "input_size": [299, 299], "preprocessing": "scale_-1_1",
                        "classes": [...], "accuracy": 0.97, "created": "..."}

A folder with TensorFlow's old retrain.py output (output_graph.pb and
output_labels.txt) loads as a bundle too. ``--set cortex.model=BUNDLE`` serves
it; perceptions carry its labels.
"""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from brain._errors import FatalError
from brain._model import RGB, Model, ranked
from brain.cortex._engines import accelerated
from brain.cortex._photos import calibration_images
from brain.cortex._runtimes import Forward, keras_network, retrain_forward, tflite_forward
from brain.cortex._scaling import SCALINGS, scaled
from brain.cortex._weights import weights_id
from schemas import Label

BUNDLE_FORMAT = "brain.bundle/1"
#: The files TensorFlow's old retrain.py wrote, which load as a bundle too.
RETRAIN_GRAPH, RETRAIN_LABELS = "output_graph.pb", "output_labels.txt"


def read_bundle(directory: Path) -> tuple[dict[str, Any], list[str]]:
    """The bundle's metadata and labels, checked; a problem is one sentence."""
    try:
        metadata = json.loads((directory / "metadata.json").read_text(encoding="utf-8"))
        labels = (directory / "labels.txt").read_text(encoding="utf-8").split("\n")
    except FileNotFoundError as error:
        raise FatalError(
            f"{directory} is not a bundle: {Path(str(error.filename)).name} is "
            "missing; make one with `brain train`"
        ) from None
    except ValueError as error:
        raise FatalError(f"{directory}/metadata.json is not valid JSON ({error})") from None
    labels = [label for label in labels if label]
    if metadata.get("format") != BUNDLE_FORMAT:
        raise FatalError(
            f"{directory} is a bundle of format {metadata.get('format')!r}; "
            f"this brain reads {BUNDLE_FORMAT!r}"
        )
    if metadata.get("preprocessing") not in SCALINGS:
        raise FatalError(
            f"{directory}: unknown preprocessing {metadata.get('preprocessing')!r}; "
            f"known: {', '.join(SCALINGS)}"
        )
    return metadata, labels


def read_retrain_outputs(directory: Path) -> tuple[dict[str, Any], list[str]]:
    """retrain.py's labels, and the metadata its Inception graph implies."""
    try:
        text = (directory / RETRAIN_LABELS).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FatalError(
            f"{directory} has {RETRAIN_GRAPH} but no {RETRAIN_LABELS}; "
            "copy it from retrain.py's output"
        ) from None
    metadata = {
        "input_size": [299, 299],
        "preprocessing": "retrain_py",
        "runtime": "retrain.py graph",
    }
    return metadata, [line.strip() for line in text.splitlines() if line.strip()]


def _accelerated(
    directory: Path, metadata: dict[str, Any], options: Any
) -> tuple[Forward, int, str]:
    """A Keras bundle on the engine the options ask for (the fastest, by default)."""
    width, height = (int(metadata["input_size"][0]), int(metadata["input_size"][1]))
    trained_on = metadata.get("images")
    forward, engine = accelerated(
        functools.partial(keras_network, directory / "model.keras"),
        key=f"bundle-{weights_id(directory / 'model.keras')}",
        runtime=options.runtime,
        precision=options.precision,
        images=functools.partial(
            calibration_images,
            (width, height),
            metadata["preprocessing"],
            Path(trained_on) if trained_on else None,
        ),
    )
    outputs = forward(np.zeros((1, height, width, 3), np.float32)).shape[-1]
    return forward, int(outputs), engine


@contextmanager
def new_bundle(out: Path) -> Iterator[Path]:
    """A folder to fill, which becomes ``out`` only when the block ends without error:
    nothing half-written is ever left where a bundle is expected."""
    if out.exists() and not (out / "metadata.json").is_file():
        raise FatalError(f"{out} exists and is not a bundle; choose another --out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as error:
        raise FatalError(
            f"cannot write a bundle at {out} ({error.strerror}); choose another --out"
        ) from None
    try:
        yield partial
        if out.exists():
            replaced = out.with_name(f".{out.name}.replaced")
            out.rename(replaced)
            partial.rename(out)
            shutil.rmtree(replaced)
        else:
            partial.rename(out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def write_description(folder: Path, *, labels: list[str], metadata: dict[str, Any]) -> None:
    """labels.txt and metadata.json, with the format and the date filled in."""
    (folder / "labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    described = {"format": BUNDLE_FORMAT, "created": datetime.now(UTC).isoformat(), **metadata}
    (folder / "metadata.json").write_text(json.dumps(described, indent=2), encoding="utf-8")


class Bundle(Model):
    """A network trained on your own classes (e.g. `people` against the rest)."""

    name = "bundle"

    def __init__(
        self,
        forward: Forward,
        *,
        directory: Path,
        metadata: dict[str, Any],
        labels: list[str],
        top_k: int,
    ) -> None:
        self.name = str(metadata.get("name") or directory.name)  # type: ignore[misc]
        self.input_size = (int(metadata["input_size"][0]), int(metadata["input_size"][1]))
        self._scaling = str(metadata["preprocessing"])
        self._forward = forward
        self._labels = labels
        self._top_k = top_k
        self._directory = directory
        self._runtime = metadata.get("runtime", "keras")

    @classmethod
    def labels(cls, options: Any) -> frozenset[str] | None:
        try:
            return frozenset(read_bundle(Path(options.model))[1])
        except FatalError:  # a retrain.py graph, or no bundle: the cortex says which
            return None

    @classmethod
    def load(cls, options: Any) -> Bundle:
        directory = Path(options.model)
        if (directory / RETRAIN_GRAPH).is_file():
            metadata, labels = read_retrain_outputs(directory)
            forward, outputs = retrain_forward(directory / RETRAIN_GRAPH)
        else:
            metadata, labels = read_bundle(directory)
            if (directory / "model.tflite").is_file():
                forward, outputs = tflite_forward(directory / "model.tflite")
            else:
                forward, outputs, metadata["runtime"] = _accelerated(directory, metadata, options)
        if outputs != len(labels):
            raise FatalError(
                f"{directory}: the model has {outputs} outputs but its labels "
                f"name {len(labels)} classes"
            )
        return cls(
            forward, directory=directory, metadata=metadata, labels=labels, top_k=options.top_k
        )

    def classify(self, frames: list[RGB]) -> list[list[Label]]:
        batch = scaled(frames, self._scaling)
        return ranked(self._forward(batch), self._labels, self._top_k)

    def describe(self) -> str:
        return f"bundle {self._directory} ({len(self._labels)} classes, {self._runtime})"
