"""The fastest engine for a Keras network on this machine: converted once, kept, measured.

``keras`` runs the network as a compiled graph; ``tflite`` converts it for LiteRT
(XNNPACK); ``openvino`` converts it for Intel's OpenVINO, when installed, and
quantizes it to int8 with NNCF. A converted model is kept in the state directory
under the weights' hash, so a restart loads it at once. ``auto`` measures each
installed engine on the calibration images the first time, keeps the figures, and
serves the fastest (below float32, the fastest that agrees with float32).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import multiprocessing
import multiprocessing.queues
import pickle
import signal
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
from brain._privacy import no_telemetry
from brain.cortex._graph import compiled
from brain.cortex._runtimes import Forward, tflite_bytes, tflite_forward
from brain.cortex._scaling import Images

RuntimeName = Literal["auto", "keras", "tflite", "openvino"]
Precision = Literal["float32", "float16", "dynamic", "int8"]
Network = Callable[[], Any]  # builds the Keras network
Calibration = Callable[[], Images]  # makes the calibration images

PRECISIONS = ("float32", "float16", "dynamic", "int8")
#: Frames a cortex classifies at once when they queue (its ``batch`` option's default).
BATCH = 8
#: Top-1 agreement with float32 that a lower precision needs for ``auto`` to choose it.
MIN_AGREEMENT = 0.95
log = structlog.get_logger()


@dataclass(frozen=True)
class Engine:
    name: str
    precisions: tuple[str, ...]
    installed: Callable[[], bool]
    extra: str  # pip install brain[EXTRA] brings it
    build: Callable[[Network, Precision, Calibration, Path], Forward]  # converted once, kept


def _keras(network: Network, _precision: Precision, _images: Calibration, _folder: Path) -> Forward:
    # Not a photo made: a bundle's 100 calibration photos, scaled, took the cortex's peak
    # memory on Keras from 887 to 1,023 MB, only to learn the frame size.
    return compiled(network())


def _tflite(network: Network, precision: Precision, images: Calibration, folder: Path) -> Forward:
    model = folder / f"tflite-{precision}.tflite"
    if not model.is_file():
        quantize = "none" if precision == "float32" else precision
        calibration = images() if precision == "int8" else None
        write_whole(model, tflite_bytes(network(), quantize, calibration))
    return tflite_forward(model)[0]


def _openvino(network: Network, precision: Precision, images: Calibration, folder: Path) -> Forward:
    no_telemetry()
    import openvino

    model = folder / "openvino-float32.xml"
    if not model.is_file():
        with tempfile.TemporaryDirectory(prefix="brain-openvino-") as saved:
            network().export(saved, format="tf_saved_model", verbose=False)
            _save_openvino(openvino.convert_model(saved), model)
    if precision == "int8":
        float32, model = model, folder / "openvino-int8.xml"
        if not model.is_file():
            _save_openvino(_quantized(openvino.Core().read_model(float32), images()), model)
    # One request a batch, with the latency hint: on small CPUs the throughput hint's
    # streams and asynchronous requests classified no more images a second
    # (benchmarks/runtimes.py compares them), and a frame waited twice as long. The
    # precision is always said: unasked, OpenVINO runs bf16 on a CPU that has it; asked
    # for f16, it runs bf16 there too (twice float32's speed on a Zen 4 EPYC).
    settings = {
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": "f16" if precision == "float16" else "f32",
    }
    engine = openvino.Core().compile_model(model, "CPU", settings)
    return lambda batch: np.asarray(engine(batch)[0])


def _quantized(model: Any, images: Images) -> Any:
    """An OpenVINO model in int8, calibrated by NNCF on ``images``: int8 arithmetic that
    pays even on CPUs without VNNI, where LiteRT's int8 runs no faster than float32."""
    try:
        import nncf
    except ImportError:
        raise FatalError(
            "int8 on OpenVINO needs NNCF: pip install brain[openvino], or use runtime=tflite"
        ) from None
    nncf.set_log_level(logging.WARNING)  # its statistics are its own business
    dataset = nncf.Dataset(list(images), lambda image: image[None])
    # Its progress bars print to stdout, between the log's structured lines: kept out.
    with contextlib.redirect_stdout(io.StringIO()):
        return nncf.quantize(model, dataset, subset_size=len(images))


