"""Tensor's arithmetic operators and the method forms of common ops, attached from the ops side.

As Chainer attaches ``Variable.__add__`` from its functions package, the core class
(:class:`engine.autodiff.Tensor`) never imports the ops built on it: ``engine.ops`` imports this module,
and importing anything in ``engine`` imports ``engine.ops``, so every Tensor has these methods.
"""

from __future__ import annotations

from ..autodiff.tensor import Tensor
from . import linalg, math, reductions, shape

__all__ = ["attach"]


def _add(self, other):
    return math.add(self, other)


def _radd(self, other):
    return math.add(other, self)


def _sub(self, other):
    return math.sub(self, other)


def _rsub(self, other):
    return math.sub(other, self)


def _mul(self, other):
    return math.mul(self, other)


def _rmul(self, other):
    return math.mul(other, self)


def _truediv(self, other):
    return math.div(self, other)


def _rtruediv(self, other):
    return math.div(other, self)


def _pow(self, other):
    return math.pow(self, other)


def _rpow(self, other):
    return math.pow(other, self)


def _neg(self):
    return math.neg(self)


def _abs(self):
    return math.abs(self)


def _matmul(self, other):
    return linalg.matmul(self, other)


def _rmatmul(self, other):
    return linalg.matmul(other, self)


def _getitem(self, index):
    return shape.getitem(self, index)


def _astype(self, dtype) -> Tensor:
    """A copy cast to ``dtype`` (differentiable between floating dtypes)."""
    return math.astype(self, dtype)


def _sum(self, axis=None, keepdims=False):
    """Sum over ``axis`` (all axes by default); see :func:`engine.ops.sum`."""
    return reductions.sum(self, axis=axis, keepdims=keepdims)


def _mean(self, axis=None, keepdims=False):
    """Mean over ``axis`` (all axes by default); see :func:`engine.ops.mean`."""
    return reductions.mean(self, axis=axis, keepdims=keepdims)


def _max(self, axis=None, keepdims=False):
    """Maximum over ``axis``; see :func:`engine.ops.max`."""
    return reductions.max(self, axis=axis, keepdims=keepdims)


def _min(self, axis=None, keepdims=False):
    """Minimum over ``axis``; see :func:`engine.ops.min`."""
    return reductions.min(self, axis=axis, keepdims=keepdims)


def _reshape(self, *new_shape):
    """``t.reshape(2, 3)`` or ``t.reshape((2, 3))``; see :func:`engine.ops.reshape`."""
    if len(new_shape) == 1 and isinstance(new_shape[0], tuple | list):
        new_shape = tuple(new_shape[0])
    return shape.reshape(self, new_shape)


def _transpose(self, *axes):
    """``t.transpose(1, 0)``, ``t.transpose((1, 0))`` or reversed axes; see :func:`engine.ops.transpose`."""
    if len(axes) == 1 and isinstance(axes[0], tuple | list):
        axes = tuple(axes[0])
    return shape.transpose(self, axes or None)


def _T(self):
    """The tensor with its axes reversed."""
    return shape.transpose(self)


def _exp(self):
    return math.exp(self)


def _log(self):
    return math.log(self)


_METHODS = {
    "__add__": _add,
    "__radd__": _radd,
    "__sub__": _sub,
    "__rsub__": _rsub,
    "__mul__": _mul,
    "__rmul__": _rmul,
    "__truediv__": _truediv,
    "__rtruediv__": _rtruediv,
    "__pow__": _pow,
    "__rpow__": _rpow,
    "__neg__": _neg,
    "__abs__": _abs,
    "__matmul__": _matmul,
    "__rmatmul__": _rmatmul,
    "__getitem__": _getitem,
    "astype": _astype,
    "sum": _sum,
    "mean": _mean,
    "max": _max,
    "min": _min,
    "reshape": _reshape,
    "transpose": _transpose,
    "T": property(_T),
    "exp": _exp,
    "log": _log,
}


def attach() -> None:
    """Give :class:`~engine.autodiff.Tensor` its operators and op methods (idempotent)."""
    for name, method in _METHODS.items():
        setattr(Tensor, name, method)


attach()
