"""A Keras network compiled for serving: any batch, run in chunks, gives what the network
gives each frame."""

from __future__ import annotations

import numpy as np
import pytest

from brain.cortex._graph import CHUNK, compiled

pytest.importorskip("tensorflow")


@pytest.mark.parametrize("frames", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 3])
def test_a_batch_of_any_size_gives_each_frame_its_own_answer(frames: int) -> None:
    import keras

    keras.utils.set_random_seed(3)
    layers = keras.layers
    network = keras.Sequential(
        [keras.Input((16, 16, 3)), layers.Conv2D(4, 3), layers.Flatten(), layers.Dense(5)]
    )
    batch = np.random.default_rng(0).random((frames, 16, 16, 3), np.float32)

    answers = compiled(network)(batch)

    assert answers.shape == (frames, 5)
    for frame, answer in zip(batch, answers, strict=True):
        np.testing.assert_allclose(answer, network(frame[None]).numpy()[0], atol=1e-6)
