"""The frozen networks that `brain train` puts a new last layer on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brain._errors import FatalError
from brain.cortex import INCEPTION, resolve_weights, weights_id

_APPLICATIONS = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class Base:
    name: str
    application: str  # the keras.applications constructor
    input_size: tuple[int, int]
    preprocessing: str  # a key of brain.cortex.SCALINGS
    weights_file: str
    weights_url: str

    def load(self, weights: Path | None) -> Loaded:
        """The network with its ImageNet weights, resolved like the cortex's."""
        path = resolve_weights(
            weights,
            option="--base-weights",
            file_name=self.weights_file,
            url=self.weights_url,
            missing=f"no ImageNet weights for {self.name} here and none could be downloaded: "
            "run once where there is network, or give a file with --base-weights FILE",
        )
        import keras

        network = getattr(keras.applications, self.application)(weights=None)
        try:
            network.load_weights(str(path))
        except Exception as error:
            raise FatalError(f"{path} does not hold {self.name} weights ({error})") from None
        return Loaded(self, network, weights_id(path))


@dataclass(frozen=True)
class Loaded:
    base: Base
    network: Any  # keras.Model, with ImageNet's top
    weights_id: str  # which weights: a bottleneck made with others is not reused

    @property
    def key(self) -> str:
        return f"{self.base.name}-{self.weights_id}"

    @property
    def pooled(self) -> Any:
        """The output of the base's global pooling (the layer before ImageNet's top):
        the features the new layer learns from."""
        return self.network.layers[-2].output

    def features(self) -> Any:
        """The network up to its global pooling."""
        import keras

        return keras.Model(self.network.inputs, self.pooled)

    def with_head(self, head: Any) -> Any:
        """Image in, classes out: the base up to its pooling, then the trained layer."""
        import keras

        return keras.Model(self.network.inputs, head(self.pooled), name="bundle")


BASES = {
    base.name: base
    for base in (
        Base(
            name="inception_v3",
            application="InceptionV3",
            input_size=(299, 299),
            preprocessing=INCEPTION,
            weights_file="inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
            weights_url=_APPLICATIONS
            + "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
        ),
        Base(
            name="mobilenet_v2",
            application="MobileNetV2",
            input_size=(224, 224),
            preprocessing=INCEPTION,
            weights_file="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
            weights_url=_APPLICATIONS
            + "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
        ),
    )
}
