"""ONNX converters for the recurrent layers: SimpleRNN -> RNN, LSTM -> LSTM, GRU -> GRU.

The engine keeps weights as ``x @ W`` with W (F, k*units) and gate blocks along the columns; ONNX wants
W (1, k*hidden, F) (one direction), R likewise for the recurrent weights, and B (1, 2*k*hidden) holding
the input and the recurrent biases. The gate blocks are reordered:

- LSTM: ours [i, f, g, o] (``engine.ops.recurrent``), ONNX [i, o, f, c];
- GRU: ours [r, z, n], ONNX [z, r, h], with ``linear_before_reset=1`` because our reset gate multiplies
  ``h U_n + rb_n`` (the cuDNN/PyTorch form).

ONNX recurrent ops are time-major: (N, T, F) is transposed to (T, N, F) before and back after. Initial
states given as extra inputs (N, units) become (1, N, units).
"""

from __future__ import annotations

import numpy as np

from engine.export.errors import ExportError
from engine.export.layers import converter, host

_LSTM_ORDER = (0, 3, 1, 2)  # ONNX's i, o, f, c taken from our i, f, g, o blocks
_GRU_ORDER = (1, 0, 2)  # ONNX's z, r, h taken from our r, z, n blocks
_RNN_ACTIVATIONS = {
    "tanh": ("Tanh", None),
    "relu": ("Relu", None),
    "sigmoid": ("Sigmoid", None),
    "softsign": ("Softsign", None),
    "softplus": ("Softplus", None),
    "elu": ("Elu", 1.0),
    "leaky_relu": ("LeakyRelu", 0.01),
}


def _blocks(matrix: np.ndarray, gates: int, order) -> np.ndarray:
    """Rows of ``matrix`` (k*units, ...) regrouped gate by gate in ``order``."""
    parts = np.split(matrix, gates, axis=0)
    return np.concatenate([parts[i] for i in order], axis=0)


def _weights(layer, gates: int, order):
    """ONNX (W, R, B) from the layer's parameters."""
    p = {k: host(v).astype(np.float32) for k, v in layer.parameters.items()}
    w = _blocks(p["weights"].T, gates, order)[None]
    r = _blocks(p["recurrent_weights"].T, gates, order)[None]
    wb = _blocks(p["bias"], gates, order)
    rb = _blocks(p["recurrent_bias"], gates, order) if "recurrent_bias" in p else np.zeros_like(wb)
    return w, r, np.concatenate([wb, rb])[None]


def _recurrent(g, layer, inputs, op: str, gates: int, order, states: int, **attrs):
    name = layer.name
    w, r, b = _weights(layer, gates, order)
    x = g.op("Transpose", [inputs[0]], f"{name}/time_major", perm=[1, 0, 2])
    args = [x, g.weight(f"{name}.W", w), g.weight(f"{name}.R", r), g.weight(f"{name}.B", b), ""]
    zero_axis = g.ints(f"{name}/axis0", [0])
    for k in range(states):  # initial_h (and initial_c): (N, units) -> (1, N, units), or left out (zeros)
        given = inputs[1 + k] if len(inputs) > 1 + k else None
        args.append(g.op("Unsqueeze", [given, zero_axis], f"{name}/initial_{k}") if given else "")
    while args and args[-1] == "":
        args.pop()
    outs = g.op(op, args, f"{name}/{op.lower()}", outputs=2, hidden_size=layer.units, **attrs)
    if layer.return_sequences:  # Y (T, 1, N, H) -> (N, T, H)
        y = g.op("Squeeze", [outs[0], g.ints(f"{name}/axis1", [1])], f"{name}/steps")
        return g.op("Transpose", [y], name, perm=[1, 0, 2])
    return g.op("Squeeze", [outs[1], zero_axis], name)  # Y_h (1, N, H) -> (N, H)


@converter("lstm")
def _lstm(g, layer, inputs, info):
    return _recurrent(g, layer, inputs, "LSTM", 4, _LSTM_ORDER, states=2)


@converter("gru")
def _gru(g, layer, inputs, info):
    return _recurrent(g, layer, inputs, "GRU", 3, _GRU_ORDER, states=1, linear_before_reset=1)


@converter("simple_rnn")
def _simple_rnn(g, layer, inputs, info):
    act = layer.activation or "linear"
    if act == "linear":
        onnx_act, attrs = "Affine", {"activation_alpha": [1.0], "activation_beta": [0.0]}
    elif act in _RNN_ACTIVATIONS:
        onnx_act, alpha = _RNN_ACTIVATIONS[act]
        attrs = {} if alpha is None else {"activation_alpha": [alpha]}
    else:
        raise ExportError(
            f"layer '{layer.name}': ONNX's RNN has no {act!r} activation (use tanh, relu, sigmoid, "
            "softsign, softplus, elu, leaky_relu or linear)",
            layer.name,
        )
    return _recurrent(g, layer, inputs, "RNN", 1, (0,), states=1, activations=[onnx_act], **attrs)
