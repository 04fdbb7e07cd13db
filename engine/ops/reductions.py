"""Reductions over axes (sum, mean, max, min, var, logsumexp, argmax) and their broadcasting partners."""

from __future__ import annotations

import builtins

import numpy as np

from ..autodiff.errors import ShapeError
from ..autodiff.function import Function
from ..autodiff.tensor import Tensor
from .broadcast import broadcast_to, sum_to
from .math import exp, sqrt
from .shape import reshape

__all__ = [
    "sum",
    "mean",
    "max",
    "min",
    "var",
    "std",
    "logsumexp",
    "argmax",
    "argmin",
    "sum_to",
    "broadcast_to",
]


def _normalize_axes(axis, ndim, op):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ShapeError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimension(s)")
        out.append(int(a) % builtins.max(ndim, 1))
    return tuple(sorted(set(out)))


def _keepdims_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    def __init__(self, axes, keepdims):
        super().__init__()
        self.axes, self.keepdims = axes, keepdims

    def forward(self, xp, x):
        if x.ndim == 2 and self.axes == (0,) and x.shape[1] <= 64 and x.shape[0] > 256:
            # Summing down a short inner axis is far slower than a GEMV on this machine.
            out = xp.ones(x.shape[0], dtype=x.dtype) @ x
            return out.reshape(1, -1) if self.keepdims else out
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        x = self.inputs[0]
        if not self.keepdims:
            g = reshape_(g, _keepdims_shape(x.shape, self.axes))
        return (broadcast_to(g, x.shape),)


class _Select(Function):
    """max/min: the gradient goes to the selected elements, split evenly between ties."""

    retain_outputs = True

    def __init__(self, axes, keepdims):
        super().__init__()
        self.axes, self.keepdims = axes, keepdims

    def backward(self, g):
        x = self.inputs[0]
        y = self.output().data
        kshape = _keepdims_shape(x.shape, self.axes)
        y = y.reshape(kshape)
        mask = (x.data == y).astype(x.dtype)
        mask /= mask.sum(axis=self.axes, keepdims=True)
        if not self.keepdims:
            g = reshape_(g, kshape)
        return (broadcast_to(g, x.shape) * Tensor(mask),)


class Max(_Select):
    def forward(self, xp, x):
        return x.max(axis=self.axes, keepdims=self.keepdims)


class Min(_Select):
    def forward(self, xp, x):
        return x.min(axis=self.axes, keepdims=self.keepdims)


class LogSumExp(Function):
    retain_outputs = True

    def __init__(self, axes, keepdims):
        super().__init__()
        self.axes, self.keepdims = axes, keepdims

    def forward(self, xp, x):
        m = x.max(axis=self.axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        y = xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True)) + m
        return y if self.keepdims else y.reshape([s for i, s in enumerate(x.shape) if i not in self.axes])

    def backward(self, g):
        x = self.inputs[0]
        kshape = _keepdims_shape(x.shape, self.axes)
        y = reshape_(self.output(), kshape)
        if not self.keepdims:
            g = reshape_(g, kshape)
        return (g * exp(x - y),)


def reshape_(x, shape):
    return reshape(x, shape)


# ---------------------------------------------------------------------- functional wrappers
def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (an int, a tuple, or None for all axes)."""
    return Sum(_normalize_axes(axis, x.ndim, "sum"), keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``."""
    axes = _normalize_axes(axis, x.ndim, "mean")
    n = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    if n == 0:
        raise ShapeError(f"mean: reducing over an empty axis of a tensor with shape {x.shape}")
    return Sum(axes, keepdims)(x) * (1.0 / n)


def max(x, axis=None, keepdims=False):
    """Maximum over ``axis``; ties share the gradient equally."""
    return Max(_normalize_axes(axis, x.ndim, "max"), keepdims)(x)


def min(x, axis=None, keepdims=False):
    """Minimum over ``axis``; ties share the gradient equally."""
    return Min(_normalize_axes(axis, x.ndim, "min"), keepdims)(x)


def var(x, axis=None, keepdims=False, ddof=0):
    """Variance over ``axis`` (``ddof`` = delta degrees of freedom, as numpy)."""
    axes = _normalize_axes(axis, x.ndim, "var")
    n = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    if n - ddof <= 0:
        raise ShapeError(
            f"var: {n} element(s) over axis {axis} with ddof={ddof} of a tensor with shape {x.shape}"
        )
    centred = x - mean(x, axis=axes, keepdims=True)
    return Sum(axes, keepdims)(centred * centred) * (1.0 / (n - ddof))


def std(x, axis=None, keepdims=False, ddof=0):
    """Standard deviation over ``axis``."""
    return sqrt(var(x, axis, keepdims, ddof))


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis``, computed stably (shifted by the maximum)."""
    return LogSumExp(_normalize_axes(axis, x.ndim, "logsumexp"), keepdims)(x)


def argmax(x, axis=None):
    """Indices of the maxima (int64, no gradient)."""
    data = x.data if isinstance(x, Tensor) else x
    return Tensor(data.argmax(axis=axis))


def argmin(x, axis=None):
    """Indices of the minima (int64, no gradient)."""
    data = x.data if isinstance(x, Tensor) else x
    return Tensor(data.argmin(axis=axis))
