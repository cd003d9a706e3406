"""Keras networks as one compiled graph, for the models that run them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: The most frames the graph takes at once: a bigger batch runs in chunks.
CHUNK = 4


def compiled(network: Any) -> Callable[[np.ndarray], np.ndarray]:
    """The network's forward pass as a graph: several times faster than eager calls or
    ``model.predict`` for small batches. One graph serves every batch size, since a
    new trace would stall a frame for seconds.

    A batch runs in chunks of at most ``CHUNK`` frames. TensorFlow keeps memory for
    each batch size it has seen (oneDNN's primitives and buffers, 15 to 20 MB each
    with Inception), and for the biggest one's activations: sizes 1 to 8 took the
    cortex to 1.0 GB. Inception classified as many images a second in chunks of 4 as
    in batches of 8 (15.6 on a 2-core EPYC).
    """
    import tensorflow as tf

    forward = tf.function(
        lambda x: network(x, training=False),
        # Frames of the size the network takes (height, width, channels), any batch.
        input_signature=[tf.TensorSpec([None, *network.input_shape[1:]], tf.float32)],
    )

    def run(batch: np.ndarray) -> np.ndarray:
        starts = range(0, max(len(batch), 1), CHUNK)  # an empty batch gives no rows
        return np.concatenate([np.asarray(forward(batch[s : s + CHUNK])) for s in starts])

    return run
