"""ONNX export of trained networks: ``engine.export.to_onnx(network, path)``.

The exported model is the network's prediction path in inference mode: dropout is the identity, batch
normalisation uses its running statistics, and a loss head is dropped (its input becomes the output),
or replaced by what the head predicts (softmax or sigmoid) with ``probabilities=True``. Inputs keep the
network's input names with a free batch axis (``("batch", *shape)``); outputs are named after the nodes
that produce them. Operator set 17 (:data:`OPSET`), float32 weights.

Every layer type with a converter in :data:`engine.export.layers.CONVERTERS` is exported; any other
raises :class:`ExportError` naming the layer. Needs the ``onnx`` package (extra ``export``); checking
against onnxruntime (:func:`verify`) needs ``onnxruntime`` too.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.export.errors import ExportError

__all__ = ["to_onnx", "verify", "ExportError", "OPSET", "exportable_types"]

OPSET = 17


def _require_onnx():
    from engine.optional import require

    require("onnx", feature="ONNX export", extra="export")


def exportable_types() -> list[str]:
    """The layer type names the exporter can write."""
    _require_onnx()
    from engine.export.layers import CONVERTERS, load_all

    load_all()
    return sorted(CONVERTERS)


def _build(network, probabilities: bool):
    from engine import __version__
    from engine.export.activations import activation
    from engine.export.builder import GraphBuilder
    from engine.export.layers import CONVERTERS, load_all, unsupported

    load_all()
    for attr in ("layers", "input_names", "output_names", "inputs_of", "node_info"):
        if not hasattr(network, attr):
            raise ExportError(f"to_onnx expects an engine Network, got {type(network).__name__}")
    for layer in network.layers.values():  # check every layer first: one clear error, nothing half-built
        if layer.type_name != "input" and layer.type_name not in CONVERTERS:
            raise unsupported(layer)
    g = GraphBuilder(name="sigma_network")
    values: dict[str, str] = {}
    import numpy as np

    for name in network.input_names:
        layer = network.layers[name]
        dtype = np.int64 if getattr(layer, "dtype", "float") == "int" else np.float32
        values[name] = g.add_input(name, network.output_shape_of(name), dtype)
    for name, layer in network.layers.items():
        if name in values:
            continue
        srcs = [values[s] for s in network.inputs_of(name)]
        values[name] = CONVERTERS[layer.type_name](g, layer, srcs, network.node_info(name))
    for name in network.output_names:
        layer = network.layers[name]
        value, shape = values[name], network.output_shape_of(name)
        out_name = name
        if layer.is_loss:
            out_name = network.inputs_of(name)[0]
            if probabilities and layer.type_name != "squared_error":
                act = "softmax" if layer.type_name == "softmax_cross_entropy" else "sigmoid"
                value = activation(g, value, act, f"{name}/{act}", name)
                out_name = f"{out_name}_probabilities"
        if out_name in network.input_names:  # an input passed straight through
            out_name = f"{out_name}_output"
        g.add_output(value, out_name, shape)
    return g.model(producer_version=__version__)


def to_onnx(network, path, *, probabilities: bool = False):
    """Write ``network`` as an ONNX model.

    Parameters
    ----------
    network : engine.network.Network
        A built network (trained or not); it is not changed.
    path : str or os.PathLike
        The ``.onnx`` file to write (written to a temporary file, then renamed).
    probabilities : bool
        End in the loss head's prediction (softmax for ``softmax_cross_entropy``, sigmoid for
        ``binary_cross_entropy``) instead of the raw outputs (logits).

    Returns
    -------
    onnx.ModelProto
        The model written (already passed ``onnx.checker``).

    Raises
    ------
    ExportError
        When a layer has no ONNX equivalent (the message names it).
    engine.optional.MissingDependency
        When ``onnx`` is not installed.
    """
    _require_onnx()
    import onnx

    model = _build(network, probabilities)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        onnx.save(model, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return model


def verify(network, model, inputs=None, batch: int = 4, seed: int = 0, probabilities: bool = False) -> float:
    """Run ``model`` in onnxruntime and the network in the engine on the same inputs.

    Parameters
    ----------
    network : Network
    model : onnx.ModelProto, bytes, str or os.PathLike
        The exported model or its file.
    inputs : array or dict of arrays, optional
        By input name; random ones (normal floats, or valid indices for integer inputs) when omitted.
    batch, seed : int
        Size and seed of the random batch.
    probabilities : bool
        The model was exported with ``probabilities=True``: compare with the loss head's prediction.

    Returns
    -------
    float
        The largest absolute difference over all outputs.
    """
    import numpy as np
    import onnxruntime as ort

    from engine.autodiff import no_grad

    if isinstance(inputs, np.ndarray):
        inputs = {network.input_names[0]: inputs}
    if inputs is None:
        inputs = _random_inputs(network, batch, seed)
    data = model.SerializeToString() if hasattr(model, "SerializeToString") else model
    if isinstance(data, (str, os.PathLike)):
        data = Path(data).read_bytes()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    with no_grad():
        ours = network(dict(inputs), training=False)
        ours = ours if isinstance(ours, dict) else {network.output_names[0]: ours}
        head = network.loss_head
        if probabilities and head is not None and head.name in ours:
            ours[head.name] = head.predict(ours[head.name])
    theirs = session.run(None, dict(inputs))
    worst = 0.0
    for mine, other in zip(ours.values(), theirs):
        from engine.export.layers import host

        a = host(mine).astype(np.float64)
        if a.shape != other.shape:
            raise ExportError(f"onnxruntime output has shape {other.shape}, the engine's {a.shape}")
        worst = max(worst, float(np.max(np.abs(a - other))) if a.size else 0.0)
    return worst


def _random_inputs(network, batch, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    out = {}
    for name in network.input_names:
        layer = network.layers[name]
        shape = (batch, *network.output_shape_of(name))
        if getattr(layer, "dtype", "float") == "int":
            high = _index_limit(network, name)
            out[name] = rng.integers(0, high, size=shape).astype(np.int64)
        else:
            out[name] = rng.standard_normal(shape).astype(np.float32)
    return out


def _index_limit(network, input_name) -> int:
    """The smallest embedding table size among the layers reading an integer input (2 if none)."""
    limits = [
        getattr(layer, "input_dim", None)
        for name, layer in network.layers.items()
        if input_name in network.inputs_of(name)
    ]
    limits = [v for v in limits if isinstance(v, int)]
    return min(limits) if limits else 2
