"""Keras networks as one compiled graph, for the models that run them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def compiled(network: Any, input_size: tuple[int, int]) -> Callable[[np.ndarray], np.ndarray]:
    """The network's forward pass as a graph: several times faster than eager calls or
    ``model.predict`` for small batches. One graph serves every batch size, since a
    new trace would stall a frame for seconds."""
    import tensorflow as tf

    forward = tf.function(
        lambda x: network(x, training=False),
        input_signature=[tf.TensorSpec([None, *input_size, 3], tf.float32)],
    )
    return lambda batch: np.asarray(forward(batch))
