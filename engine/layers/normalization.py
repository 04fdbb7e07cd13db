"""Normalisation layers: BatchNorm (per channel, running statistics as buffers) and LayerNorm."""

from __future__ import annotations

import math

from ..init import Constant
from ..ops.normalization import batch_norm, layer_norm
from ..ops.shape import reshape
from .base import Layer, LayerError, _label, check_rate

__all__ = ["BatchNorm", "LayerNorm"]


def _check_eps(layer, value):
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < 1:
        raise LayerError(
            f"Invalid value for `epsilon` in {_label(layer.name, type(layer).__name__)}. Expected a "
            f"number with 0 < value < 1. Received: {value!r}",
            layer.name,
        )
    return float(value)


class BatchNorm(Layer):
    """Batch normalisation per channel (axis 0 of each sample: features of (F,), channels of (C, ...)).

    In training, normalises with the batch's statistics and updates the buffers ``running_mean`` and
    ``running_var`` as ``r = (1 - momentum) r + momentum * batch``; at inference uses the buffers.
    Parameters ``gamma`` (scale, ones) and ``beta`` (shift, zeros) have shape (C,).
    """

    type_name = "batch_norm"
    name_prefix = "bn"

    def __init__(
        self,
        momentum: float = 0.1,
        epsilon: float = 1e-5,
        name: str | None = None,
        init=None,
        trainable: bool = True,
    ):
        super().__init__(name, init, trainable)
        self.momentum = check_rate(self, "momentum", momentum, high_inclusive=True)
        self.epsilon = _check_eps(self, epsilon)

    def config(self):
        return {"momentum": self.momentum, "epsilon": self.epsilon}

    def compute_output_shape(self, input_shape):
        if not 1 <= len(input_shape) <= 3:
            raise self._shape_error(
                "samples of shape (features,), (channels, length) or (channels, height, width)",
                f"shape {tuple(input_shape)}",
            )
        return tuple(input_shape)

    def param_shapes(self, input_shape):
        return {"gamma": (input_shape[0],), "beta": (input_shape[0],)}

    def buffer_init(self, input_shape):
        return {"running_mean": ((input_shape[0],), 0.0), "running_var": ((input_shape[0],), 1.0)}

    def default_initialisers(self):
        return {"gamma": Constant(1.0), "beta": Constant(0.0)}

    def flops(self, input_shape):
        return 4 * math.prod(input_shape)

    def forward(self, x, training=False):
        shape = x.shape
        if x.ndim == 3:  # (N, C, L): the op takes (N, C) or (N, C, H, W)
            x = reshape(x, (*shape, 1))
        y = batch_norm(
            x,
            self.parameters["gamma"],
            self.parameters["beta"],
            self.buffers["running_mean"],
            self.buffers["running_var"],
            training,
            self.momentum,
            self.epsilon,
        )
        return reshape(y, shape) if len(shape) == 3 else y


class LayerNorm(Layer):
    """Layer normalisation over the last axis of each sample; ``gamma`` and ``beta`` of shape (D,)."""

    type_name = "layer_norm"
    name_prefix = "ln"

    def __init__(self, epsilon: float = 1e-5, name: str | None = None, init=None, trainable: bool = True):
        super().__init__(name, init, trainable)
        self.epsilon = _check_eps(self, epsilon)

    def config(self):
        return {"epsilon": self.epsilon}

    def compute_output_shape(self, input_shape):
        if len(input_shape) == 0:
            raise self._shape_error("samples with at least one axis", "a scalar per sample")
        return tuple(input_shape)

    def param_shapes(self, input_shape):
        return {"gamma": (input_shape[-1],), "beta": (input_shape[-1],)}

    def default_initialisers(self):
        return {"gamma": Constant(1.0), "beta": Constant(0.0)}

    def flops(self, input_shape):
        return 6 * math.prod(input_shape)

    def forward(self, x, training=False):
        return layer_norm(x, self.parameters["gamma"], self.parameters["beta"], axes=-1, eps=self.epsilon)
