"""The cortex's neural models, on a real broker: Inception (Keras) and faces (MTCNN)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from brain import testing
from brain._images import decode
from schemas import ImageEvent, Perception
from tests.support import (
    CONVERTING,
    ROOT,
    Broker,
    NodeProcess,
    Recorder,
    brain_command,
    publish,
    topic_is,
    wait_until_serving,
)

keras = pytest.importorskip("keras")
skimage_data = pytest.importorskip("skimage.data")


def photo(pixels: np.ndarray, source: str = "door") -> ImageEvent:
    return testing.frame(pixels, source=source)


def cortex(broker: Broker, start: Callable[..., NodeProcess], *sets: str) -> NodeProcess:
    node = start("--mqtt", broker.url, *sets, "node", "cortex")
    wait_until_serving(node, broker)
    return node


def test_inception_over_the_bus_agrees_with_keras_on_the_same_image(
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
    inception_weights: tuple[object, Path],
) -> None:
    network, weights = inception_weights
    seen = record(mosquitto, "brain/perceptions/#")
    cortex(
        mosquitto,
        brain_process,
        "--set",
        f'cortex.weights="{weights}"',
        "--set",
        "cortex.runtime=keras",
    )
    event = photo(skimage_data.chelsea())
    publish(mosquitto, "brain/senses/camera/door/image", event.to_json(), qos=0)
    [(_, payload)] = seen.wait_for(topic_is("brain/perceptions/camera/door"), timeout=60)
    perception = Perception.model_validate_json(payload)

    pixels = decode(event, size=(299, 299)).astype(np.float32) / 127.5 - 1.0
    expected = network.predict(pixels[None], verbose=0)[0]  # type: ignore[attr-defined]
    best = np.argsort(-expected)[:5]
    classes = (ROOT / "brain" / "cortex" / "imagenet_classes.txt").read_text().splitlines()
    assert [label.label for label in perception.labels] == [classes[i] for i in best]
    assert np.allclose([label.score for label in perception.labels], expected[best], atol=1e-4)
    assert perception.model == "inception"
    assert perception.text.startswith("I see a") and classes[best[0]] in perception.text


def test_without_weights_or_network_the_cortex_refuses_with_the_fix(
    mosquitto: Broker, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "brain", "--mqtt", mosquitto.url, "run", "cortex"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KERAS_HOME": str(tmp_path)},
    )
    assert result.returncode == 1
    assert (
        "no InceptionV3 weights here and none could be downloaded: run `brain models "
        "pull inception`" in result.stderr
    )
    assert "restarted" not in result.stderr


def test_faces_see_a_person_and_not_the_cat(
    mosquitto: Broker, record: Callable[..., Recorder], brain_process: Callable[..., NodeProcess]
) -> None:
    seen = record(mosquitto, "brain/perceptions/#", "brain/stats/cortex")
    cortex(
        mosquitto,
        brain_process,
        "--set",
        "cortex.model=faces",
        "--set",
        "cortex.stats_interval=0.5",
    )
    for source, picture in (
        ("cat", skimage_data.chelsea()),
        ("cup", skimage_data.coffee()),
        ("astronaut", skimage_data.astronaut()),
    ):
        publish(mosquitto, f"brain/senses/camera/{source}/image", photo(picture, source).to_json())
    [(_, payload)] = seen.wait_for(topic_is("brain/perceptions/camera/astronaut"), timeout=60)
    person = Perception.model_validate_json(payload)
    assert person.labels[0].label == "person" and person.labels[0].score > 0.9
    box = person.labels[0].box
    assert box is not None and 100 < box.x < 300 and 0 < box.y < 200  # her face, top middle
    assert person.text == "I see a person."
    seen.wait_for(lambda t, p: t == "brain/stats/cortex" and b'"classified":3' in p, timeout=30)
    assert not seen.matching(topic_is("brain/perceptions/camera/cat"))
    assert not seen.matching(topic_is("brain/perceptions/camera/cup"))


def test_brain_models_says_which_can_run_and_how_to_get_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    plugins = ("--plugins-dir", ROOT / "tests" / "plugins")
    listing = brain_command(*plugins, "models")
    assert listing.returncode == 0, listing.stderr
    assert "colours        ready" in listing.stdout
    assert (
        "inception      not ready  no weights yet: `brain models pull inception`" in listing.stdout
    )
    assert "faces          ready      weights in the mtcnn package" in listing.stdout
    pulled = brain_command(*plugins, "models", "pull", "inception")
    assert pulled.returncode == 1
    assert "could not download https://storage.googleapis.com/" in pulled.stderr


def make_bundle(directory: Path, *, labels: list[str]) -> Path:
    """A bundle whose network names the dominant colour: mean of each channel, x20, softmax."""
    inputs = keras.Input((32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    outputs = keras.layers.Dense(3, activation="softmax")(pooled)
    network = keras.Model(inputs, outputs)
    network.layers[-1].set_weights([np.eye(3, dtype=np.float32) * 20, np.zeros(3, np.float32)])
    directory.mkdir()
    network.save(directory / "model.keras")
    (directory / "labels.txt").write_text("\n".join(labels) + "\n")
    metadata = {
        "format": "brain.bundle/1",
        "name": "colour-bundle",
        "base": "test",
        "input_size": [32, 32],
        "preprocessing": "scale_-1_1",
        "classes": labels,
    }
    (directory / "metadata.json").write_text(json.dumps(metadata))
    return directory


@CONVERTING
def test_a_bundle_is_served_with_its_own_labels(
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
    tmp_path: Path,
) -> None:
    bundle = make_bundle(tmp_path / "colours", labels=["red", "green", "blue"])
    seen = record(mosquitto, "brain/perceptions/#")
    cortex(mosquitto, brain_process, "--set", f'cortex.model="{bundle}"')
    red = np.zeros((48, 64, 3), np.uint8)
    red[..., 0] = 220
    publish(mosquitto, "brain/senses/camera/door/image", photo(red).to_json())
    [(_, payload)] = seen.wait_for(topic_is("brain/perceptions/camera/door"), timeout=60)
    perception = Perception.model_validate_json(payload)
    assert [label.label for label in perception.labels] == ["red", "green", "blue"]
    assert perception.labels[0].score > 0.99 and perception.model == "colour-bundle"


def test_a_bundle_that_does_not_add_up_is_one_sentence(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess], tmp_path: Path
) -> None:
    bundle = make_bundle(tmp_path / "broken", labels=["red", "green"])
    node = brain_process(
        "--mqtt", mosquitto.url, "--set", f'cortex.model="{bundle}"', "node", "cortex"
    )
    assert node.process.wait(timeout=120) == 78
    assert "the model has 3 outputs but its labels name 2 classes" in node.log()


def test_a_keras_model_is_served_without_keras_plots_and_scikit_learn(tmp_path: Path) -> None:
    # Keras imports matplotlib and scikit-learn when they are installed (80 MB); a cortex
    # leaves them out, and they stay importable for whatever needs them later.
    bundle = make_bundle(tmp_path / "colours", labels=["red", "green", "blue"])
    served = f"""
import sys
import numpy as np
from brain.plugins import discover
from brain.cortex import CortexOptions, load_model
model = load_model(CortexOptions(model={str(bundle)!r}, runtime="keras"), discover())
red = np.zeros((32, 32, 3), np.uint8)
red[..., 0] = 220
print(model.classify([red])[0][0].label)
print(sorted({{name.split(".")[0] for name in sys.modules}} & {{"matplotlib", "sklearn"}}))
import matplotlib.pyplot, sklearn.linear_model
print("importable")
"""
    run = subprocess.run(
        [sys.executable, "-c", served], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:3] == ["red", "[]", "importable"]
