"""Real scenes, as registry packages ship them: people seen from behind and far away,
animals, empty streets, a tree in the wind; and the people model's weights.

- Debian's ``opencv-doc`` package ships OpenCV's sample data (Apache-2.0): among it
  ``vtest.avi``, 795 frames of people walking across a car park, filmed from a first
  floor (the scene of a CCTV), ``tree.avi``, a tree in the wind, and photos. It is
  fetched once with ``apt-get download`` into ``.cache/``; only what the tests use is
  kept.
- scikit-image and matplotlib ship photos of people and of things that are not.
- The people model's weights come from npm, as ``brain models pull people`` fetches them.

How many people each photo holds was counted by looking at it; a crowd in a stadium's
stands is not counted, though a person found there is no mistake.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import cv2
import matplotlib.cbook
import numpy as np
import pytest
from skimage import data as skimage_data

from brain.cortex.people import WEIGHTS
from tests.support import ROOT

CACHE = ROOT / ".cache"
SAMPLES = CACHE / "opencv-samples"
DATA = "usr/share/doc/opencv-doc/examples/data"
KEPT = (
    "vtest.avi", "tree.avi", "basketball1.png", "basketball2.png", "messi5.jpg", "fruits.jpg",
    "baboon.jpg", "building.jpg", "leuvenA.jpg", "aero1.jpg", "squirrel_cls.jpg", "HappyFish.jpg",
)  # fmt: skip
#: Frames of vtest.avi, and how many people each one holds (all of them far off, most
#: seen from the side or from behind).
VTEST_PEOPLE = {0: 3, 200: 7, 500: 4, 700: 8}
#: Photo -> people in it: from behind (the right one in basketball), in action, portraits.
PHOTOS_WITH_PEOPLE = {
    "basketball1.png": 2, "basketball2.png": 2, "messi5.jpg": 1, "astronaut": 1, "hopper": 1,
    "cameraman": 1,
}  # fmt: skip
#: Photos without anyone: animals, an empty street, buildings, fruit, a town from the air.
PHOTOS_WITHOUT_PEOPLE = (
    "chelsea", "coffee", "rocket", "fruits.jpg", "baboon.jpg", "building.jpg", "leuvenA.jpg",
    "aero1.jpg", "squirrel_cls.jpg", "HappyFish.jpg",
)  # fmt: skip


def opencv_samples() -> Path:
    """The folder of OpenCV's sample data (fetched from Debian the first time)."""
    if all((SAMPLES / name).is_file() for name in KEPT):
        return SAMPLES
    with tempfile.TemporaryDirectory() as scratch:
        fetched = subprocess.run(
            ["apt-get", "download", "opencv-doc"], cwd=scratch, capture_output=True, text=True
        )
        if fetched.returncode != 0:  # a machine whose package lists were never read
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, check=True)
            fetched = subprocess.run(
                ["apt-get", "download", "opencv-doc"], cwd=scratch, capture_output=True, text=True
            )
        assert fetched.returncode == 0, f"cannot fetch opencv-doc: {fetched.stderr}"
        [package] = Path(scratch).glob("opencv-doc_*.deb")
        subprocess.run(["dpkg-deb", "-x", str(package), scratch], check=True)
        SAMPLES.mkdir(parents=True, exist_ok=True)
        for name in KEPT:
            shutil.copyfile(Path(scratch) / DATA / name, SAMPLES / name)
    return SAMPLES


def photo(name: str) -> np.ndarray:
    """A photo as RGB pixels, by its file name in OpenCV's samples or its package's name."""
    if name == "hopper":
        path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        return _read(Path(str(path)))
    if "." not in name:
        pixels = getattr(skimage_data, "camera" if name == "cameraman" else name)()
        return pixels if pixels.ndim == 3 else np.stack([pixels] * 3, axis=-1)
    return _read(opencv_samples() / name)


def _read(path: Path) -> np.ndarray:
    pixels = cv2.imread(str(path))
    assert pixels is not None, f"{path} is not an image"
    return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)


def video_frames(name: str, first: int = 0, count: int = 1) -> list[np.ndarray]:
    """``count`` frames of a sample video from ``first``, as BGR (as a camera reads them)."""
    video = cv2.VideoCapture(str(opencv_samples() / name))
    video.set(cv2.CAP_PROP_POS_FRAMES, first)
    frames: list[np.ndarray] = []
    for _ in range(count):
        ok, frame = video.read()
        assert ok, f"{name} has no frame {first + len(frames)}"
        frames.append(frame)
    video.release()
    return frames


def empty_car_park() -> np.ndarray:
    """vtest.avi's car park with nobody in it: the median of frames spread over the
    video, in which each passer-by is gone (BGR)."""
    frames = [video_frames("vtest.avi", index)[0] for index in range(0, 795, 40)]
    median: np.ndarray = np.median(np.stack(frames), axis=0).astype(np.uint8)
    return median


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10) -> Path:
    """Frames (BGR) as a Motion-JPEG video a camera can play."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def walking_in(path: Path, *, still: int = 20, walking: int = 40) -> Path:
    """A video of the empty car park for ``still`` frames, then people walking in (the
    real frames of vtest.avi from frame 0)."""
    return write_video(path, [empty_car_park()] * still + video_frames("vtest.avi", 0, walking))


@pytest.fixture(scope="session")
def people_weights() -> Path:
    """The people model's folder, fetched from npm once and kept in ``.cache/``."""
    folder = CACHE / "models" / "people"
    if WEIGHTS.damaged(folder) is not None:
        WEIGHTS.fetch(folder)
    return folder
