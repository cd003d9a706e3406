"""Every engine on the same InceptionV3 and the same images, bare and through the cortex.

1. Bare, each engine in a process of its own, classifying batches of 8 frames (as a
   loaded cortex does) back to back for as long as the cortex is flooded: Keras
   `predict` (batch 1 and 8), the LiteRT interpreter (float32, dynamic range and
   int8, an image an invoke) and OpenVINO: float32 with the latency hint, one
   request a batch (what the cortex does), and with the throughput hint, its
   streams fed by asynchronous requests; int8 quantized by NNCF.
2. The cortex end to end through a real broker, flooded by 8 cameras, with
   `runtime=auto`: in float32 on InceptionV3, and in int8 on a bundle retrained from
   it (`brain train`), the small machine's way; beside each, the latency at 2
   frames/s (p50) and at three times what it can take (p99). The engine each is
   compared with (the fastest in float32; for int8, bare Keras float32 on the same
   bundle) is measured bare again just before and just after: on a shared machine
   the speed drifts by a fifth within minutes, so the cortex is compared with what
   its engine did bare around the same time.
3. Top-1 agreement of int8 (`auto`) with float32 on the bundle's held-out images.

Weights are made by the script (ImageNet's cannot be downloaded here); speed does
not depend on their values. Agreement does: InceptionV3's 1,000 outputs on random
weights are not a classifier's, and int8 is judged on the retrained bundle's classes.

    python -m benchmarks.runtimes [--seconds 20]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import multiprocessing
import os
import sys
import tempfile
import time
import types
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks.edge import Served, brain, cameras, serve
from brain.cortex import (
    ENGINES,
    INCEPTION,
    Bundle,
    calibration_images,
    tflite_bytes,
    tflite_forward,
)
from brain.files import write_whole
from brain.images import decode_bytes
from brain.processes import configure_logging, no_telemetry
from brain.train import scan
from tests.shapes import base_weights, make_dataset

Run = tuple[str, Path, int]  # engine, model file, Keras batch size


def bare(
    weights: Path, bundle: Path, workdir: Path, seconds: float
) -> tuple[dict[str, float], dict[str, Run]]:
    """Each engine's images/s, measured in a fresh process of its own, as the cortex
    serves: no engine's threads share a process with another's (or with TensorFlow's,
    which converted them all here). Also what each figure measured, to measure again."""
    import keras

    network = keras.applications.InceptionV3(weights=None)
    network.load_weights(str(weights))
    images = calibration_images((299, 299), INCEPTION)
    for quantize in ("none", "dynamic", "int8"):
        write_whole(workdir / f"bare-{quantize}.tflite", tflite_bytes(network, quantize, images))
    if ENGINES["openvino"].installed():
        openvino_models(network, images, workdir)
    runs: list[Run] = [("keras", model, size) for model in (weights, bundle) for size in (1, 8)]
    runs += [("tflite", workdir / f"bare-{q}.tflite", 0) for q in ("none", "dynamic", "int8")]
    if ENGINES["openvino"].installed():
        runs += [("openvino", workdir / f"bare-{p}.xml", 0) for p in ("float32", "int8")]
    figures: dict[str, float] = {}
    measures: dict[str, Run] = {}
    for run in runs:
        found = alone(run, seconds)
        figures |= found
        measures |= dict.fromkeys(found, run)
    return figures, measures


def alone(run: Run, seconds: float) -> dict[str, float]:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as process:
        return process.submit(measured, *run, seconds).result()


def sustained(forward: Callable[[np.ndarray], object], images: np.ndarray, seconds: float) -> float:
    """Images a second classifying batches of 8 back to back for ``seconds``, after one to
    warm up: the same statistic as the cortex's, a rate over the seconds of its flood."""
    batch = np.resize(images, (8, *images.shape[1:]))  # 6 sample photos: some twice
    forward(batch)
    began, done = time.perf_counter(), 0
    while time.perf_counter() - began < seconds:
        forward(batch)
        done += len(batch)
    return round(done / (time.perf_counter() - began), 1)


def openvino_models(network: object, images: np.ndarray, workdir: Path) -> None:
    """InceptionV3 for OpenVINO in float32, and in int8 by NNCF, as the cortex makes them."""
    no_telemetry()
    import nncf
    import openvino

    with tempfile.TemporaryDirectory() as saved:
        network.export(saved, format="tf_saved_model", verbose=False)  # type: ignore[attr-defined]
        model = openvino.convert_model(saved)
    dataset = nncf.Dataset(list(images), lambda image: image[None])
    with contextlib.redirect_stdout(sys.stderr):  # its progress bars: stdout is for the JSON
        int8 = nncf.quantize(model, dataset, subset_size=len(images))  # as the cortex does
    for name, converted in (("float32", model), ("int8", int8)):
        openvino.save_model(converted, workdir / f"bare-{name}.xml", compress_to_fp16=False)


