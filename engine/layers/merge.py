"""Merge layers: Add, Multiply and Concatenate join several inputs into one (branches, residuals)."""

from __future__ import annotations

import math

from ..ops.shape import concat
from .base import Layer, check_int

__all__ = ["Add", "Multiply", "Concatenate"]

_MAX = 64  # more inputs than this to one merge is surely a spec mistake


class _Elementwise(Layer):
    """Inputs of one shape combined element by element."""

    min_inputs = 2
    max_inputs = _MAX
    symbol = "?"

    def compute_output_shape(self, input_shape):
        first = input_shape[0]
        for i, shape in enumerate(input_shape[1:], start=1):
            if shape != first:
                raise self._shape_error(f"inputs of one shape, {first} like input 0", f"{shape}", index=i)
        return first

    def flops(self, input_shape):
        return math.prod(input_shape[0]) * (len(input_shape) - 1)


class Add(_Elementwise):
    """Sum of the inputs: (N, *s) each -> (N, *s). The merge of a residual connection."""

    type_name = "add"

    def forward(self, xs, training=False):
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        return y


class Multiply(_Elementwise):
    """Elementwise product of the inputs: (N, *s) each -> (N, *s) (gates, attention masks)."""

    type_name = "multiply"

    def forward(self, xs, training=False):
        y = xs[0]
        for x in xs[1:]:
            y = y * x
        return y


class Concatenate(Layer):
    """Join the inputs along a per-sample ``axis`` (0 is the first axis after the batch; -1 the last)."""

    type_name = "concatenate"
    min_inputs = 2
    max_inputs = _MAX

    def __init__(self, axis: int = -1, name: str | None = None, init=None, trainable: bool = True):
        super().__init__(name, init, trainable)
        self.axis = check_int(self, "axis", axis, minimum=-(2**31))

    def config(self):
        return {"axis": self.axis}

    def _axis(self, ndim, index):
        if not -ndim <= self.axis < ndim:
            raise self._shape_error(f"inputs with an axis {self.axis}", f"{ndim}-axis samples", index=index)
        return self.axis % ndim

    def compute_output_shape(self, input_shape):
        first = input_shape[0]
        axis = self._axis(len(first), 0)
        total = 0
        for i, shape in enumerate(input_shape):
            rest = shape[:axis] + shape[axis + 1 :] if len(shape) == len(first) else None
            if rest != first[:axis] + first[axis + 1 :]:
                raise self._shape_error(
                    f"inputs matching {first} except on axis {self.axis}", f"{shape}", index=i
                )
            total += shape[axis]
        return (*first[:axis], total, *first[axis + 1 :])

    def forward(self, xs, training=False):
        return concat(xs, axis=self._axis(xs[0].ndim - 1, 0) + 1)
