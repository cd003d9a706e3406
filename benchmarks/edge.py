"""The smart CCTV on a small machine: one bundle, served as Keras and as int8 TFLite;
and the whole CCTV (camera, cortex on the int8 bundle, alerts) with its memory.

In one run, on the same images: train an InceptionV3 bundle (cold, then warm
bottleneck cache), export it to int8 TFLite, then stream the held-out images from
8 cameras through a real broker to a cortex serving each, and measure frames/s
and the cortex's peak RSS (and whether it loaded TensorFlow at all). The bare
libraries, Keras `predict` and the LiteRT interpreter, classify the same images
in this process for the ratios.

Weights are made by the script (ImageNet's cannot be downloaded here); speed and
memory do not depend on their values.

    python -m benchmarks.edge [--seconds 20] [--base inception_v3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


from benchmarks._stream import Watcher, paced, percentile, rss_mb, streamed
from benchmarks._support import ROOT, start_mosquitto, start_node
from brain.cortex import read_bundle, scaled
from brain.images import decode_bytes
from brain.testing import frame
from brain.train import BASES, scan
from schemas import ImageEvent
from tests.shapes import base_weights, make_dataset


def brain(*args: object) -> float:
    """Run a brain command; seconds it took."""
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "brain", *map(str, args)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - began


def cameras(images: list[Path]) -> list[list[ImageEvent]]:
    events = [frame(path, source=f"cam{n % 8}", seq=n) for n, path in enumerate(images)]
    return [events[n::8] for n in range(8)]


def bare(bundle: Path, lite: Path, images: list[Path]) -> dict[str, float]:
    """Images/s of bare Keras predict (best batch) and the bare LiteRT interpreter."""
    import keras
    from ai_edge_litert.interpreter import Interpreter

    metadata, _ = read_bundle(bundle)
    size = tuple(metadata["input_size"])
    batch = scaled(
        [decode_bytes(p.read_bytes(), size=size) for p in images], metadata["preprocessing"]
    )
    network = keras.saving.load_model(bundle / "model.keras", compile=False)
    figures = {}
    for n in (1, 8):
        network.predict(batch[:n], batch_size=n, verbose=0)
        began = time.perf_counter()
        network.predict(batch, batch_size=n, verbose=0)
        figures[f"bare_keras_batch_{n}_per_s"] = len(batch) / (time.perf_counter() - began)
    interpreter = Interpreter(model_path=str(lite / "model.tflite"), num_threads=os.cpu_count())
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]["index"]
    interpreter.set_tensor(source, batch[:1])
    interpreter.invoke()
    began = time.perf_counter()
    for image in batch:
        interpreter.set_tensor(source, image[None])
        interpreter.invoke()
    figures["bare_tflite_per_s"] = len(batch) / (time.perf_counter() - began)
    return {k: round(v, 1) for k, v in figures.items()}


def model_is(model: Path) -> tuple[str, str]:
    return "--set", f'cortex.model="{model}"'


@dataclass(frozen=True)
class Served:
    per_s: float
    offered_per_s: float
    p50_at_2fps_ms: float
    p99_at_3x_capacity_ms: float
    peak_rss_mb: int
    tensorflow_loaded: bool
    #: Where a flooded cortex's time goes: classifying a frame (scaling and the engine),
    #: and the share of its time that is (the rest: decoding, the bus).
    classify_ms_per_frame: float
    classifying_share: float


#: A cortex serving this share of what it was offered kept up: it was not flooded.
_KEPT_UP = 0.9
#: Times at most the offer is doubled for a cortex that kept up.
_MORE_FLOODS = 3


def tensorflow_loaded(pid: int) -> bool:
    # TensorFlow's own library: OpenVINO maps its "tensorflow_frontend" (a model reader) too.
    return "libtensorflow_framework" in Path(f"/proc/{pid}/maps").read_text()


def serve(workdir: Path, feeds: list[list[ImageEvent]], seconds: float, *sets: str) -> Served:
    """A cortex with options ``sets``: frames/s when flooded; latency at 2 frames/s and at
    three times what it can take; peak RSS; TensorFlow loaded?"""
    port, broker = start_mosquitto(workdir)
    node = start_node(port, "cortex", *sets, ready="model ready")
    watcher = Watcher(port)
    try:
        time.sleep(1)
        # Warm (the first batches compile), and learn roughly what it can take; then flood
        # it at twice that, as benchmarks/cortex.py does: a flood ten times too big would
        # measure the decoding of JSON that is dropped unseen. A cortex that keeps up was
        # not flooded (the warm-up can see it slow), so it is offered twice as much again.
        offered = 2 * streamed(watcher, feeds, 120, 4)
        flooded = time.perf_counter()
        per_s = streamed(watcher, feeds, offered, seconds)
        for _ in range(_MORE_FLOODS):
            if per_s < _KEPT_UP * offered:
                break
            offered *= 2
            flooded = time.perf_counter()
            per_s = streamed(watcher, feeds, offered, seconds)
        classify_ms, classifying_share = watcher.classifying(since=flooded)
        calm = paced(watcher, 2.0, seconds / 2, "calm")
        flood = paced(watcher, 3 * per_s, seconds / 2, "flood")
        return Served(
            per_s=round(per_s, 1),
            offered_per_s=round(offered, 1),
            p50_at_2fps_ms=percentile(calm, 0.5),
            p99_at_3x_capacity_ms=percentile(flood, 0.99),
            peak_rss_mb=round(rss_mb(node.pid, "VmHWM")),
            tensorflow_loaded=tensorflow_loaded(node.pid),
            classify_ms_per_frame=round(classify_ms, 2),
            classifying_share=round(classifying_share, 2),
        )
    finally:
        watcher.client.loop_stop()
        node.terminate()
        node.wait()
        broker.terminate()
        broker.wait()


def whole_cctv(workdir: Path, lite: Path, photos: Path, seconds: float) -> dict[str, object]:
    # Each node as its own process, as `brain run camera cortex alerts` starts them.
    """The smart CCTV as a small machine runs it: a camera at its default pace, the cortex
    on the int8 bundle and the alerts, each a process; each one's peak RSS, and the sum."""
    port, broker = start_mosquitto(workdir)
    config = workdir / "cctv.toml"
    config.write_text(
        f'[camera]\nsource = "{photos}"\nname = "door"\n'
        f'[cortex]\nmodel = "{lite}"\n'
        f'[alerts]\noutbox = "{workdir / "outbox.sqlite3"}"\nclips = "{workdir / "clips"}"\n'
        f'armed_file = "{workdir / "armed.json"}"\n'
        # A rule that fires on what the camera shows: snapshots and clips are made too.
        f'[[alerts.rules]]\nname = "seen"\nlabels = ["{photos.name}"]\nwindow = 1\n'
        "cooldown = 5\n"
    )
    options = ("--config", str(config))
    nodes = {
        "cortex": start_node(port, "cortex", *options, ready="model ready"),
        "alerts": start_node(port, "alerts", *options, ready='"event": "watching"'),
        "camera": start_node(port, "camera", *options, ready='"event": "capturing"'),
    }
    try:
        time.sleep(seconds)
        peaks = {name: round(rss_mb(node.pid, "VmHWM")) for name, node in nodes.items()}
        loaded = [n for n, node in nodes.items() if tensorflow_loaded(node.pid)]
    finally:
        for node in nodes.values():
            node.terminate()
            node.wait()
        broker.terminate()
        broker.wait()
    return {
        "peak_rss_mb": peaks,
        "total_peak_rss_mb": sum(peaks.values()),
        "goal_total_mb": 500,
        "tensorflow_loaded_in": loaded,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--base", default="inception_v3", choices=sorted(BASES))
    args = parser.parse_args()
    base = BASES[args.base]
    workdir = Path(tempfile.mkdtemp(prefix="brain-bench-edge-"))
    images = make_dataset(workdir / "images")
    weights = base_weights(
        workdir / "base.weights.h5", base.application, images, size=base.input_size[0]
    )
    common = ("--base", base.name, "--base-weights", weights, "--cache", workdir / "cache")
    cold = brain("train", images, "--out", workdir / "bundle", *common)
    warm = brain("train", images, "--out", workdir / "bundle-again", *common)
    exporting = brain("export", workdir / "bundle", "--quantize", "int8", "--out", workdir / "lite")
    dataset = scan(images)
    held_out = [e.path for e in dataset.of("test") + dataset.of("validation")]
    feeds = cameras(held_out)
    figures: dict[str, object] = {
        "base": base.name,
        "train_seconds_cold_cache": round(cold, 1),
        "train_seconds_warm_cache": round(warm, 1),
        "export_int8_seconds": round(exporting, 1),
        "model_mb": {
            "keras": round((workdir / "bundle" / "model.keras").stat().st_size / 1e6, 1),
            "tflite_int8": round((workdir / "lite" / "model.tflite").stat().st_size / 1e6, 1),
        },
    }
    bare_figures = bare(workdir / "bundle", workdir / "lite", held_out)
    best_keras = max(bare_figures[f"bare_keras_batch_{n}_per_s"] for n in (1, 8))
    keras_cortex = serve(
        workdir, feeds, args.seconds, *model_is(workdir / "bundle"), "--set", "cortex.runtime=keras"
    )
    lite_cortex = serve(workdir, feeds, args.seconds, *model_is(workdir / "lite"))
    figures |= bare_figures
    photos = sorted(path for path in images.iterdir() if path.is_dir())[0]  # one class's
    figures["whole_cctv"] = whole_cctv(workdir, workdir / "lite", photos, args.seconds)
    figures |= {
        "cortex_keras": asdict(keras_cortex),
        "cortex_tflite_int8": asdict(lite_cortex),
        "tflite_over_keras_cortex": round(lite_cortex.per_s / keras_cortex.per_s, 2),
        "goal_tflite_over_keras": 2.0,
        "cortex_keras_over_bare_keras": round(keras_cortex.per_s / best_keras, 2),
        "cortex_tflite_over_bare_tflite": round(
            lite_cortex.per_s / bare_figures["bare_tflite_per_s"], 2
        ),
        "goal_tflite_peak_rss_mb": 350,
        "goal_keras_peak_rss_mb": 1000,
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
