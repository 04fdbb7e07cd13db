"""Recurrent layers with true recurrence over time: SimpleRNN, LSTM, GRU.

Samples are sequences (T, F); the output is the last hidden state (units,) or, with
``return_sequences=True``, every step's state (T, units). An initial state may be given as extra inputs
(in a graph: a second input of shape (units,); for LSTM a third for the cell state); it is zero otherwise.

LSTM and GRU run as one fused op each (``engine.ops.lstm`` / ``engine.ops.gru``: one GEMM for the input
projection of all steps, one per step for the recurrent product, backpropagation through time inside);
SimpleRNN is composed of engine ops, also with one input GEMM for the whole sequence.

Gate layouts (columns of ``weights`` (F, k*units), ``recurrent_weights`` (units, k*units),
``bias`` (k*units,)):

- SimpleRNN: ``h_t = act(x_t W + h_{t-1} U + b)``.
- LSTM, gates [i, f, g, o]: ``i, f, o = sigmoid(.)``, ``g = tanh(.)``, ``c_t = f c_{t-1} + i g``,
  ``h_t = o tanh(c_t)``; the forget-gate bias starts at 1.
- GRU, gates [r, z, n] with a separate ``recurrent_bias`` (the cuDNN/PyTorch form):
  ``r, z = sigmoid(x W_{r,z} + b_{r,z} + h U_{r,z} + rb_{r,z})``,
  ``n = tanh(x W_n + b_n + r * (h U_n + rb_n))``, ``h_t = (1 - z) n + z h_{t-1}``.
"""

from __future__ import annotations

import numpy as np

from ..init import Constant, Initialiser, Orthogonal, XavierUniform
from ..ops.linalg import matmul
from ..ops.recurrent import gru, lstm
from ..ops.shape import reshape, split, stack
from .base import Layer, check_choice, check_int
from .core import apply_activation, check_activation

__all__ = ["SimpleRNN", "LSTM", "GRU"]


class _ForgetBias(Initialiser):
    """Zeros, with ones on the forget gate's slice [units, 2*units) (Jozefowicz et al., 2015)."""

    def __init__(self, units):
        self.units = units

    def draw(self, shape, rng, fan_in, fan_out):
        out = np.zeros(shape)
        out[self.units : 2 * self.units] = 1.0
        return out


class _Recurrent(Layer):
    gates = 1
    max_inputs = 2

    def __init__(self, units, return_sequences=False, name=None, init=None, trainable=True):
        super().__init__(name, init, trainable)
        self.units = check_int(self, "units", units)
        self.return_sequences = check_choice(self, "return_sequences", return_sequences, [True, False])

    def config(self):
        return {"units": self.units, "return_sequences": self.return_sequences}

    def compute_output_shape(self, input_shape):
        x = input_shape[0]
        if len(x) != 2:
            raise self._shape_error(
                "sequences of shape (steps, features)",
                f"shape {x}",
                hint="add a Reshape or Embedding layer first" if len(x) < 2 else "",
            )
        for i, s in enumerate(input_shape[1:], start=1):
            if s != (self.units,):
                raise self._shape_error(
                    f"an initial state of shape ({self.units},) as input {i}", f"shape {s}", index=i
                )
        return (x[0], self.units) if self.return_sequences else (self.units,)

    def param_shapes(self, input_shape):
        k = self.gates * self.units
        return {"weights": (input_shape[0][1], k), "recurrent_weights": (self.units, k), "bias": (k,)}

    def default_initialisers(self):
        return {"weights": XavierUniform(), "recurrent_weights": Orthogonal(), "bias": Constant(0.0)}

    def fans(self, input_shape):
        k = self.gates * self.units
        return {"weights": (input_shape[0][1], k), "recurrent_weights": (self.units, k)}

    def flops(self, input_shape):
        steps, features = input_shape[0]
        k = self.gates * self.units
        return steps * (2 * features * k + 2 * self.units * k + 8 * k)

    def _steps(self, x):
        """Input projections of all steps with one GEMM: a list of T tensors (N, k*units)."""
        n, t, f = x.shape
        xw = matmul(reshape(x, (n * t, f)), self.parameters["weights"]) + self.parameters["bias"]
        xw = reshape(xw, (n, t, self.gates * self.units))
        return (
            [reshape(s, (n, self.gates * self.units)) for s in split(xw, t, axis=1)]
            if t > 1
            else [reshape(xw, (n, self.gates * self.units))]
        )

    def _initial(self, xs, index, like):
        if len(xs) > index:
            return xs[index]
        from ..autodiff.tensor import Tensor

        return Tensor(like.xp.zeros((like.shape[0], self.units), dtype=like.dtype))

    def _finish(self, hs):
        return stack(hs, axis=1) if self.return_sequences else hs[-1]


class SimpleRNN(_Recurrent):
    """Elman recurrence ``h_t = activation(x_t W + h_{t-1} U + b)``: (T, F) -> (units,) or (T, units)."""

    type_name = "simple_rnn"
    name_prefix = "rnn"

    def __init__(
        self,
        units: int,
        activation: str = "tanh",
        return_sequences: bool = False,
        name: str | None = None,
        init=None,
        trainable: bool = True,
    ):
        super().__init__(units, return_sequences, name, init, trainable)
        self.activation = check_activation(self, activation)

    def config(self):
        return {"units": self.units, "activation": self.activation, "return_sequences": self.return_sequences}

    def forward(self, xs, training=False):
        x = xs[0]
        h = self._initial(xs, 1, x)
        u = self.parameters["recurrent_weights"]
        hs = []
        for xw in self._steps(x):
            h = apply_activation(self.activation, xw + matmul(h, u))
            hs.append(h)
        return self._finish(hs)


class LSTM(_Recurrent):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997): (T, F) -> (units,) or (T, units).

    Optional inputs 2 and 3: initial hidden and cell states (units,).
    """

    type_name = "lstm"
    gates = 4
    max_inputs = 3

    def __init__(
        self,
        units: int,
        return_sequences: bool = False,
        name: str | None = None,
        init=None,
        trainable: bool = True,
    ):
        super().__init__(units, return_sequences, name, init, trainable)

    def default_initialisers(self):
        return {**super().default_initialisers(), "bias": _ForgetBias(self.units)}

    def forward(self, xs, training=False):
        x = xs[0]
        p = self.parameters
        hs, h, _ = lstm(
            x,
            self._initial(xs, 1, x),
            self._initial(xs, 2, x),
            p["weights"],
            p["recurrent_weights"],
            p["bias"],
        )
        return hs if self.return_sequences else h


class GRU(_Recurrent):
    """Gated recurrent unit (Cho et al., 2014), reset applied after the recurrent product:
    (T, F) -> (units,) or (T, units). Optional input 2: the initial state (units,)."""

    type_name = "gru"
    gates = 3

    def __init__(
        self,
        units: int,
        return_sequences: bool = False,
        name: str | None = None,
        init=None,
        trainable: bool = True,
    ):
        super().__init__(units, return_sequences, name, init, trainable)

    def param_shapes(self, input_shape):
        return {**super().param_shapes(input_shape), "recurrent_bias": (3 * self.units,)}

    def default_initialisers(self):
        return {**super().default_initialisers(), "recurrent_bias": Constant(0.0)}

    def forward(self, xs, training=False):
        x = xs[0]
        p = self.parameters
        hs, h = gru(
            x, self._initial(xs, 1, x), p["weights"], p["recurrent_weights"], p["bias"], p["recurrent_bias"]
        )
        return hs if self.return_sequences else h
