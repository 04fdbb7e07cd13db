"""Core layers: Input, Dense, Flatten, Reshape, Activation, Dropout."""

from __future__ import annotations

import math

import numpy as np

from ..init import Constant, HeUniform, LeCunNormal, XavierUniform
from ..ops import activations as act
from ..ops.dropout import dropout
from ..ops.linalg import linear
from ..ops.periodic import sin
from ..ops.shape import reshape
from .base import Layer, check_choice, check_int, check_rate, check_shape

__all__ = ["Input", "Dense", "Flatten", "Reshape", "Activation", "Dropout", "ACTIVATIONS", "apply_activation"]

#: Activation names a spec may use, and the op behind each (None: identity).
ACTIVATIONS = {
    "linear": None,
    "relu": act.relu,
    "leaky_relu": act.leaky_relu,
    "elu": act.elu,
    "selu": act.selu,
    "gelu": act.gelu,
    "sigmoid": act.sigmoid,
    "tanh": act.tanh,
    "softplus": act.softplus,
    "softsign": act.softsign,
    "sine": sin,
    "softmax": act.softmax,
    "log_softmax": act.log_softmax,
}
_RELU_LIKE = {"relu", "leaky_relu", "elu", "gelu"}


def check_activation(layer, value):
    """An activation name (None means linear)."""
    return check_choice(layer, "activation", value, [None, *ACTIVATIONS])


def apply_activation(name, x):
    """``x`` through the named activation (identity for None or 'linear')."""
    fn = ACTIVATIONS.get(name) if name else None
    return x if fn is None else fn(x)


def activation_flops(name, size):
    """Rough cost of an activation over ``size`` elements (1 for relu, 4 for transcendental ones)."""
    if name in (None, "linear"):
        return 0
    return size * (1 if name in ("relu", "leaky_relu") else 4)


def weights_default(activation):
    """The weight initialiser that suits an activation: He for ReLU-like, LeCun for SELU, else Xavier."""
    if activation in _RELU_LIKE:
        return HeUniform()
    if activation == "selu":
        return LeCunNormal()
    return XavierUniform()


class Input(Layer):
    """The entry point of a network: declares the per-sample shape of one input.

    Parameters
    ----------
    shape : tuple of int
        Per-sample shape, e.g. ``(28, 28)`` for images or ``(20,)`` for sequences of 20 indices.
    dtype : {"float", "int"}
        ``"float"`` inputs are cast to the network's compute dtype; ``"int"`` inputs (class or token
        indices for Embedding) are kept as int64.
    """

    type_name = "input"
    min_inputs = 0
    max_inputs = 0

    def __init__(
        self, shape, dtype: str = "float", name: str | None = None, init=None, trainable: bool = True
    ):
        super().__init__(name, init, trainable)
        self.shape = check_shape(self, "shape", shape)
        self.dtype = check_choice(self, "dtype", dtype, ["float", "int"])

    def config(self):
        return {"shape": list(self.shape), "dtype": self.dtype}

    def _normalise_shape(self, input_shape):
        return ()

    def compute_output_shape(self, input_shape=None):
        return self.shape

    def forward(self, x, training=False):
        return x


