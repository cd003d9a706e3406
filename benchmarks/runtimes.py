"""Every engine on the same InceptionV3 and the same images, bare and through the cortex.

1. Bare: Keras `predict` (best of batch 1 and 8), the LiteRT interpreter (float32
   and dynamic range) and OpenVINO (when installed), one image at a time as a
   camera sends them.
2. The cortex end to end through a real broker, flooded by 8 cameras, with
   `runtime=auto`, in float32 and in `precision=dynamic`.
3. Top-1 agreement of `dynamic` with float32 on a retrained bundle's held-out images.

Weights are made by the script (ImageNet's cannot be downloaded here); speed does
not depend on their values.

    python -m benchmarks.runtimes [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks.edge import brain, cameras, serve
from brain._images import decode_bytes
from brain._privacy import no_telemetry
from brain.cortex import (
    ENGINES,
    INCEPTION,
    Bundle,
    calibration_images,
    tflite_bytes,
    tflite_forward,
)
from brain.train import scan
from tests.shapes import base_weights, make_dataset


def per_s(forward: Callable[[np.ndarray], object], images: np.ndarray, rounds: int = 20) -> float:
    """Images a second, one at a time, after one to warm up."""
    forward(images[:1])
    began = time.perf_counter()
    for n in range(rounds):
        forward(images[n % len(images)][None])
    return round(rounds / (time.perf_counter() - began), 1)


def bare(network: object, images: np.ndarray, workdir: Path) -> dict[str, float]:
    import keras

    assert isinstance(network, keras.Model)
    figures = {}
    for size in (1, 8):
        batch = np.concatenate([images] * 4)[:32]
        network.predict(batch[:size], batch_size=size, verbose=0)
        began = time.perf_counter()
        network.predict(batch, batch_size=size, verbose=0)
        figures[f"keras_predict_batch_{size}"] = round(32 / (time.perf_counter() - began), 1)
    for quantize in ("none", "dynamic"):
        model = workdir / f"bare-{quantize}.tflite"
        model.write_bytes(tflite_bytes(network, quantize, None))
        figures[f"tflite_{'float32' if quantize == 'none' else quantize}"] = per_s(
            tflite_forward(model)[0], images
        )
    if ENGINES["openvino"].installed():
        no_telemetry()
        import openvino

        with tempfile.TemporaryDirectory() as saved:
            network.export(saved, format="tf_saved_model", verbose=False)
            compiled = openvino.Core().compile_model(openvino.convert_model(saved), "CPU")
        figures["openvino_float32"] = per_s(lambda batch: compiled(batch)[0], images)
    return figures


def agreement(workdir: Path, weights: Path) -> float:
    """Top-1 of dynamic against float32 on a retrained bundle's held-out images."""
    images = make_dataset(workdir / "images")
    brain("train", images, "--out", workdir / "bundle", "--base-weights", weights)
    dataset = scan(images)
    held_out = [e.path for e in dataset.of("test") + dataset.of("validation")]
    answers = []
    for runtime, precision in (("keras", "float32"), ("tflite", "dynamic")):
        options = types.SimpleNamespace(
            model=str(workdir / "bundle"), top_k=1, runtime=runtime, precision=precision
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
    workdir = Path(tempfile.mkdtemp(prefix="brain-bench-runtimes-"))
    os.environ["XDG_STATE_HOME"] = str(workdir / "state")  # converted from scratch
    import keras

    weights = base_weights(
        workdir / "inception.weights.h5",
        "InceptionV3",
        make_dataset(workdir / "calibration", per_class=12),
        size=299,
    )
    network = keras.applications.InceptionV3(weights=None)
    network.load_weights(str(weights))
    images = calibration_images((299, 299), INCEPTION)
    bare_figures = bare(network, images, workdir)
    feeds = cameras(sorted((workdir / "calibration").rglob("*.jpg")))
    inception = ("--set", f'cortex.weights="{weights}"')
    cortex_float32 = serve(workdir, feeds, args.seconds, *inception)
    dynamic = ("--set", "cortex.precision=dynamic")
    cortex_dynamic = serve(workdir, feeds, args.seconds, *inception, *dynamic)
    fastest_float32 = max(v for k, v in bare_figures.items() if "dynamic" not in k)
    keras_float32 = max(bare_figures[f"keras_predict_batch_{n}"] for n in (1, 8))
    figures = {
        "bare_per_s": bare_figures,
        "cortex_auto_float32_per_s": cortex_float32.per_s,
        "cortex_auto_float32_peak_rss_mb": cortex_float32.peak_rss_mb,
        "cortex_over_fastest_bare_float32": round(cortex_float32.per_s / fastest_float32, 2),
        "goal_cortex_over_fastest_bare_float32": 0.9,
        "cortex_auto_dynamic_per_s": cortex_dynamic.per_s,
        "cortex_dynamic_over_bare_keras_float32": round(cortex_dynamic.per_s / keras_float32, 2),
        "goal_cortex_dynamic_over_bare_keras": 3.5,
        "dynamic_top1_agreement_on_held_out": agreement(workdir, weights),
        "goal_top1_agreement": 0.98,
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
