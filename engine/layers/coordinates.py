"""Layers for coordinate networks (a picture, a signal or a field learned as a function of position).

A plain ReLU network fed raw ``(x, y)`` learns only the low frequencies of an image: it paints a blur.
Two remedies, both here:

- :class:`FourierFeatures` (Tancik et al. 2020, "Fourier Features Let Networks Learn High Frequency
  Functions in Low Dimensional Domains") maps coordinates through fixed sinusoids first.
- :class:`Siren` (Sitzmann et al. 2020, "Implicit Neural Representations with Periodic Activation
  Functions") uses ``sin`` as the activation with an initialisation that keeps it well behaved.
"""

from __future__ import annotations

import math

import numpy as np

from ..init import LeCunUniform, SirenUniform
from ..ops.linalg import linear, matmul
from ..ops.periodic import cos, sin
from ..ops.shape import concat, reshape
from .arguments import _label
from .base import Layer, LayerError, check_choice, check_int
from .core import activation_flops

__all__ = ["FourierFeatures", "Siren"]

#: Largest ``features`` of a Gaussian mapping (the projection is allocated from the spec).
MAX_FEATURES = 8192
#: Largest ``frequencies`` of a positional encoding: 2^15 cycles per unit is beyond float32 resolution.
MAX_FREQUENCIES = 16


def _check_positive(layer, arg, value):
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not ok:
        raise LayerError(
            f"Invalid value for `{arg}` in {_label(layer.name, type(layer).__name__)}. "
            f"Expected a positive finite number. Received: {value!r}",
            layer.name,
        )
    return float(value)


class FourierFeatures(Layer):
    """Map coordinates to ``[sin(x P), cos(x P)]`` with a fixed projection ``P``.

    Shapes: (N, ..., d) -> (N, ..., 2 m) (plus d when ``include_input``); ``P`` is (d, m).

    Parameters
    ----------
    mode : {"gaussian", "positional"}
        ``"gaussian"``: ``P = 2 pi B`` with ``B`` drawn once from ``N(0, scale^2)``, ``m = features``.
        ``"positional"``: the deterministic encoding ``sin(2^k pi x_j)``, ``cos(2^k pi x_j)`` for every
        input axis ``j`` and ``k = 0 .. frequencies - 1`` (NeRF's), ``m = d * frequencies``.
    features : int
        Number of random frequencies (``"gaussian"``).
    scale : float
        Standard deviation of the random frequencies, in cycles per unit of input (``"gaussian"``). For
        inputs in [-1, 1], about the highest frequency of the signal to learn: 10 suits a 128 px image.
    frequencies : int
        Number of octaves (``"positional"``), at most 16.
    include_input : bool
        Also pass the coordinates themselves through (first, before the sines).
    seed : int
        Seed of the Gaussian draw, so the projection follows from the spec alone.

    Notes
    -----
    ``P`` is a buffer named ``projection``: saved in checkpoints and exported, never trained.
    """

    type_name = "fourier_features"

    def __init__(
        self,
        mode: str = "gaussian",
        features: int = 256,
        scale: float = 10.0,
        frequencies: int = 8,
        include_input: bool = False,
        seed: int = 0,
        name: str | None = None,
        init=None,
        trainable: bool = True,
    ):
        super().__init__(name, init, trainable)
        self.mode = check_choice(self, "mode", mode, ["gaussian", "positional"])
        self.features = check_int(self, "features", features)
        if self.features > MAX_FEATURES:
            raise LayerError(
                f"Invalid value for `features` in {_label(name, type(self).__name__)}. Expected at most "
                f"{MAX_FEATURES}. Received: {features!r}",
                name,
            )
        self.scale = _check_positive(self, "scale", scale)
        self.frequencies = check_int(self, "frequencies", frequencies)
        if self.frequencies > MAX_FREQUENCIES:
            raise LayerError(
                f"Invalid value for `frequencies` in {_label(name, type(self).__name__)}. Expected at "
                f"most {MAX_FREQUENCIES}. Received: {frequencies!r}",
                name,
            )
        self.include_input = check_choice(self, "include_input", include_input, [True, False])
        self.seed = check_int(self, "seed", seed, minimum=0)

    def config(self):
        return {
            "mode": self.mode,
            "features": self.features,
            "scale": self.scale,
            "frequencies": self.frequencies,
            "include_input": self.include_input,
            "seed": self.seed,
        }

    def _width(self, d):
        return self.features if self.mode == "gaussian" else d * self.frequencies

    def compute_output_shape(self, input_shape):
        if len(input_shape) == 0:
            raise self._shape_error("coordinates on a last axis", "a scalar per sample")
        d = input_shape[-1]
        return (*input_shape[:-1], 2 * self._width(d) + (d if self.include_input else 0))

    def buffer_init(self, input_shape):
        return {"projection": ((input_shape[-1], self._width(input_shape[-1])), 0.0)}

    def projection(self, d: int) -> np.ndarray:
        """The float64 projection ``P`` (d, m), angular frequencies, that this spec gives ``d`` input axes."""
        if self.mode == "gaussian":
            rng = np.random.default_rng(self.seed)
            return 2.0 * math.pi * rng.normal(0.0, self.scale, (d, self.features))
        octaves = math.pi * 2.0 ** np.arange(self.frequencies)
        # axis j's octaves sit in columns j*L .. j*L + L - 1
        return np.kron(np.eye(d), octaves[None, :])

    def build(self, input_shape, rng=None, dtype=np.float32, backend=None):
        was_built = self.built
        super().build(input_shape, rng, dtype, backend)
        if not was_built:
            from ..backend import get_backend  # as Layer.build does

            values = self.projection(self.input_shape[-1]).astype(dtype)
            self.buffers["projection"] = get_backend(backend or "cpu").from_host(values)

    def flops(self, input_shape):
        rows = math.prod(input_shape[:-1])
        m = self._width(input_shape[-1])
        return rows * (2 * input_shape[-1] * m + activation_flops("sine", 2 * m))

    def forward(self, x, training=False):
        lead = x.shape[:-1]
        flat = reshape(x, (-1, x.shape[-1])) if x.ndim != 2 else x
        z = matmul(flat, self.buffers["projection"])
        parts = [sin(z), cos(z)]
        if self.include_input:
            parts.insert(0, flat)
        y = concat(parts, axis=-1)
        return reshape(y, (*lead, y.shape[-1])) if x.ndim != 2 else y