def _save_openvino(model: Any, file: Path) -> None:
    """Save whole or not at all: a half-written model would be loaded at the next start."""
    import openvino

    partial = file.with_name(f".{file.name}")
    openvino.save_model(model, partial, compress_to_fp16=False)
    partial.with_suffix(".bin").replace(file.with_suffix(".bin"))
    partial.replace(file)


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
        Engine(
            "openvino",
            ("float32", "float16", "int8"),
            _importable("openvino"),
            "openvino",
            _openvino,
        ),
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
    folder = state_dir() / "runtimes" / key
    folder.mkdir(parents=True, exist_ok=True)
    if runtime == "auto" and not _speeds_file(folder, precision).is_file():
        # Converting to every engine and measuring them loads them all (1.7 GB with
        # Inception): done by a child process, which leaves the converted models and the
        # figures behind; this process then loads the one it serves with.
        _measure_apart(network, images, folder, precision)
    network, images = functools.cache(network), functools.cache(images)
    name = _chosen(folder, runtime, precision)
    forward = ENGINES[name].build(network, precision, images, folder)
    if precision != "float32":
        log.info(
            "lower precision",
            precision=precision,
            top1_agreement_with_float32=_agreement(
                _keras_top1(network, images),
                forward,
                images,
                kept=_agreement_file(folder, name, precision),
            ),
        )
    return forward, name


def _speeds_file(folder: Path, precision: Precision) -> Path:
    return folder / f"speed-{precision}.json"


def _chosen(folder: Path, runtime: RuntimeName, precision: Precision) -> str:
    """The engine to serve with: the one asked for, or the fastest measured here."""
    if runtime != "auto":
        _check(ENGINES[runtime], precision)
        return runtime
    speeds: dict[str, float] = json.loads(_speeds_file(folder, precision).read_text())
    if not speeds:
        raise FatalError(
            f"no installed engine runs {precision}; pip install ai-edge-litert, or use float32"
        )
    best = max(speeds, key=speeds.__getitem__)
    log.info("runtime chosen", runtime=best, precision=precision, speeds_per_s=speeds)
    return best


def _measure(network: Network, images: Calibration, folder: Path, precision: Precision) -> None:
    """Convert the network to every engine that runs ``precision``, measure each, and keep
    the figures; below float32, of the engines that agree with Keras (``MIN_AGREEMENT``)
    when any does."""
    network, images = functools.cache(network), functools.cache(images)
    speeds: dict[str, float] = {}
    forwards: dict[str, Forward] = {}
    engines = [e for e in ENGINES.values() if e.installed() and precision in e.precisions]
    began = time.monotonic()
    for done, engine in enumerate(engines):
        # A line an engine, with what is left: a first start takes minutes here.
        spent = time.monotonic() - began
        left = f"about {spent / done * (len(engines) - done):.0f} s left" if done else "timing"
        step = f"{done + 1} of {len(engines)}"
        log.info("converting and measuring", engine=engine.name, step=step, left=left)
        try:
            forwards[engine.name] = engine.build(network, precision, images, folder)
        except FatalError as error:  # e.g. int8 on OpenVINO without NNCF: measure the rest
            log.warning("engine left out", engine=engine.name, reason=str(error))
            continue
        speeds[engine.name] = images_per_s(forwards[engine.name], images())
    if speeds and precision != "float32":
        expected = _keras_top1(network, images)
        agreements = {
            name: _agreement(expected, run, images, kept=_agreement_file(folder, name, precision))
            for name, run in forwards.items()
        }
        # Speed only among the engines that answer as float32 does: NNCF's int8 agreed on
        # 100 % of one bundle's calibration photos, and on 84 % of another's.
        faithful = {n: v for n, v in speeds.items() if agreements[n] >= MIN_AGREEMENT}
        if faithful:
            for name in speeds.keys() - faithful.keys():
                log.warning("engine left out", engine=name, top1_agreement=agreements[name])
            speeds = faithful
        else:
            log.warning("no engine agrees with float32; the fastest serves", agreements=agreements)
    write_whole(_speeds_file(folder, precision), json.dumps(speeds).encode())
    log.info("engines measured", precision=precision, speeds_per_s=speeds)


