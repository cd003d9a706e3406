"""`brain train` and `brain export` as a user runs them, on a dataset the tests make,
with a MobileNetV2 base whose weights the tests make (ImageNet's cannot be downloaded here)."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import subprocess
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from brain import state_dir, testing
from brain._images import decode_bytes
from brain.cortex.bundle import Bundle
from brain.train import scan
from schemas import ImageEvent, Perception
from tests.shapes import CLASSES, base_weights, make_dataset
from tests.support import (
    CONVERTING,
    Broker,
    NodeProcess,
    Recorder,
    brain_command,
    cortex,
    publish_many,
)

pytest.importorskip("tensorflow")


@dataclass(frozen=True)
class Trained:
    images: Path
    weights: Path
    cache: Path
    bundle: Path
    first_output: str = ""

    def train(self, *args: object) -> subprocess.CompletedProcess[str]:
        return brain_command(
            "train",
            *args,
            "--base",
            "mobilenet_v2",
            "--base-weights",
            self.weights,
            "--cache",
            self.cache,
        )

    def held_out(self) -> list[tuple[Path, str]]:
        dataset = scan(self.images)
        return [(e.path, dataset.classes[e.label]) for e in dataset.of("test")]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    folder = tmp_path_factory.mktemp("train")
    images = make_dataset(folder / "images")
    weights = base_weights(folder / "base.weights.h5", "MobileNetV2", images, size=224)
    run = Trained(images, weights, folder / "cache", folder / "bundle")
    first = run.train(images, "--out", run.bundle)
    assert first.returncode == 0, first.stderr
    return dataclasses.replace(run, first_output=first.stdout)


def test_training_learns_the_classes_and_writes_a_bundle_with_its_report(trained: Trained) -> None:
    metadata = json.loads((trained.bundle / "metadata.json").read_text())
    assert metadata["format"] == "brain.bundle/1" and metadata["base"] == "mobilenet_v2"
    assert metadata["classes"] == sorted(CLASSES) and metadata["input_size"] == [224, 224]
    assert metadata["accuracy"] >= 0.9
    assert (trained.bundle / "labels.txt").read_text().split() == sorted(CLASSES)
    report = json.loads((trained.bundle / "report" / "report.json").read_text())
    assert report["scores"]["accuracy"] == metadata["accuracy"]
    assert set(report["scores"]["precision"]) == set(CLASSES)
    assert sum(map(sum, report["scores"]["confusion"])) == report["images"]["test"] > 0
    for chart in ("confusion.png", "curves.png"):
        with Image.open(trained.bundle / "report" / chart) as image:
            assert image.format == "PNG" and image.width > 300
    assert "test accuracy" in trained.first_output
    assert report["bottlenecks"] == {"computed": 240, "cached": 0}


def test_a_second_run_takes_the_bottlenecks_from_the_cache(
    trained: Trained, tmp_path: Path
) -> None:
    again = trained.train(trained.images, "--out", tmp_path / "again")
    assert again.returncode == 0, again.stderr
    report = json.loads((tmp_path / "again" / "report" / "report.json").read_text())
    assert report["bottlenecks"] == {"computed": 0, "cached": 240}
    assert "240 from the cache" in again.stdout


def test_the_split_is_stable_and_does_not_move_when_photos_are_added(trained: Trained) -> None:
    before = {e.path.name: e.split for e in scan(trained.images).examples}
    assert 0.05 < list(before.values()).count("test") / len(before) < 0.15
    assert before == {e.path.name: e.split for e in scan(trained.images).examples}


def frames_of(held_out: list[tuple[Path, str]]) -> list[ImageEvent]:
    return [testing.frame(path, seq=n) for n, (path, _) in enumerate(held_out)]


@CONVERTING
def test_a_cortex_serves_the_bundle_on_the_bus(
    trained: Trained,
    mosquitto: Broker,
    brain_process: Callable[..., NodeProcess],
    record: Callable[..., Recorder],
) -> None:
    recorder = record(mosquitto, "brain/perceptions/#")
    node = cortex(mosquitto, brain_process, "--set", "cortex.batch=1", model=str(trained.bundle))
    held_out = trained.held_out()
    right = 0
    for frame, (_, truth) in zip(frames_of(held_out), held_out, strict=True):
        publish_many(mosquitto, [("brain/senses/camera/door/image", frame.to_json())])
        found = recorder.wait_for(lambda _t, p, i=frame.id: i.encode() in p, timeout=30)
        perception = Perception.model_validate_json(found[0][1])
        assert perception.model == "bundle" and perception.labels[0].label in CLASSES
        right += perception.labels[0].label == truth
    assert right / len(held_out) >= 0.9
    assert '"event": "runtime chosen"' in node.log()  # the fastest engine here serves it
    assert re.search(r"\(3 classes, (keras|tflite|openvino)\)", node.log())


def classify(
    bundle: Path, images: list[Path], runtime: str = "keras", precision: str = "float32"
) -> list[str]:
    options = types.SimpleNamespace(
        model=str(bundle), top_k=1, runtime=runtime, precision=precision
    )
    model = Bundle.load(options)
    frames = [decode_bytes(path.read_bytes(), size=model.input_size) for path in images]
    return [labels[0].label for labels in model.classify(frames)]


def test_the_int8_export_agrees_with_the_bundle_and_is_small(
    trained: Trained, tmp_path: Path
) -> None:
    out = tmp_path / "small"
    exported = brain_command("export", trained.bundle, "--quantize", "int8", "--out", out)
    assert exported.returncode == 0, exported.stderr
    assert "serve it with" in exported.stdout
    assert "quantized to int8" in exported.stderr and "(about 60 s)" in exported.stderr
    size = (out / "model.tflite").stat().st_size
    assert size <= 0.3 * (trained.bundle / "model.keras").stat().st_size
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["runtime"] == "tflite" and metadata["quantization"] == "int8"
    held_out = [path for path, _ in trained.held_out()]
    keras_says, lite_says = classify(trained.bundle, held_out), classify(out, held_out)
    agreement = np.mean([a == b for a, b in zip(keras_says, lite_says, strict=True)])
    assert agreement >= 0.95


def test_a_retrain_py_graph_loads_as_a_model(tmp_path: Path) -> None:
    """retrain.py's frozen graph: 'Mul' (299x299, (x-128)/128) in, 'final_result' out."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        image = tf.compat.v1.placeholder(tf.float32, [None, 299, 299, 3], name="Mul")
        means = tf.reduce_mean(image, axis=[1, 2])  # the mean of each channel
        weights = tf.constant([[4.0, 0.0], [0.0, 0.0], [0.0, 4.0]])  # red, blue
        tf.nn.softmax(tf.matmul(means, weights), name="final_result")
    (tmp_path / "output_graph.pb").write_bytes(graph.as_graph_def().SerializeToString())
    (tmp_path / "output_labels.txt").write_text("red\nblue\n")
    pictures = []
    for colour in ((230, 20, 20), (20, 20, 230)):
        encoded = io.BytesIO()
        Image.new("RGB", (320, 240), colour).save(encoded, "PNG")
        pictures.append(tmp_path / f"{colour}.png")
        pictures[-1].write_bytes(encoded.getvalue())
    assert classify(tmp_path, pictures) == ["red", "blue"]