def measured(kind: str, model: Path, size: int, seconds: float) -> dict[str, float]:
    """One engine's figures, in this (fresh) process."""
    images = calibration_images((299, 299), INCEPTION)
    if kind == "keras":
        import keras

        if model.suffix == ".keras":  # a bundle's network
            network, name = keras.saving.load_model(model, compile=False), "bundle_keras"
        else:
            network, name = keras.applications.InceptionV3(weights=None), "keras"
            network.load_weights(str(model))
        predict = functools.partial(network.predict, batch_size=size, verbose=0)
        return {f"{name}_predict_batch_{size}": sustained(predict, images, seconds)}
    if kind == "tflite":
        name = model.stem.removeprefix("bare-").replace("none", "float32")
        return {f"tflite_{name}": sustained(tflite_forward(model)[0], images, seconds)}
    no_telemetry()
    import openvino

    core = openvino.Core()
    name = model.stem.removeprefix("bare-")
    # Float32 as the cortex asks for it: on a CPU with bfloat16 (AVX512_BF16 or AMX),
    # OpenVINO otherwise runs bf16 (a Zen 4 EPYC: 37 images/s against 18.6 in float32).
    exact = {"INFERENCE_PRECISION_HINT": "f32"}
    engine = core.compile_model(model, "CPU", {"PERFORMANCE_HINT": "LATENCY", **exact})
    figures = {f"openvino_{name}": sustained(engine, images, seconds)}
    if name == "float32":  # OpenVINO's other way: streams fed by asynchronous requests
        streams = core.compile_model(model, "CPU", {"PERFORMANCE_HINT": "THROUGHPUT", **exact})
        requests = openvino.AsyncInferQueue(streams)  # as many as the streams want

        def asynchronous(batch: np.ndarray) -> None:
            for image in batch:
                requests.start_async({0: image[None]})
            requests.wait_all()

        figures["openvino_float32_throughput_hint_async"] = sustained(asynchronous, images, seconds)
        # precision=float16, as the cortex runs it: bf16 on a CPU that has it.
        half = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f16"})
        figures["openvino_float16"] = sustained(half, images, seconds)
    return figures


def retrained(workdir: Path, weights: Path) -> tuple[Path, list[Path]]:
    """A bundle retrained from the InceptionV3 weights, and its held-out images."""
    images = make_dataset(workdir / "images")
    brain("train", images, "--out", workdir / "bundle", "--base-weights", weights)
    dataset = scan(images)
    return workdir / "bundle", [e.path for e in dataset.of("test") + dataset.of("validation")]


def agreement(bundle: Path, held_out: list[Path]) -> float:
    """Top-1 of int8 (on the engine ``auto`` chooses) against float32 on the bundle's
    held-out images."""
    answers = []
    for runtime, precision in (("keras", "float32"), ("auto", "int8")):
        options = types.SimpleNamespace(
            model=str(bundle), top_k=1, runtime=runtime, precision=precision
        )
        model = Bundle.load(options)
        size = model.input_size
        frames = [decode_bytes(path.read_bytes(), size=size) for path in held_out]
        answers.append([labels[0].label for labels in model.classify(frames)])
    return round(float(np.mean([a == b for a, b in zip(*answers, strict=True)])), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    configure_logging(
        node="bench-runtimes"
    )  # the cortex loaded here logs to stderr: stdout is the JSON
    workdir = Path(tempfile.mkdtemp(prefix="brain-bench-runtimes-"))
    os.environ["XDG_STATE_HOME"] = str(workdir / "state")  # converted from scratch

    calibration = make_dataset(workdir / "calibration", per_class=12)
    weights = base_weights(workdir / "inception.weights.h5", "InceptionV3", calibration, size=299)
    photos = sorted(calibration.rglob("*.jpg"))
    bundle, held_out = retrained(workdir, weights)
    bare_figures, measures = bare(weights, bundle / "model.keras", workdir, args.seconds)
    float32 = {k: v for k, v in bare_figures.items() if "float32" in k or k.startswith("keras")}
    bundle_keras = {k: v for k, v in bare_figures.items() if k.startswith("bundle_keras")}
    served: dict[str, Served] = {}
    around: dict[str, dict[str, list[float]]] = {}
    # Each cortex against a bare engine: InceptionV3 against the fastest float32 one; the
    # bundle in int8 (what a small machine serves) against bare Keras float32 on it.
    for precision, compared, model, feeds in (
        ("float32", float32, f'cortex.weights="{weights}"', cameras(photos)),
        ("int8", bundle_keras, f'cortex.model="{bundle}"', cameras(held_out)),
    ):
        fastest = max(compared, key=compared.__getitem__)
        before = alone(measures[fastest], args.seconds)[fastest]
        served[precision] = serve(
            workdir, feeds, args.seconds, "--set", model, "--set", f"cortex.precision={precision}"
        )
        around[precision] = {fastest: [before, alone(measures[fastest], args.seconds)[fastest]]}

    def ratio(precision: str) -> float:
        (figures,) = around[precision].values()
        return round(served[precision].per_s / float(np.mean(figures)), 2)

    measured_by_auto = {
        precision: json.loads(file.read_text())
        for precision in served
        for file in (workdir / "state").rglob(f"speed-{precision}.json")
    }
    figures = {
        "bare_per_s": bare_figures,
        "cortex_auto": {precision: asdict(figures) for precision, figures in served.items()},
        # What auto measured of each model served: each engine's speed, and each lower
        # precision's top-1 agreement with float32 on the calibration photos (an engine
        # under MIN_AGREEMENT is left out).
        "auto_measured_per_s": measured_by_auto,
        # Where each cortex's time went, against the engine it served on, measured alone by
        # auto: a frame classified slower in the cortex than alone is the engine sharing
        # the two cores (with the cameras and the broker); a small share is decoding and
        # the bus.
        "classify_ms_per_frame_served_alone": {
            precision: round(1000 / max(speeds.values()), 2)
            for precision, speeds in measured_by_auto.items()
        },
        "auto_agreement_with_float32": {
            file.stem.removeprefix("agreement-"): round(json.loads(file.read_text()), 3)
            for file in (workdir / "state").rglob("agreement-*.json")
        },
        "bare_just_before_and_after_per_s": around,
        "cortex_over_fastest_bare_float32": ratio("float32"),
        "goal_cortex_over_fastest_bare_float32": 0.95,
        "cortex_int8_bundle_over_bare_keras_float32": ratio("int8"),
        "goal_cortex_int8_over_bare_keras_float32": 2.0,
        "int8_top1_agreement_on_held_out": agreement(bundle, held_out),
        "goal_top1_agreement": 0.98,
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