def _agreement_file(folder: Path, engine: str, precision: Precision) -> Path:
    return folder / f"agreement-{engine}-{precision}.json"


def _measure_apart(
    network: Network, images: Calibration, folder: Path, precision: Precision
) -> None:
    """``_measure`` in a child process; here when the factories cannot go to one (a
    model defined on the fly)."""
    try:
        pickle.dumps((network, images))
    except (pickle.PicklingError, AttributeError, TypeError):
        _measure(network, images, folder, precision)
        return
    log.info("measuring every engine in a child process (once)", precision=precision)
    apart(
        _measure,
        (network, images, folder, precision),
        doing="measuring the engines",
        again="the next start measures them again",
        fix="choose an engine with --set cortex.runtime=keras|tflite|openvino",
    )
    if not _speeds_file(folder, precision).is_file():
        raise FatalError(
            "measuring the engines left no figures; its log says why, or choose an engine "
            "with --set cortex.runtime=keras|tflite|openvino"
        )


def apart(
    work: Callable[..., object], args: tuple[object, ...], *, doing: str, again: str, fix: str
) -> None:
    """``work(*args)`` in a child process of its own (spawned: the memory it takes goes
    with it), for the cortex's long first-start work; its ``FatalError`` is raised here,
    as if it had happened here. ``doing``, ``again`` and ``fix`` word the other endings."""
    context = multiprocessing.get_context("spawn")
    errors: multiprocessing.queues.SimpleQueue[str] = context.SimpleQueue()
    child = context.Process(target=_reporting, args=(work, args, errors))
    child.start()
    child.join()
    if not errors.empty():
        raise FatalError(errors.get())
    if child.exitcode is not None and child.exitcode < 0:  # stopped by a signal: Ctrl-C
        stopped_by = signal.Signals(-child.exitcode).name
        raise FatalError(f"stopped ({stopped_by}) while {doing}; nothing is wrong, and {again}")
    if child.exitcode != 0:
        raise FatalError(
            f"{doing} stopped (exit status {child.exitcode}); its log says why, or {fix}"
        )


def _reporting(
    work: Callable[..., object],
    args: tuple[object, ...],
    errors: multiprocessing.queues.SimpleQueue[str],
) -> None:
    from brain._logging import configure

    # Ctrl-C reaches this child with the cortex: it ends it by the signal, not by a
    # KeyboardInterrupt's traceback and status 1, so the cortex can tell it was stopped.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    configure(node="cortex")  # its lines are the cortex's
    try:
        work(*args)
    except FatalError as error:  # the parent says it, as if it had happened there
        errors.put(str(error))


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


def images_per_s(
    forward: Callable[[Images], object], images: Images, *, count: int = BATCH, rounds: int = 3
) -> float:
    """Images a second classifying ``count`` at a time (as a loaded cortex does), after one
    call to warm up; the best of ``rounds``, since a busy machine only ever slows one down."""
    batch = np.resize(images, (count, *images.shape[1:]))  # the images over, as needed
    forward(batch)
    fastest = float("inf")
    for _ in range(rounds):
        began = time.perf_counter()
        forward(batch)
        fastest = min(fastest, time.perf_counter() - began)
    return round(count / fastest, 1)


def _keras_top1(network: Network, calibration: Calibration) -> Callable[[], NDArray[np.intp]]:
    """The float32 Keras network's top label of each calibration image, worked out on the
    first call only: every engine's agreement is measured against the same answers."""

    @functools.cache
    def labels() -> NDArray[np.intp]:
        images = calibration()
        reference = compiled(network())
        return np.asarray(reference(images).argmax(axis=1))

    return labels


def _agreement(
    expected: Callable[[], NDArray[np.intp]],
    forward: Forward,
    calibration: Calibration,
    *,
    kept: Path,
) -> float:
    """Top-1 agreement with the float32 Keras network (``expected``), measured once and
    kept."""
    if kept.is_file():
        return float(json.loads(kept.read_text()))
    images = calibration()
    batches = [images[start : start + BATCH] for start in range(0, len(images), BATCH)]
    got = np.concatenate([forward(batch) for batch in batches]).argmax(axis=1)
    agreement = float((expected() == got).mean())
    write_whole(kept, json.dumps(agreement).encode())
    return agreement
