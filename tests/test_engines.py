"""The engines a Keras model can run on: each float32 one agrees with Keras, `auto`
measures them once and keeps its choice, and a choice that cannot work is one sentence.

Parity is shown on a small network (converting it takes seconds); InceptionV3 is
converted once per test session, by its first start (the `first_start` fixture, a
process of its own), and kept in the session's state folder for every later test."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as skimage_data

from brain import FatalError, state_dir
from brain.cortex._engines import ENGINES
from brain.cortex.inception import Inception, imagenet_classes
from brain.processes import EXIT_FATAL

pytest.importorskip("tensorflow")

PHOTOS = [skimage_data.chelsea(), skimage_data.astronaut(), skimage_data.coffee()]


def options(weights: Path, runtime: str, precision: str = "float32") -> types.SimpleNamespace:
    return types.SimpleNamespace(weights=weights, top_k=5, runtime=runtime, precision=precision)


def photos(size: int) -> np.ndarray:
    frames = [cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA) for image in PHOTOS]
    return np.stack(frames).astype(np.float32) / 127.5 - 1.0


FIRST_START = """
import json, resource, sys
from pathlib import Path
from brain.cortex import CortexOptions
from brain.cortex.inception import Inception
if __name__ == "__main__":
    model = Inception.load(CortexOptions(weights=Path(sys.argv[1]), runtime="auto"))
    print(json.dumps({
        "on": model.describe().rsplit(" ", 1)[-1].rstrip(")"),
        "tensorflow": "tensorflow" in sys.modules,
        "child_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,
    }))
"""


@pytest.fixture(scope="session")
def first_start(
    inception_weights: tuple[object, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    """InceptionV3's first start on ``auto``, in a process of its own with nothing
    converted yet: it converts and measures every engine (in a child), then serves.
    What it converted is kept in the session's state folder, as a next start finds it."""
    folder = tmp_path_factory.mktemp("first-start")
    (folder / "first_start.py").write_text(FIRST_START)
    env = {**os.environ, "XDG_STATE_HOME": str(folder / "state")}
    done = subprocess.run(
        [sys.executable, str(folder / "first_start.py"), str(inception_weights[1])],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    shutil.copytree(folder / "state" / "brain", state_dir(), dirs_exist_ok=True)
    found: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return {**found, "output": done.stdout + done.stderr}


@pytest.fixture(scope="session")
def inception_on_auto(
    inception_weights: tuple[object, Path], first_start: dict[str, object]
) -> Inception:
    """InceptionV3 as the cortex loads it by default, once its first start measured it."""
    return Inception.load(options(inception_weights[1], "auto"))


def test_every_float32_engine_gives_what_keras_gives(tmp_path: Path) -> None:
    import keras

    def network() -> object:
        # The layers Inception and MobileNet are made of, few of each: it converts in seconds.
        keras.utils.set_random_seed(7)
        layers = keras.layers
        return keras.Sequential(
            [
                keras.Input((96, 96, 3)),
                layers.Conv2D(16, 3, strides=2, use_bias=False),
                layers.BatchNormalization(),
                layers.ReLU(6.0),
                layers.DepthwiseConv2D(3, padding="same"),
                layers.Conv2D(32, 1, activation="relu"),
                layers.MaxPooling2D(3, strides=2),
                layers.AveragePooling2D(3, strides=1, padding="same"),
                layers.GlobalAveragePooling2D(),
                layers.Dense(10),
            ]
        )

    images = photos(96)
    expected = network().predict(images, verbose=0)  # type: ignore[attr-defined]
    installed = [name for name, engine in ENGINES.items() if engine.installed()]
    assert {"keras", "tflite"} <= set(installed)
    for name in installed:
        forward = ENGINES[name].build(network, "float32", lambda: images, tmp_path)
        got = np.concatenate([forward(image[None]) for image in images])
        assert np.allclose(got, expected, rtol=1e-3, atol=1e-4 * np.abs(expected).max()), name


@pytest.mark.timeout(900)  # the session's one conversion of InceptionV3 to every engine
def test_auto_measures_the_engines_once_and_keeps_the_fastest(
    inception_weights: tuple[object, Path], inception_on_auto: Inception
) -> None:
    network, weights = inception_weights
    [figures] = (state_dir() / "runtimes").glob("inception-*/speed-float32.json")
    speeds = json.loads(figures.read_text())
    assert set(speeds) == {n for n, e in ENGINES.items() if e.installed()}
    assert f"on {max(speeds, key=speeds.__getitem__)}" in inception_on_auto.describe()
    # Whichever engine won, Inception's labels are Keras' own.
    expected = network.predict(photos(299), verbose=0)  # type: ignore[attr-defined]
    frames = [cv2.resize(image, (299, 299), interpolation=cv2.INTER_AREA) for image in PHOTOS]
    classes = imagenet_classes()
    for labels, wanted in zip(inception_on_auto.classify(frames), expected, strict=True):
        best = np.argsort(-wanted)[:5]
        assert [label.label for label in labels] == [classes[i] for i in best]
        assert np.allclose([label.score for label in labels], wanted[best], atol=1e-3)

    figures.write_text(json.dumps({**speeds, "tflite": 1e6}))  # kept: not measured again
    try:
        assert "on tflite" in Inception.load(options(weights, "auto")).describe()
    finally:
        figures.write_text(json.dumps(speeds))


def test_an_engine_that_cannot_do_a_precision_says_so(
    inception_weights: tuple[object, Path],
) -> None:
    _, weights = inception_weights
    with pytest.raises(FatalError, match="keras runs float32, not int8; use runtime=tflite"):
        Inception.load(options(weights, "keras", "int8"))


@pytest.mark.timeout(900)  # the session's one conversion of InceptionV3 to every engine
def test_a_first_start_measures_in_a_child_and_serves_lean(first_start: dict[str, object]) -> None:
    """The serving process loads TensorFlow only to serve on Keras; the measuring of every
    engine (1.7 GB with Inception) happens in a child that is gone by then."""
    assert first_start["on"] in ENGINES
    assert first_start["tensorflow"] == (first_start["on"] == "keras")
    assert first_start["child_mb"] > 0, "nothing was measured in a child process"  # type: ignore[operator]
    said = str(first_start["output"])
    assert "measuring every engine in a child process" in said
    # A line an engine, with what is left: minutes behind one line said nothing.
    assert said.count("converting and measuring") >= 2 and "s left" in said


@pytest.mark.timeout(600)
def test_ctrl_c_while_measuring_says_nothing_is_wrong(
    inception_weights: tuple[object, Path], tmp_path: Path
) -> None:
    """Ctrl-C reaches the whole foreground group, the measuring child with the cortex: the
    cortex says that the next start measures again, not that something failed."""
    node = subprocess.Popen(
        [sys.executable, "-m", "brain", "--mqtt", "mqtt://127.0.0.1:9", "--set",
         f'cortex.weights="{inception_weights[1]}"', "node", "cortex"],
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "BRAIN_LOG_FORMAT": "json"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    assert node.stdout is not None
    said = []
    for line in node.stdout:
        said.append(line)
        if "measuring every engine in a child process" in line:
            break
    time.sleep(2)  # the child has started measuring (a signal before it would end it early)
    os.killpg(node.pid, signal.SIGINT)
    said += node.stdout.readlines()
    assert node.wait(timeout=120) == EXIT_FATAL
    told = "".join(said)
    assert "nothing is wrong, and the next start measures them again" in told
    assert "choose an engine" not in told and "Traceback" not in told
