"""The engines a Keras model can run on: each float32 one agrees with Keras, `auto`
measures them once and keeps its choice, and a choice that cannot work is one sentence."""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as skimage_data

from brain import FatalError
from brain.cortex._engines import ENGINES
from brain.cortex.inception import Inception, imagenet_classes

pytest.importorskip("tensorflow")


def options(weights: Path, runtime: str, precision: str = "float32") -> types.SimpleNamespace:
    return types.SimpleNamespace(weights=weights, top_k=5, runtime=runtime, precision=precision)


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Converted models go to a state directory of these tests' own (converted once)."""
    folder = tmp_path_factory.mktemp("state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(folder))
        yield folder / "brain" / "runtimes"


def test_every_float32_engine_gives_what_keras_gives(
    inception_weights: tuple[object, Path], state: Path
) -> None:
    network, weights = inception_weights
    images = [skimage_data.chelsea(), skimage_data.astronaut(), skimage_data.coffee()]
    frames = [cv2.resize(image, (299, 299), interpolation=cv2.INTER_AREA) for image in images]
    batch = np.stack(frames).astype(np.float32) / 127.5 - 1.0
    expected = network.predict(batch, verbose=0)  # type: ignore[attr-defined]
    classes = imagenet_classes()
    installed = [name for name, engine in ENGINES.items() if engine.installed()]
    assert {"keras", "tflite"} <= set(installed)
    for runtime in installed:
        model = Inception.load(options(weights, runtime))
        for labels, wanted in zip(model.classify(frames), expected, strict=True):
            best = np.argsort(-wanted)[:5]
            assert [label.label for label in labels] == [classes[i] for i in best], runtime
            scores = [label.score for label in labels]
            assert np.allclose(scores, wanted[best], atol=1e-3), runtime
        assert f"on {runtime}" in model.describe()


def test_auto_measures_the_engines_once_and_keeps_the_fastest(
    inception_weights: tuple[object, Path], state: Path
) -> None:
    _, weights = inception_weights
    model = Inception.load(options(weights, "auto"))
    [figures] = state.glob("*/speed-float32.json")
    speeds = json.loads(figures.read_text())
    assert set(speeds) == {n for n, e in ENGINES.items() if e.installed()}
    assert f"on {max(speeds, key=speeds.__getitem__)}" in model.describe()
    figures.write_text(json.dumps({**speeds, "tflite": 1e6}))  # kept: not measured again
    assert "on tflite" in Inception.load(options(weights, "auto")).describe()


def test_an_engine_that_cannot_do_a_precision_says_so(
    inception_weights: tuple[object, Path], state: Path
) -> None:
    _, weights = inception_weights
    with pytest.raises(FatalError, match="keras runs float32, not int8; use runtime=tflite"):
        Inception.load(options(weights, "keras", "int8"))
