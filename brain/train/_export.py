"""`brain export`: a bundle as a TFLite model, for machines too small for TensorFlow.

The result is a bundle too (model.tflite, labels.txt, metadata.json), which the
cortex serves with LiteRT alone. int8 is calibrated on the bundle's own training
images, so its ranges are those the camera will show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from brain._errors import FatalError
from brain.cortex import (
    Images,
    calibration_images,
    keras_network,
    new_bundle,
    read_bundle,
    tflite_bytes,
    write_description,
)

Quantization = Literal["none", "dynamic", "float16", "int8"]


def export(
    bundle: Path, *, out: Path, quantize: Quantization = "none", calibration: Path | None = None
) -> Path:
    """Write ``bundle`` as a TFLite bundle at ``out``; returns the .tflite file."""
    metadata, labels = read_bundle(bundle)
    if not (bundle / "model.keras").is_file():
        raise FatalError(f"{bundle} has no model.keras to export; export a bundle from brain train")
    images = calibration or Path(metadata.get("images", ""))
    if quantize == "int8" and not images.is_dir():
        raise FatalError(
            f"int8 needs the training images to calibrate on, and {images} is not a folder; "
            "give them with --calibration DIR"
        )
    network = keras_network(bundle / "model.keras")
    with new_bundle(out) as folder:
        tflite = tflite_bytes(network, quantize, _calibration(images, metadata, quantize))
        (folder / "model.tflite").write_bytes(tflite)
        write_description(
            folder,
            labels=labels,
            metadata={
                **{k: v for k, v in metadata.items() if k not in {"format", "created"}},
                "runtime": "tflite",
                "quantization": quantize,
                "exported_from": str(bundle.resolve()),
            },
        )
    return out / "model.tflite"


def _calibration(images: Path, metadata: dict[str, Any], quantize: str) -> Images | None:
    """For int8: training images, preprocessed as the model expects (as the cortex does)."""
    if quantize != "int8":
        return None
    size = (int(metadata["input_size"][0]), int(metadata["input_size"][1]))
    return calibration_images(size, metadata["preprocessing"], images)