class Dense(Layer):
    """Fully connected layer ``activation(x @ weights + bias)`` over the last axis.

    Shapes: (N, ..., in) -> (N, ..., units); weights (in, units), bias (units,).
    """

    type_name = "dense"

    def __init__(
        self,
        units: int,
        activation: str | None = None,
        use_bias: bool = True,
        name: str | None = None,
        init=None,
        trainable: bool = True,
    ):
        super().__init__(name, init, trainable)
        self.units = check_int(self, "units", units)
        self.activation = check_activation(self, activation)
        self.use_bias = check_choice(self, "use_bias", use_bias, [True, False])

    def config(self):
        return {"units": self.units, "activation": self.activation, "use_bias": self.use_bias}

    def compute_output_shape(self, input_shape):
        if len(input_shape) == 0:
            raise self._shape_error("an input with at least one axis", "a scalar per sample")
        return (*input_shape[:-1], self.units)

    def param_shapes(self, input_shape):
        shapes = {"weights": (input_shape[-1], self.units)}
        if self.use_bias:
            shapes["bias"] = (self.units,)
        return shapes

    def default_initialisers(self):
        return {"weights": weights_default(self.activation), "bias": Constant(0.0)}

    def fans(self, input_shape):
        return {"weights": (input_shape[-1], self.units)}

    def flops(self, input_shape):
        rows = math.prod(input_shape[:-1])
        return rows * (2 * input_shape[-1] * self.units + self.units * self.use_bias) + activation_flops(
            self.activation, rows * self.units
        )

    def forward(self, x, training=False):
        lead = x.shape[:-1]
        flat = reshape(x, (-1, x.shape[-1])) if x.ndim != 2 else x
        # One fused node (GEMM for every leading axis, bias and ReLU in place); other activations after.
        fused = "relu" if self.activation == "relu" else None
        bias = self.parameters["bias"] if self.use_bias else None
        y = linear(flat, self.parameters["weights"], bias, fused)
        if x.ndim != 2:
            y = reshape(y, (*lead, self.units))
        return y if fused else apply_activation(self.activation, y)


class Flatten(Layer):
    """Merge all per-sample axes into one: (N, a, b, ...) -> (N, a*b*...)."""

    type_name = "flatten"
    input_kind = "any"

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, x, training=False):
        return reshape(x, (x.shape[0], -1))


class Reshape(Layer):
    """Give each sample a new shape with the same number of elements (one axis may be -1)."""

    type_name = "reshape"
    input_kind = "any"

    def __init__(self, target_shape, name: str | None = None, init=None, trainable: bool = True):
        super().__init__(name, init, trainable)
        self.target_shape = check_shape(self, "target_shape", target_shape, allow_minus_one=True)

    def config(self):
        return {"target_shape": list(self.target_shape)}

    def compute_output_shape(self, input_shape):
        size = math.prod(input_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                raise self._shape_error(
                    f"a size divisible by {known} to reshape to {self.target_shape}",
                    f"shape {tuple(input_shape)} ({size} elements)",
                )
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if size != known:
            raise self._shape_error(
                f"{known} elements to reshape to {self.target_shape}",
                f"shape {tuple(input_shape)} ({size} elements)",
            )
        return self.target_shape

    def forward(self, x, training=False):
        return reshape(x, (x.shape[0], *self.target_shape))


class Activation(Layer):
    """An activation function as a layer of its own (``relu``, ``tanh``, ``softmax``, ...)."""

    type_name = "activation"

    def __init__(self, activation: str, name: str | None = None, init=None, trainable: bool = True):
        super().__init__(name, init, trainable)
        self.activation = check_choice(self, "activation", activation, list(ACTIVATIONS))

    def config(self):
        return {"activation": self.activation}

    def flops(self, input_shape):
        return activation_flops(self.activation, math.prod(input_shape))

    def forward(self, x, training=False):
        return apply_activation(self.activation, x)

    def forward_pre_activation(self, x, training=False):
        """The input unchanged (a network folds a ReLU into the next max pooling)."""
        return x


class Dropout(Layer):
    """Inverted dropout: in training, zero each element with probability ``rate`` and scale the rest by
    ``1 / (1 - rate)``; the identity at inference. Masks come from the layer's ``rng`` (the network's)."""

    type_name = "dropout"

    def __init__(self, rate: float, name: str | None = None, init=None, trainable: bool = True):
        super().__init__(name, init, trainable)
        self.rate = check_rate(self, "rate", rate)

    def config(self):
        return {"rate": self.rate}

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            return x
        if self.rng is None:
            self.rng = np.random.default_rng()
        return dropout(x, self.rate, training, self.rng)