# -- bad input: one sentence each, nothing half-written -----------------------------


def test_bad_folders_are_one_sentence_and_leave_no_bundle(trained: Trained, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    one = tmp_path / "one"
    (one / "cats").mkdir(parents=True)
    (one / "cats" / "a.jpg").write_bytes(next(trained.images.rglob("*.jpg")).read_bytes())
    cases = {
        tmp_path / "missing": "is not a folder",
        empty: "has no class folders",
        one: "needs two or more",
    }
    for folder, reason in cases.items():
        result = trained.train(folder, "--out", tmp_path / "out")
        assert result.returncode != 0 and reason in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    result = trained.train(trained.images, "--out", blocked / "bundle")
    assert result.returncode != 0 and "choose another --out" in result.stderr


def test_few_broken_and_foreign_files_are_reported_not_fatal(
    trained: Trained, tmp_path: Path
) -> None:
    images = tmp_path / "images"
    for name in CLASSES:
        (images / name).mkdir(parents=True)
        for path in sorted((trained.images / name).glob("*.jpg"))[:40]:
            (images / name / path.name).write_bytes(path.read_bytes())
    few = images / "few_things"
    few.mkdir()
    for path in sorted((trained.images / "red_circles").glob("*.jpg"))[40:52]:
        (few / f"few_{path.name}").write_bytes(path.read_bytes())
    (images / "red_circles" / "notes.txt").write_text("not an image")
    whole = (images / "green_squares" / "green_squares_000.jpg").read_bytes()
    (images / "green_squares" / "broken.jpg").write_bytes(whole[: len(whole) // 2])
    result = trained.train(images, "--out", tmp_path / "bundle", "--augment", "1")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "bundle" / "report" / "report.json").read_text())
    assert sorted(Path(p).name for p in report["skipped"]) == ["broken.jpg", "notes.txt"]
    assert any("'few_things' has only 12 files" in warning for warning in report["warnings"])
    assert "skipped files: 2" in result.stdout


@CONVERTING
def test_auto_int8_serves_an_engine_that_agrees_with_the_bundle(trained: Trained) -> None:
    """`auto` in int8 measures LiteRT's and NNCF's OpenVINO int8 (the one that pays on CPUs
    without VNNI), and serves the fastest of those that answer as float32 does."""
    pytest.importorskip("nncf")
    held_out = [path for path, _ in trained.held_out()]
    keras_says = classify(trained.bundle, held_out)
    int8_says = classify(trained.bundle, held_out, "auto", "int8")
    agreement = np.mean([a == b for a, b in zip(keras_says, int8_says, strict=True)])
    assert agreement >= 0.9
    [folder] = [file.parent for file in (state_dir() / "runtimes").glob("*/speed-int8.json")]
    assert (folder / "openvino-int8.xml").is_file() and (folder / "tflite-int8.tflite").is_file()
    for engine in json.loads((folder / "speed-int8.json").read_text()):
        assert json.loads((folder / f"agreement-{engine}-int8.json").read_text()) >= 0.95
