"""Faces identified per second through the cortex, against bare MTCNN + dlib, same run.

1. The bare library: MTCNN finds the faces and dlib aligns and embeds each, on the
   same decoded 640x480 frames, as fast as it goes; measured before and after the
   cortex, the better of the two counting.
2. The cortex (`faces` model with a gallery) on a real broker, fed by 4 cameras
   streaming those frames at twice what the bare library can take: faces named
   (or called strangers) per second, from the perceptions it publishes.
3. Accuracy on real photos of real people (see tests/people.py), through `brain
   faces` as a user runs it: one photo of Barack Obama enrolled, his other photos
   must be accepted and other people (Joe Biden, Grace Hopper, Eileen Collins)
   rejected as strangers.
4. Peak RSS of the cortex.

    python -m benchmarks.identity [--seconds 20]
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks._stream import Watcher, rss_mb, streamed
from benchmarks._support import start_mosquitto, start_node
from brain.faces import THRESHOLD
from brain.images import decode
from schemas import ImageEvent
from tests.people import OBAMA, OTHERS, people_photos

ENROLLED = OBAMA[0]
PHOTOS = [*OBAMA[1:], *OTHERS]


def frame(photo: Path, source: str) -> ImageEvent:
    """The photo on a 640x480 camera frame (scaled to fit, centred on grey)."""
    picture = Image.open(photo).convert("RGB")
    picture.thumbnail((640, 480))
    canvas = Image.new("RGB", (640, 480), (120, 120, 120))
    canvas.paste(picture, ((640 - picture.width) // 2, (480 - picture.height) // 2))
    encoded = io.BytesIO()
    canvas.save(encoded, "JPEG", quality=85)
    return ImageEvent(
        source=source,
        content_type="image/jpeg",
        data=encoded.getvalue(),
        width=640,
        height=480,
        seq=0,
    )


class Bare:
    """MTCNN and dlib as their own documentation uses them, built once: a second MTCNN
    in one process runs slower than the first."""

    def __init__(self) -> None:
        import dlib
        import face_recognition_models as weights
        from mtcnn import MTCNN

        self.dlib = dlib
        self.detector = MTCNN(device="CPU:0")
        self.aligner = dlib.shape_predictor(weights.pose_predictor_five_point_model_location())
        self.network = dlib.face_recognition_model_v1(weights.face_recognition_model_location())

    def per_s(self, frames: list[np.ndarray], seconds: float) -> float:
        """Faces found and embedded per second."""
        for pixels in frames:  # warm: each frame's shapes traced once
            self.detector.detect_faces(pixels)
        faces, began = 0, time.perf_counter()
        while time.perf_counter() - began < seconds:
            for pixels in frames:
                for face in self.detector.detect_faces(pixels):
                    if face["confidence"] >= 0.9:
                        x, y, w, h = face["box"]
                        box = self.dlib.rectangle(x, y, x + w, y + h)
                        self.network.compute_face_descriptor(pixels, self.aligner(pixels, box))
                        faces += 1
        return faces / (time.perf_counter() - began)


def faces(*args: object) -> str:
    """`brain faces ...` as a user runs it; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "brain", "faces", *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def accuracy(photos: Path, gallery: Path) -> dict[str, object]:
    """`brain faces who` on the photos not enrolled: who it says each one is."""
    said = faces("who", "--json", "--gallery", gallery, *(photos / name for name in PHOTOS))
    named = {}
    for line in said.splitlines():
        found = json.loads(line)
        [face] = found["faces"]
        named[Path(found["photo"]).name] = {"name": face["name"], "distance": face["distance"]}
    same = [named[n]["name"] == "obama" for n in OBAMA[1:]]
    others = [named[n]["name"] == "stranger" for n in OTHERS]
    return {
        "same_person_accepted": f"{sum(same)}/{len(same)}",
        "other_people_rejected": f"{sum(others)}/{len(others)}",
        "each": named,
        "threshold": THRESHOLD,
        "published": "dlib's ResNet: 99.38% on LFW at 0.6",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="brain-bench-"))
    photos = people_photos()
    faces("add", "obama", photos / ENROLLED, "--gallery", workdir / "gallery")
    decoded = [decode(frame(photos / name, "bare")) for name in PHOTOS]
    bare = Bare()
    bare_before = bare.per_s(decoded, args.seconds / 2)

    port, broker = start_mosquitto(workdir)
    sets = ("--set", "cortex.model=faces", "--set", f'cortex.gallery="{workdir / "gallery"}"')
    node = start_node(port, "cortex", *sets, ready='"event": "model ready"')
    watcher = Watcher(port)
    try:
        time.sleep(1)
        cameras = [[frame(photos / name, f"door{n}") for name in PHOTOS] for n in range(4)]
        ours = streamed(watcher, cameras, 2 * bare_before, args.seconds)
        peak = rss_mb(node.pid, "VmHWM")
    finally:
        node.terminate()
        node.wait()
        broker.terminate()
        broker.wait()
    # Measured again once the cortex is gone: the better of the two is the bare figure.
    bare_per_s = max(bare_before, bare.per_s(decoded, args.seconds / 2))
    print(
        json.dumps(
            {
                "frames": "640x480 JPEG, one real face each",
                "bare_mtcnn_dlib_faces_per_s": round(bare_per_s, 2),
                "bare_before_the_cortex": round(bare_before, 2),
                "cortex_faces_per_s": round(ours, 2),
                "ratio": round(ours / bare_per_s, 3),
                "goal_ratio": 0.9,
                "accuracy": accuracy(photos, workdir / "gallery"),
                "cortex_peak_rss_mb": round(peak),
                "goal_peak_rss_mb": 1024,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