class Siren(Layer):
    """Sine layer ``sin(omega_0 (x W + b))`` with SIREN's initialisation.

    Shapes: (N, ..., in) -> (N, ..., units); weights (in, units), bias (units,).

    Parameters
    ----------
    units : int
    omega_0 : float
        Frequency factor: 30 in the paper, for inputs in [-1, 1].
    first : bool
        The first layer of a sine network (reads the coordinates): weights ``U(-1/in, 1/in)``. Hidden
        layers draw ``U(-sqrt(6/in)/omega_0, +...)``. Biases draw ``U(-1/sqrt(in), 1/sqrt(in))`` as in
        the paper's code.
    use_bias : bool
    """

    type_name = "siren"

    def __init__(
        self,
        units: int,
        omega_0: float = 30.0,
        first: bool = False,
        use_bias: bool = True,
        name: str | None = None,
        init=None,
        trainable: bool = True,
    ):
        super().__init__(name, init, trainable)
        self.units = check_int(self, "units", units)
        self.omega_0 = _check_positive(self, "omega_0", omega_0)
        self.first = check_choice(self, "first", first, [True, False])
        self.use_bias = check_choice(self, "use_bias", use_bias, [True, False])

    def config(self):
        return {"units": self.units, "omega_0": self.omega_0, "first": self.first, "use_bias": self.use_bias}

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
        # LeCun uniform at gain 1/sqrt(3) is U(-1/sqrt(in), 1/sqrt(in)), the paper code's bias.
        return {
            "weights": SirenUniform(self.omega_0, self.first),
            "bias": LeCunUniform(gain=1.0 / math.sqrt(3.0)),
        }

    def fans(self, input_shape):
        return {"weights": (input_shape[-1], self.units), "bias": (input_shape[-1], self.units)}

    def flops(self, input_shape):
        rows = math.prod(input_shape[:-1])
        return rows * (
            2 * input_shape[-1] * self.units + self.units * (1 + self.use_bias)
        ) + activation_flops("sine", rows * self.units)

    def forward(self, x, training=False):
        lead = x.shape[:-1]
        flat = reshape(x, (-1, x.shape[-1])) if x.ndim != 2 else x
        bias = self.parameters["bias"] if self.use_bias else None
        y = sin(linear(flat, self.parameters["weights"], bias), self.omega_0)
        return reshape(y, (*lead, self.units)) if x.ndim != 2 else y
