"""Broadcasting and its gradient: ``broadcast_to`` and ``sum_to``, each the other's backward.

The base the other op families build on (elementwise ops sum their gradients back to an input's shape),
so it imports no other op module.
"""

from __future__ import annotations

from ..autodiff.errors import ShapeError
from ..autodiff.function import Function

__all__ = ["SumTo", "BroadcastTo", "sum_to", "broadcast_to"]


class SumTo(Function):
    """Sum a broadcast array back down to ``shape`` (the gradient of broadcasting)."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, xp, x):
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, s in enumerate(self.shape) if s == 1 and x.shape[i + lead] != 1
        )
        if x.ndim == 2 and axes == (0,) and x.shape[0] > 256:
            y = xp.ones(x.shape[0], dtype=x.dtype) @ x
        else:
            y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(self.shape)

    def backward(self, g):
        return (broadcast_to(g, self.inputs[0].shape),)


class BroadcastTo(Function):
    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, xp, x):
        try:
            return xp.broadcast_to(x, self.shape)
        except ValueError:
            raise ShapeError(f"broadcast_to: cannot broadcast shape {x.shape} to {self.shape}") from None

    def backward(self, g):
        return (sum_to(g, self.inputs[0].shape),)


def sum_to(x, shape):
    """Sum ``x`` down to ``shape`` (the inverse of broadcasting)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)


def broadcast_to(x, shape):
    """Broadcast ``x`` to ``shape`` (a read-only view; gradients are summed back)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return BroadcastTo(shape)(x)
