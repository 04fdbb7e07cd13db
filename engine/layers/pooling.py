"""Pooling layers on channels-first samples (C, H, W): MaxPool2D, AvgPool2D, GlobalAvgPool."""

from __future__ import annotations

import math

from ..ops.conv import make_geometry
from ..ops.pooling import avg_pool2d, global_avg_pool2d, max_pool2d, relu_max_pool2d
from .base import Layer, LayerError, _label, check_shape

__all__ = ["MaxPool2D", "AvgPool2D", "GlobalAvgPool"]


class _Pool2D(Layer):
    name_prefix = "pool"

    def __init__(
        self, pool_size=2, strides=None, padding=0, name: str | None = None, init=None, trainable: bool = True
    ):
        super().__init__(name, init, trainable)
        self.pool_size = check_shape(self, "pool_size", pool_size, length=2)
        self.strides = self.pool_size if strides is None else check_shape(self, "strides", strides, length=2)
        pads = (padding, padding) if isinstance(padding, int) and not isinstance(padding, bool) else padding
        ok = (
            isinstance(pads, list | tuple)
            and len(pads) == 2
            and all(
                isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= k // 2
                for p, k in zip(pads, self.pool_size)
            )
        )
        if not ok:
            raise LayerError(
                f"Invalid value for `padding` in {_label(name, type(self).__name__)}. Expected "
                f"non-negative integer(s) at most half of pool_size {self.pool_size}. Received: {padding!r}",
                name,
            )
        self.padding = tuple(pads)
        self._strides_given = strides is not None

    def config(self):
        return {
            "pool_size": list(self.pool_size),
            "strides": list(self.strides) if self._strides_given else None,
            "padding": list(self.padding),
        }

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise self._shape_error(
                "samples of shape (channels, height, width)", f"shape {tuple(input_shape)}"
            )
        try:
            geom = make_geometry(
                type(self).__name__, input_shape[1:], self.pool_size, self.strides, self.padding
            )
        except ValueError as exc:
            raise self._shape_error(
                f"an input of at least the pool size {self.pool_size}",
                f"spatial size {tuple(input_shape[1:])}",
                hint=str(exc),
            ) from None
        return (input_shape[0], *geom.output_hw(*input_shape[1:]))

    def flops(self, input_shape):
        return math.prod(self.compute_output_shape(input_shape)) * math.prod(self.pool_size)


class MaxPool2D(_Pool2D):
    """Maximum over windows: (C, H, W) -> (C, H_out, W_out); strides default to the pool size."""

    type_name = "max_pool2d"

    def forward(self, x, training=False):
        return max_pool2d(x, self.pool_size, self.strides, self.padding)

    def forward_after_relu(self, x, training=False):
        """``forward(relu(x))`` with the ReLU applied after pooling (same values and gradients)."""
        return relu_max_pool2d(x, self.pool_size, self.strides, self.padding)


class AvgPool2D(_Pool2D):
    """Mean over windows (zero padding counts): (C, H, W) -> (C, H_out, W_out)."""

    type_name = "avg_pool2d"

    def forward(self, x, training=False):
        return avg_pool2d(x, self.pool_size, self.strides, self.padding)


class GlobalAvgPool(Layer):
    """Mean over the spatial axes: (C, H, W) -> (C,)."""

    type_name = "global_avg_pool"
    name_prefix = "gap"

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise self._shape_error(
                "samples of shape (channels, height, width)", f"shape {tuple(input_shape)}"
            )
        return (input_shape[0],)

    def flops(self, input_shape):
        return math.prod(input_shape)

    def forward(self, x, training=False):
        return global_avg_pool2d(x)
