"""The fastest engine for a Keras network on this machine: converted once, kept, measured.

``keras`` runs the network as a compiled graph; ``tflite`` converts it for LiteRT
(XNNPACK); ``openvino`` converts it for Intel's OpenVINO, when installed. A
converted model is kept in the state directory under the weights' hash, so a
restart loads it at once. ``auto`` measures each installed engine on the
calibration images the first time, keeps the figures, and serves the fastest.
"""

from __future__ import annotations

import functools
import json
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import structlog
from numpy.typing import NDArray

from brain._config import state_dir
from brain._errors import FatalError
from brain._files import write_whole
from brain._model import RGB
from brain._privacy import no_telemetry
from brain.cortex._graph import compiled
from brain.cortex._runtimes import Forward, tflite_bytes, tflite_forward
from brain.cortex._scaling import scaled

RuntimeName = Literal["auto", "keras", "tflite", "openvino"]
Precision = Literal["float32", "float16", "dynamic", "int8"]
Images = NDArray[np.float32]  # preprocessed, batch first
Network = Callable[[], Any]  # builds the Keras network
Calibration = Callable[[], Images]  # makes the calibration images

PRECISIONS = ("float32", "float16", "dynamic", "int8")
log = structlog.get_logger()


@dataclass(frozen=True)
class Engine:
    name: str
    precisions: tuple[str, ...]
    installed: Callable[[], bool]
    extra: str  # pip install brain[EXTRA] brings it
    build: Callable[[Network, Precision, Calibration, Path], Forward]  # converted once, kept


def _keras(network: Network, _precision: Precision, images: Calibration, _folder: Path) -> Forward:
    return compiled(network(), (images().shape[2], images().shape[1]))


def _tflite(network: Network, precision: Precision, images: Calibration, folder: Path) -> Forward:
    model = folder / f"tflite-{precision}.tflite"
    if not model.is_file():
        quantize = "none" if precision == "float32" else precision
        calibration = images() if precision == "int8" else None
        write_whole(model, tflite_bytes(network(), quantize, calibration))
    return tflite_forward(model)[0]


def _openvino(
    network: Network, precision: Precision, _images: Calibration, folder: Path
) -> Forward:
    no_telemetry()
    import openvino

    model = folder / "openvino-float32.xml"
    if not model.is_file():
        with tempfile.TemporaryDirectory(prefix="brain-openvino-") as saved:
            network().export(saved, format="tf_saved_model", verbose=False)
            converted = openvino.convert_model(saved)
        partial = model.with_name(f".{model.name}")
        openvino.save_model(converted, partial, compress_to_fp16=False)
        partial.with_suffix(".bin").replace(model.with_suffix(".bin"))
        partial.replace(model)
    hint = {"float32": "f32", "float16": "f16"}[precision]
    engine = openvino.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": hint})
    return lambda batch: np.asarray(engine(batch)[0])


def _importable(module: str) -> Callable[[], bool]:
    def check() -> bool:
        import importlib.util

        return importlib.util.find_spec(module) is not None

    return check


ENGINES = {
    engine.name: engine
    for engine in (
        Engine("keras", ("float32",), _importable("keras"), "cortex", _keras),
        Engine("tflite", PRECISIONS, _importable("ai_edge_litert"), "edge", _tflite),
        Engine("openvino", ("float32", "float16"), _importable("openvino"), "openvino", _openvino),
    )
}


def accelerated(
    network: Network, *, key: str, runtime: RuntimeName, precision: Precision, images: Calibration
) -> tuple[Forward, str]:
    """The forward function to serve the network with, and which engine runs it.

    ``network`` builds the Keras network and ``images`` makes a few preprocessed
    images (to calibrate int8, measure speed and check agreement); each is called
    only when needed: once the model is converted and the choice made, a start
    loads the converted model alone and never imports TensorFlow. ``key`` names the
    weights (converted models are kept under it).
    """
    network, images = functools.cache(network), functools.cache(images)
    folder = state_dir() / "runtimes" / key
    folder.mkdir(parents=True, exist_ok=True)
    name, forward = _chosen(network, folder, runtime, precision, images)
    if forward is None:
        forward = ENGINES[name].build(network, precision, images, folder)
    if precision != "float32":
        log.info(
            "lower precision",
            precision=precision,
            top1_agreement_with_float32=_agreement(
                network, forward, images, kept=folder / f"agreement-{name}-{precision}.json"
            ),
        )
    return forward, name


