"""Real photos of real people, as registry packages ship them.

- face_recognition 1.3.0's source package on PyPI ships its test photos: three of
  Barack Obama and one of Joe Biden (fetched once with pip into `.cache/`);
- matplotlib ships a portrait of Grace Hopper, scikit-image one of Eileen Collins.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import matplotlib.cbook
import numpy as np
import pytest
from PIL import Image
from skimage import data as skimage_data

from tests.support import ROOT

SDIST = "face_recognition==1.3.0"
CACHE = ROOT / ".cache" / "people"
OBAMA = ("obama.jpg", "obama2.jpg", "obama3.jpg")
#: A photo each of people who are not Obama.
OTHERS = ("biden.jpg", "hopper.jpg", "collins.png")


def people_photos() -> Path:
    """The folder of the photos (fetched from PyPI the first time)."""
    if all((CACHE / name).is_file() for name in OBAMA + OTHERS):
        return CACHE
    CACHE.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
    fetched = subprocess.run(
        [*pip, "--dest", str(CACHE), SDIST],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert fetched.returncode == 0, f"cannot fetch {SDIST} from PyPI: {fetched.stderr}"
    [archive] = CACHE.glob("face_recognition-1.3.0.tar.gz")
    with tarfile.open(archive) as sdist:
        for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"):
            member = sdist.extractfile(f"face_recognition-1.3.0/tests/test_images/{name}")
            assert member is not None
            (CACHE / name).write_bytes(member.read())
    hopper = Path(str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    Image.open(hopper).save(CACHE / "hopper.jpg")
    Image.fromarray(skimage_data.astronaut()).save(CACHE / "collins.png")
    return CACHE


def camera_sized(source: Path, target: Path, side: int = 640) -> Path:
    """A copy of a photo the size of a camera frame (longest side ``side``)."""
    image = Image.open(source).convert("RGB")
    image.thumbnail((side, side))
    image.save(target, quality=92)
    return target


def side_by_side(left: Path, right: Path, target: Path) -> Path:
    """One photo with two people in it."""
    images = [Image.open(p).convert("RGB").resize((400, 600)) for p in (left, right)]
    Image.fromarray(np.hstack([np.asarray(i) for i in images])).save(target)
    return target


@pytest.fixture(scope="session")
def family_gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A gallery with Obama enrolled from one photo, as ``brain faces add`` does it: made
    once; copy it (``shutil.copytree``) to change it."""
    gallery = tmp_path_factory.mktemp("family") / "gallery"
    enrol = ["faces", "add", "obama", str(people_photos() / "obama.jpg"), "--gallery", str(gallery)]
    subprocess.run(
        [sys.executable, "-m", "brain", *enrol], check=True, capture_output=True, timeout=300
    )
    return gallery
