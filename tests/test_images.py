"""Decoding frames for a model: a big JPEG is decoded at a fraction of its size when the
model needs no more, and what the model sees is still the photo."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from brain._images import _jpeg_scale, decode_bytes


@pytest.mark.parametrize("width, height", [(1280, 720), (1920, 1080), (640, 480)])
def test_a_frame_decoded_small_is_the_photo_resized(width: int, height: int) -> None:
    photo = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_AREA)
    jpeg = cv2.imencode(".jpg", cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))[1].tobytes()
    seen = decode_bytes(jpeg, size=(299, 299))
    assert seen.shape == (299, 299, 3) and seen.dtype == np.uint8 and seen.flags.c_contiguous
    # Against the whole photo averaged down: JPEG's own loss and resampling, no more.
    expected = cv2.resize(photo, (299, 299), interpolation=cv2.INTER_AREA).astype(float)
    assert np.abs(seen - expected).mean() < 4


def test_the_decoder_reduces_only_as_far_as_the_model_allows() -> None:
    assert _jpeg_scale(1280, 720, (299, 299)) == 2
    assert _jpeg_scale(1920, 1080, (299, 299)) == 2
    assert _jpeg_scale(2592, 1944, (299, 299)) == 4
    assert _jpeg_scale(640, 480, (299, 299)) == 1
    assert _jpeg_scale(640, 480, (160, 120)) == 4
    assert _jpeg_scale(4000, 3000, None) == 1
    assert _jpeg_scale(96, 64, (299, 299)) == 1  # smaller than the model wants: scaled up
    tiny = cv2.imencode(".jpg", np.full((64, 96, 3), 200, np.uint8))[1].tobytes()
    assert decode_bytes(tiny, size=(299, 299)).shape == (299, 299, 3)
