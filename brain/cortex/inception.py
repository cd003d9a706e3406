"""InceptionV3 with ImageNet weights (Keras), the cortex's default model.

Weights come from ``cortex.weights``, else the Keras cache, else a download with
a progress bar where there is network. With none of them the cortex refuses to
start: it never classifies with weights it was not given.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path
from typing import Any

from brain._errors import FatalError
from brain._model import RGB, Model, ranked
from brain.cortex._engines import accelerated
from brain.cortex._photos import calibration_images
from brain.cortex._runtimes import Forward
from brain.cortex._scaling import INCEPTION, scaled
from brain.cortex._weights import keras_cache as weights_cache
from brain.cortex._weights import resolve_weights, weights_id
from schemas import Label

WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" + WEIGHTS_FILE
)
NO_WEIGHTS = (
    "no InceptionV3 weights here and none could be downloaded: run `brain models "
    "pull inception` where there is network (it fills the Keras cache), or give a "
    "weights file with --set cortex.weights=FILE"
)


def imagenet_classes() -> list[str]:
    """The 1000 ImageNet class names in index order (from torchvision's list, BSD)."""
    text = files("brain.cortex").joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    return text.splitlines()


def keras_cache() -> Path:
    return weights_cache(WEIGHTS_FILE)


def find_weights(given: Path | None, *, download: bool = True) -> Path:
    return resolve_weights(
        given,
        option="cortex.weights",
        file_name=WEIGHTS_FILE,
        url=WEIGHTS_URL,
        missing=NO_WEIGHTS,
        download=download,
    )


def inception_network(weights: Path) -> Any:
    """The Keras InceptionV3 with these weights."""
    import keras

    network = keras.applications.InceptionV3(weights=None)
    try:
        network.load_weights(str(weights))
    except Exception as error:
        raise FatalError(
            f"{weights} does not hold InceptionV3 weights ({error}); "
            "give the right file with --set cortex.weights=FILE"
        ) from None
    return network


class Inception(Model):
    """InceptionV3 trained on ImageNet: 1000 everyday classes."""

    name = "inception"
    input_size = (299, 299)

    def __init__(self, forward: Forward, *, weights: Path, engine: str, top_k: int) -> None:
        self._weights = weights
        self._engine = engine
        self._top_k = top_k
        self._classes = imagenet_classes()
        self._forward = forward

    @classmethod
    def load(cls, options: Any) -> Inception:
        weights = find_weights(options.weights)
        forward, engine = accelerated(
            functools.partial(inception_network, weights),
            key=f"inception-{weights_id(weights)}",
            runtime=options.runtime,
            precision=options.precision,
            images=functools.partial(calibration_images, cls.input_size, INCEPTION),
        )
        return cls(forward, weights=weights, engine=engine, top_k=options.top_k)

    @classmethod
    def labels(cls, options: Any) -> frozenset[str]:
        return frozenset(imagenet_classes())

    def classify(self, frames: list[RGB]) -> list[list[Label]]:
        # 299x299 (done by the decoder), scaled as Inception was trained.
        probabilities = self._forward(scaled(frames, INCEPTION))
        return ranked(probabilities, self._classes, self._top_k)

    def describe(self) -> str:
        return f"inception (weights {self._weights}, on {self._engine})"

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        if keras_cache().is_file():
            return True, f"weights in {keras_cache()}"
        return False, (
            "no weights yet: `brain models pull inception` where there is network, "
            "or --set cortex.weights=FILE"
        )

    @classmethod
    def pull(cls) -> str:
        try:
            return str(find_weights(None, download=True))
        except FatalError:
            raise FatalError(
                f"could not download {WEIGHTS_URL} (no network here?): fetch it "
                f"elsewhere and copy it to {keras_cache()}, or use --set "
                "cortex.weights=FILE"
            ) from None
