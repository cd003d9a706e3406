"""A dataset the training tests make: classes that look different, as photos of them would."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

#: Class name -> (fill colour, shape).
CLASSES = {
    "red_circles": ((210, 40, 40), "ellipse"),
    "green_squares": ((40, 180, 60), "rectangle"),
    "blue_triangles": ((40, 70, 220), "polygon"),
}


def picture(colour: tuple[int, int, int], shape: str, rng: np.random.Generator) -> Image.Image:
    """A shape of ``colour`` somewhere on a noisy background tinted the same way, 96x96."""
    noise = rng.integers(-20, 21, (96, 96, 3))
    background = np.clip(np.array(colour) * 0.6 + 50 + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(background)
    size = int(rng.integers(36, 70))
    x, y = (int(v) for v in rng.integers(0, 96 - size, 2))
    shade = tuple(int(np.clip(c + rng.integers(-25, 26), 0, 255)) for c in colour)
    draw = ImageDraw.Draw(image)
    if shape == "polygon":
        draw.polygon([(x + size // 2, y), (x, y + size), (x + size, y + size)], fill=shade)
    else:
        getattr(draw, shape)([x, y, x + size, y + size], fill=shade)
    return image


def make_dataset(folder: Path, *, per_class: int = 80, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for name, (colour, shape) in CLASSES.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for n in range(per_class):
            picture(colour, shape, rng).save(folder / name / f"{name}_{n:03d}.jpg", quality=90)
    return folder


def base_weights(path: Path, application: str, pictures: Path, *, size: int) -> Path:
    """Weights for a base network that the test makes itself (ImageNet's cannot be
    downloaded here): random, with each batch normalization set to the statistics of
    the pictures it sees, so that the features keep their scale through the network
    (unset, they shrink to nothing in MobileNetV2)."""
    import keras

    keras.utils.set_random_seed(0)
    network = getattr(keras.applications, application)(weights=None)
    batch = np.stack(
        [
            np.asarray(Image.open(file).convert("RGB").resize((size, size)), np.float32)
            for file in sorted(pictures.rglob("*.jpg"))[::7][:32]
        ]
    )
    for layer in network.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0  # one pass sets the moving statistics to this batch's
    network(batch / 127.5 - 1.0, training=True)
    network.save_weights(str(path))
    return path


def bomb_jpeg(width: int = 65_000, height: int = 65_000) -> bytes:
    """A small JPEG whose header says it is ``width`` x ``height``: a decompression bomb."""
    encoded = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 90, 90)).save(encoded, format="JPEG")
    data = bytearray(encoded.getvalue())
    start = data.index(b"\xff\xc0")  # the frame header: length, precision, height, width
    data[start + 5 : start + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)
