"""ONNX nodes for the engine's activation functions (the names of ``engine.layers.core.ACTIVATIONS``)."""

from __future__ import annotations

import math

from engine.export.errors import ExportError

__all__ = ["activation"]

# SELU's constants, as engine.ops.activations uses them.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SIMPLE = {
    "relu": "Relu",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "softplus": "Softplus",
    "softsign": "Softsign",
    "sine": "Sin",
}


def activation(g, x: str, name: str | None, hint: str, layer: str = "") -> str:
    """Apply the activation ``name`` to the value ``x``; returns the result's name.

    ``None`` and ``"linear"`` return ``x`` itself. Softmax and log-softmax work on the last axis, as
    the engine's do. GELU is the tanh approximation, as the engine's default (opset 17 has no Gelu op,
    so it is written out).
    """
    if name in (None, "linear"):
        return x
    if name in _SIMPLE:
        return g.op(_SIMPLE[name], [x], hint)
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], hint, alpha=0.01)
    if name == "elu":
        return g.op("Elu", [x], hint, alpha=1.0)
    if name == "selu":
        return g.op("Selu", [x], hint, alpha=_SELU_ALPHA, gamma=_SELU_SCALE)
    if name == "softmax":
        return g.op("Softmax", [x], hint, axis=-1)
    if name == "log_softmax":
        return g.op("LogSoftmax", [x], hint, axis=-1)
    if name == "gelu":
        return _gelu_tanh(g, x, hint)
    raise ExportError(f"activation {name!r} of layer '{layer}' has no ONNX equivalent", layer)


def _gelu_tanh(g, x: str, hint: str) -> str:
    """``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    import numpy as np

    def const(value, tag):
        return g.weight(f"{hint}/{tag}", np.asarray(value, dtype=np.float32))

    cube = g.op("Mul", [g.op("Mul", [x, x], f"{hint}/x2"), x], f"{hint}/x3")
    inner = g.op("Add", [x, g.op("Mul", [cube, const(0.044715, "c3")], f"{hint}/cx3")], f"{hint}/inner")
    t = g.op(
        "Tanh", [g.op("Mul", [inner, const(math.sqrt(2.0 / math.pi), "c")], f"{hint}/scaled")], f"{hint}/tanh"
    )
    half_x = g.op("Mul", [x, const(0.5, "half")], f"{hint}/half_x")
    return g.op("Mul", [half_x, g.op("Add", [t, const(1.0, "one")], f"{hint}/one_plus")], hint)
