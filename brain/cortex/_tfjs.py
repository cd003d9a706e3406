"""A TensorFlow.js graph model, run by TensorFlow itself.

A TF.js graph model is a TensorFlow GraphDef written as JSON, with its weights in
binary shards beside it (often stored as float16, and int64 as int32). Its JSON is
read back into a GraphDef, each weight put into its constant, and the graph imported
and pruned to a function from the inputs to the outputs: the network as its authors
trained it, with no converter to install.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from brain._errors import FatalError

#: A graph's function: its inputs in, its outputs (sorted by name) out.
GraphFunction = Callable[..., list[NDArray[np.float32]]]


def graph_model(model_json: Path, *, fix: str) -> GraphFunction:
    """The graph model described by ``model_json``, run by TensorFlow; ``fix`` says how
    to get it again when it cannot be read."""
    import tensorflow as tf

    function, _ = _pruned(model_json, fix=fix)

    def run(*arrays: NDArray[Any]) -> list[NDArray[np.float32]]:
        return [output.numpy() for output in function(*(tf.constant(a) for a in arrays))]

    return run


def graph_tflite(model_json: Path, *, fix: str) -> bytes:
    """The graph model described by ``model_json``, converted for LiteRT (float32)."""
    import tensorflow as tf

    function, graph = _pruned(model_json, fix=fix)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], graph)
    return bytes(converter.convert())


def _pruned(model_json: Path, *, fix: str) -> tuple[Any, Any]:
    """The graph as a TensorFlow concrete function from its inputs to its outputs
    (sorted by name), and the wrapped graph that holds it."""
    import tensorflow as tf
    from google.protobuf import json_format

    try:
        model = json.loads(model_json.read_text(encoding="utf-8"))
        graph = json_format.ParseDict(
            model["modelTopology"], tf.compat.v1.GraphDef(), ignore_unknown_fields=True
        )
        _fill_weights(graph, model["weightsManifest"], model_json.parent)
        signature = model["signature"]
        inputs = [spec["name"] for spec in signature["inputs"].values()]
        outputs = sorted(spec["name"] for spec in signature["outputs"].values())
    except (OSError, ValueError, KeyError, TypeError, json_format.ParseError) as error:
        raise FatalError(
            f"{model_json} is not a whole TF.js graph model ({error}); {fix}"
        ) from None

    def imported() -> None:
        tf.compat.v1.import_graph_def(graph, name="")

    wrapped = tf.compat.v1.wrap_function(imported, [])
    tensors = wrapped.graph.get_tensor_by_name
    pruned = wrapped.prune([tensors(name) for name in inputs], [tensors(n) for n in outputs])
    return pruned, wrapped


def _fill_weights(graph: Any, manifest: list[dict[str, Any]], folder: Path) -> None:
    """Put each weight of the shards into its constant node, as the dtype the node holds."""
    import tensorflow as tf

    constants = {node.name: node for node in graph.node if node.op == "Const"}
    for group in manifest:
        data = b"".join((folder / shard).read_bytes() for shard in group["paths"])
        offset = 0
        for weight in group["weights"]:
            quantized = weight.get("quantization")
            stored = np.dtype(quantized["dtype"] if quantized else weight["dtype"])
            count = int(np.prod(weight["shape"]))
            if offset + count * stored.itemsize > len(data):
                raise ValueError(f"its weights end before {weight['name']}: a shard is cut short")
            values = np.frombuffer(data, stored, count, offset).reshape(weight["shape"])
            offset += count * stored.itemsize
            node = constants[weight["name"]]
            wanted = tf.dtypes.as_dtype(node.attr["dtype"].type).as_numpy_dtype
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(values.astype(wanted)))
        if offset != len(data):
            raise ValueError(f"its shards hold {len(data) - offset} bytes more than its weights")
