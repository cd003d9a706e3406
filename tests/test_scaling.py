"""Scalings: a batch of frames as each network wants its pixels, exactly."""

from __future__ import annotations

import numpy as np
import pytest

from brain.cortex import INCEPTION, SCALINGS, scaled


@pytest.mark.parametrize("scaling", sorted(SCALINGS))
def test_every_pixel_is_scaled_as_its_network_was_trained(scaling: str) -> None:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (5, 7, 3), dtype=np.uint8) for _ in range(3)]
    divide, shift = SCALINGS[scaling]

    batch = scaled(frames, scaling)

    assert batch.shape == (3, 5, 7, 3) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch, np.stack(frames).astype(np.float32) / divide + shift)


def test_inception_sees_black_as_minus_one_and_white_as_one() -> None:
    black, white = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 255, np.uint8)

    batch = scaled([black, white], INCEPTION)

    assert (batch[0] == -1.0).all() and (batch[1] == 1.0).all()


def test_frames_of_different_sizes_make_no_batch() -> None:
    with pytest.raises(ValueError):
        scaled([np.zeros((2, 2, 3), np.uint8), np.zeros((3, 2, 3), np.uint8)], INCEPTION)
