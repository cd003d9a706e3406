"""Model files and what runs them: Keras files, TFLite models (LiteRT) and the frozen
TF1 graphs of TensorFlow's old retrain.py.

A forward function takes a float32 batch and gives class probabilities. Only the
Keras and graph loaders import TensorFlow: a small machine serves a .tflite model
with ai-edge-litert alone.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from brain._errors import FatalError

Forward = Callable[[NDArray[np.float32]], NDArray[np.float32]]


#: What Keras imports when it is installed, for its plots and its scikit-learn wrappers:
#: a network that only serves never uses them, and they were 80 MB of a Keras cortex.
UNUSED_BY_SERVING = ("matplotlib", "sklearn")


@contextmanager
def serving_imports() -> Iterator[None]:
    """Within the block, a first import of Keras leaves out ``UNUSED_BY_SERVING``: Keras
    looks for them once, as it is imported. They are importable again after it."""
    absent = [name for name in UNUSED_BY_SERVING if name not in sys.modules]
    for name in absent:
        sys.modules[name] = None  # type: ignore[assignment]  # None: "cannot be imported"
    try:
        yield
    finally:
        for name in absent:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]


def keras_network(file: Path) -> Any:
    """A saved Keras model (e.g. a bundle's model.keras)."""
    import keras

    try:
        return keras.saving.load_model(file, compile=False)
    except (OSError, ValueError) as error:
        raise FatalError(f"{file} cannot be loaded ({error})") from None


def tflite_forward(file: Path) -> tuple[Forward, int]:
    """A .tflite model on LiteRT (with XNNPACK), and its number of outputs."""
    interpreter = _interpreter(file)
    source = interpreter.get_input_details()[0]["index"]
    target = interpreter.get_output_details()[0]

    # One image an invoke: TFLite's kernels are made for batch 1, and resizing costs.
    def forward(batch: NDArray[np.float32]) -> NDArray[np.float32]:
        rows = []
        for image in batch:
            interpreter.set_tensor(source, image[None])
            interpreter.invoke()
            rows.append(interpreter.get_tensor(target["index"])[0])
        return np.stack(rows)

    return forward, int(target["shape"][-1])


def tflite_outputs(file: Path) -> Callable[[NDArray[np.float32]], list[NDArray[np.float32]]]:
    """A .tflite model of one input and several outputs on LiteRT: an input in, every
    output out."""
    interpreter = _interpreter(file)
    source = interpreter.get_input_details()[0]["index"]
    targets = [output["index"] for output in interpreter.get_output_details()]

    def run(batch: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        interpreter.set_tensor(source, batch)
        interpreter.invoke()
        return [interpreter.get_tensor(target) for target in targets]

    return run


def _interpreter(file: Path) -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise FatalError(
            f"{file} needs LiteRT to run: pip install ai-edge-litert (or brain[edge])"
        ) from None
    try:
        interpreter = Interpreter(model_path=str(file), num_threads=os.cpu_count() or 1)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        raise FatalError(f"{file} is not a TFLite model LiteRT can run ({error})") from None
    return interpreter


def tflite_bytes(
    network: Any, quantize: str, calibration: NDArray[np.float32] | None = None
) -> bytes:
    """A Keras network as a TFLite model; ``quantize``: none, dynamic, float16 or int8
    (calibrated on ``calibration``, preprocessed images, batch first)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="brain-export-") as saved:
        network.export(saved, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if quantize != "none":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantize == "int8":
            assert calibration is not None, "int8 needs calibration images"
            images = calibration
            converter.representative_dataset = lambda: ([image[None]] for image in images)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        return bytes(converter.convert())


#: Where TensorFlow's old retrain.py graphs take a 299x299 image and give classes.
RETRAIN_INPUT, RETRAIN_OUTPUT = "Mul:0", "final_result:0"


def retrain_forward(file: Path) -> tuple[Forward, int]:
    """A frozen ``output_graph.pb`` of TensorFlow's retrain.py, as the original CCTV made."""
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(file.read_bytes())
        imported = tf.compat.v1.wrap_function(
            lambda: tf.compat.v1.import_graph_def(graph_def, name=""), []
        )
        run = imported.prune(RETRAIN_INPUT, RETRAIN_OUTPUT)
    except Exception as error:  # protobuf's DecodeError, a graph without these tensors...
        raise FatalError(
            f"{file} is not a retrain.py graph with {RETRAIN_INPUT} and {RETRAIN_OUTPUT} ({error})"
        ) from None
    outputs = int(imported.graph.get_tensor_by_name(RETRAIN_OUTPUT).shape[-1])
    return (lambda batch: np.asarray(run(tf.constant(batch)))), outputs
