"""The cortex and its models.

Besides the node, the cortex's public surface is what training and export
(``brain.train``) and the benchmarks use to run networks the way the cortex does:
the engines, the scalings, the weights and the bundle format.
"""

from brain.cortex._bench import HEADER as BENCH_HEADER
from brain.cortex._bench import bench
from brain.cortex._engines import ENGINES, images_per_s
from brain.cortex._graph import compiled
from brain.cortex._node import Cortex, CortexOptions, load_model, model_type
from brain.cortex._photos import calibration_images, sample_photos
from brain.cortex._runtimes import keras_network, tflite_bytes, tflite_forward
from brain.cortex._scaling import INCEPTION, SCALINGS, Images, scaled
from brain.cortex._tfjs import graph_model, graph_tflite
from brain.cortex._weights import resolve_weights, weights_id
from brain.cortex.bundle import Bundle, new_bundle, read_bundle, write_description

__all__ = [
    "BENCH_HEADER",
    "ENGINES",
    "INCEPTION",
    "SCALINGS",
    "Bundle",
    "Cortex",
    "CortexOptions",
    "Images",
    "bench",
    "calibration_images",
    "compiled",
    "graph_model",
    "graph_tflite",
    "images_per_s",
    "keras_network",
    "load_model",
    "model_type",
    "new_bundle",
    "read_bundle",
    "resolve_weights",
    "sample_photos",
    "scaled",
    "tflite_bytes",
    "tflite_forward",
    "weights_id",
    "write_description",
]