def _chosen(
    network: Network, folder: Path, runtime: RuntimeName, precision: Precision, images: Calibration
) -> tuple[str, Forward | None]:
    """The engine to serve with, and its forward if measuring the engines just built it."""
    if runtime != "auto":
        _check(ENGINES[runtime], precision)
        return runtime, None
    figures = folder / f"speed-{precision}.json"
    fastest: Forward | None = None
    if figures.is_file():
        speeds: dict[str, float] = json.loads(figures.read_text())
        why = f"measured before: {speeds} images/s"
    else:
        speeds = {}
        for engine in ENGINES.values():
            if engine.installed() and precision in engine.precisions:
                forward = engine.build(network, precision, images, folder)
                speed = _speed(forward, images())
                if speed > max(speeds.values(), default=0.0):  # keep only the fastest
                    fastest = forward
                speeds[engine.name] = speed
        write_whole(figures, json.dumps(speeds).encode())
        why = f"measured now: {speeds} images/s"
    if not speeds:
        raise FatalError(
            f"no installed engine runs {precision}; pip install ai-edge-litert, or use float32"
        )
    best = max(speeds, key=speeds.__getitem__)
    log.info("runtime chosen", runtime=best, precision=precision, why=why)
    return best, fastest


def _check(engine: Engine, precision: Precision) -> None:
    if not engine.installed():
        raise FatalError(
            f"the {engine.name} runtime is not installed; pip install brain[{engine.extra}] "
            "or use runtime=auto"
        )
    if precision not in engine.precisions:
        raise FatalError(
            f"{engine.name} runs {', '.join(engine.precisions)}, not {precision}; "
            "use runtime=tflite or runtime=auto for lower precisions"
        )


def _speed(forward: Forward, images: Images, rounds: int = 5) -> float:
    """Images a second, one at a time (a camera's frame), after one to warm up."""
    forward(images[:1])
    began = time.perf_counter()
    for n in range(rounds):
        forward(images[n % len(images)][None])
    return round(rounds / (time.perf_counter() - began), 1)


def _agreement(
    network: Network, forward: Forward, calibration: Calibration, *, kept: Path
) -> float:
    """Top-1 agreement with the float32 Keras network, measured once and kept."""
    if kept.is_file():
        return float(json.loads(kept.read_text()))
    images = calibration()
    reference = compiled(network(), (images.shape[2], images.shape[1]))
    expected = reference(images).argmax(axis=1)
    got = np.concatenate([forward(image[None]) for image in images]).argmax(axis=1)
    agreement = float((expected == got).mean())
    write_whole(kept, json.dumps(agreement).encode())
    return agreement


def calibration_images(
    size: tuple[int, int],
    scaling: str,
    folder: Path | None = None,
    *,
    count: int = 32,
) -> Images:
    """Up to ``count`` photos (``sample_photos``), scaled for the network."""
    return scaled(sample_photos(size, folder, count=count), scaling)


def sample_photos(
    size: tuple[int, int], folder: Path | None = None, *, count: int = 32
) -> list[RGB]:
    """Up to ``count`` photos of ``size``: from ``folder`` (a bundle's training photos,
    drawn at random with a fixed seed) when it has any, else scikit-image's sample
    photos, which every install has."""
    from brain._images import DecodeError, decode_bytes

    pictures: list[RGB] = []
    if folder is not None and folder.is_dir():
        files = sorted(path for path in folder.rglob("*") if path.is_file())
        random.Random(0).shuffle(files)  # a sample of every class, the same each time
        for path in files:
            if len(pictures) == count:
                break
            try:
                pictures.append(decode_bytes(path.read_bytes(), size=size))
            except (OSError, DecodeError):
                continue
    if not pictures:
        import cv2
        from skimage import data

        samples = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "retina")
        pictures = [
            cv2.resize(getattr(data, name)(), size, interpolation=cv2.INTER_AREA)
            for name in samples
        ]
    return pictures
