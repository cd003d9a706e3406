"""The photos int8 is calibrated and judged on: a bundle's own, or views of
scikit-image's, enough of them that one photo is a small part of the judgement."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from brain._images import decode_bytes
from brain.cortex import INCEPTION, calibration_images, sample_photos
from brain.cortex._photos import CALIBRATION_PHOTOS
from tests.shapes import make_dataset


def test_without_photos_of_its_own_a_network_gets_a_hundred_different_views() -> None:
    photos = sample_photos((96, 64))

    assert len(photos) == CALIBRATION_PHOTOS == 100
    assert all(photo.shape == (64, 96, 3) and photo.dtype == np.uint8 for photo in photos)
    distinct = {photo.tobytes() for photo in photos}
    assert len(distinct) == len(photos)
    grey = [photo for photo in photos if (photo[..., 0] == photo[..., 2]).all()]
    assert 0 < len(grey) < len(photos)  # night scenes too, not only those


def test_a_bundle_is_calibrated_on_its_own_training_photos(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path / "images", per_class=2)  # 6 photos, fewer than asked
    (folder / "notes.txt").write_text("not a photo")

    photos = sample_photos((96, 96), folder)

    trained_on = {decode_bytes(path.read_bytes()).tobytes() for path in folder.rglob("*.jpg")}
    assert len(photos) == 6
    assert {photo.tobytes() for photo in photos} <= trained_on


def test_calibration_images_are_scaled_for_the_network() -> None:
    images = calibration_images((32, 48), INCEPTION, count=10)

    assert images.shape == (10, 48, 32, 3) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0
