"""ONNX converters for the core, convolution and merge layers, and the registry of converters.

A converter is ``convert(g, layer, inputs, info) -> output value name``: ``g`` the
:class:`~engine.export.builder.GraphBuilder`, ``layer`` the engine layer (its attributes and its
parameters, host arrays), ``inputs`` the ONNX value names it reads (in order), ``info`` the network's
:class:`~engine.network.graph.NodeInfo` of the node (per-sample input and output shapes). Values are
batch first and channels first, as in the engine, so no transposes are needed.
"""

from __future__ import annotations

import numpy as np

from engine.backend import to_host
from engine.export.activations import activation
from engine.export.errors import ExportError

__all__ = ["CONVERTERS", "converter", "host", "load_all", "unsupported"]

CONVERTERS: dict = {}


def converter(*type_names):
    """Register a function as the converter of the given layer type names."""

    def register(fn):
        for name in type_names:
            CONVERTERS[name] = fn
        return fn

    return register


def host(array) -> np.ndarray:
    """A numpy copy of a parameter or buffer (a Tensor, or a numpy or cupy array)."""
    from engine.autodiff import Tensor

    data = array.data if isinstance(array, Tensor) else array  # a cupy array's .data is a raw pointer
    return to_host(data)


@converter("dense")
def _dense(g, layer, inputs, info):
    # MatMul broadcasts over any leading axes, as the engine's Dense does: (N, ..., in) @ (in, units).
    y = g.op(
        "MatMul",
        [inputs[0], g.weight(f"{layer.name}.weights", host(layer.parameters["weights"]))],
        f"{layer.name}/matmul",
    )
    if layer.use_bias:
        y = g.op(
            "Add", [y, g.weight(f"{layer.name}.bias", host(layer.parameters["bias"]))], f"{layer.name}/bias"
        )
    return activation(g, y, layer.activation, f"{layer.name}/{layer.activation}", layer.name)


@converter("activation")
def _activation(g, layer, inputs, info):
    out = activation(g, inputs[0], layer.activation, layer.name, layer.name)
    return out if out != inputs[0] else g.op("Identity", [out], layer.name)


@converter("dropout")
def _dropout(g, layer, inputs, info):
    return g.op("Identity", inputs, layer.name)  # inference mode: dropout is the identity


@converter("flatten")
def _flatten(g, layer, inputs, info):
    return g.op("Flatten", inputs, layer.name, axis=1)


@converter("reshape")
def _reshape(g, layer, inputs, info):
    # 0 keeps the batch axis as it is (allowzero=0); the rest is the per-sample target shape.
    shape = g.ints(f"{layer.name}/shape", [0, *layer.target_shape])
    return g.op("Reshape", [inputs[0], shape], layer.name)


def _conv_pads(layer, info):
    """ONNX ``pads`` (begins then ends) of a Conv1D/Conv2D, as the engine computes them ("same" included)."""
    from engine.ops.conv import make_geometry

    shape = info.input_shape
    rank = layer.rank
    spatial = tuple(shape[1:]) if rank == 2 else (1, shape[1])
    kernel = layer.kernel_size if rank == 2 else (1, layer.kernel_size[0])
    stride = layer.strides if rank == 2 else (1, layer.strides[0])
    dilation = layer.dilation if rank == 2 else (1, layer.dilation[0])
    padding = layer.padding if isinstance(layer.padding, str) or rank == 2 else (0, layer.padding[0])
    (pt, pb), (pl, pr) = make_geometry(
        layer.name, spatial, kernel, stride, padding, dilation, layer.groups
    ).pads
    return [pt, pl, pb, pr] if rank == 2 else [pl, pr]


@converter("conv1d", "conv2d")
def _conv(g, layer, inputs, info):
    args = [inputs[0], g.weight(f"{layer.name}.weights", host(layer.parameters["weights"]))]
    if layer.use_bias:
        args.append(g.weight(f"{layer.name}.bias", host(layer.parameters["bias"])))
    y = g.op(
        "Conv",
        args,
        f"{layer.name}/conv",
        kernel_shape=list(layer.kernel_size),
        strides=list(layer.strides),
        dilations=list(layer.dilation),
        group=layer.groups,
        pads=_conv_pads(layer, info),
    )
    return activation(g, y, layer.activation, f"{layer.name}/{layer.activation}", layer.name)


@converter("add", "multiply")
def _elementwise(g, layer, inputs, info):
    op = "Add" if layer.type_name == "add" else "Mul"
    y = inputs[0]
    for k, x in enumerate(inputs[1:], start=1):
        y = g.op(op, [y, x], layer.name if k == len(inputs) - 1 else f"{layer.name}/{k}")
    return y


@converter("concatenate")
def _concatenate(g, layer, inputs, info):
    ndim = len(info.input_shape[0])
    return g.op("Concat", inputs, layer.name, axis=layer.axis % ndim + 1)  # per-sample axis -> batch axis + 1


@converter("softmax_cross_entropy", "squared_error", "binary_cross_entropy")
def _loss_head(g, layer, inputs, info):
    # The prediction path only: a loss head passes its input through (to_onnx may add its probabilities).
    return inputs[0]


def unsupported(layer) -> ExportError:
    """The error for a layer type with no converter."""
    known = ", ".join(sorted(CONVERTERS))
    return ExportError(
        f"layer '{layer.name}' of type '{layer.type_name}' cannot be exported to ONNX "
        f"(exportable types: {known})",
        layer.name,
    )


def load_all() -> None:
    """Import the modules whose converters register themselves (other layer families)."""
    import importlib

    for module in ("engine.export.shapes", "engine.export.recurrent", "engine.export.coordinates"):
        importlib.import_module(module)
