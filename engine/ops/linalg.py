"""Matrix products."""

from __future__ import annotations

from ..autodiff.errors import ShapeError
from ..autodiff.function import Function
from .reductions import sum_to
from .shape import reshape, swapaxes

__all__ = ["matmul", "linear"]


class MatMul(Function):
    """Batched matrix product of operands with at least two dimensions (batch axes broadcast)."""

    def forward(self, xp, a, b):
        if a.shape[-1] != b.shape[-2]:
            raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} do not align ({a.shape[-1]} != {b.shape[-2]})")
        return a @ b

    def backward(self, g):
        a, b = self.inputs
        ga = gb = None
        if a.requires_grad:
            ga = matmul(g, swapaxes(b, -1, -2))
            if ga.shape != a.shape:
                ga = sum_to(ga, a.shape)
        if b.requires_grad:
            gb = matmul(swapaxes(a, -1, -2), g)
            if gb.shape != b.shape:
                gb = sum_to(gb, b.shape)
        return ga, gb


def matmul(a, b):
    """Matrix product as ``numpy.matmul``: (..., n, k) @ (..., k, m) -> (..., n, m); 1-D operands are
    treated as a row (left) or a column (right) and that axis is dropped from the result."""
    from ..autodiff.function import _as_tensors

    a, b = _as_tensors((a, b))
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: operands must have at least one dimension, got shapes {a.shape} and {b.shape}")
    squeeze_a = a.ndim == 1
    squeeze_b = b.ndim == 1
    if squeeze_a:
        a = reshape(a, (1, a.shape[0]))
    if squeeze_b:
        b = reshape(b, (b.shape[0], 1))
    y = MatMul()(a, b)
    if squeeze_a or squeeze_b:
        shape = list(y.shape)
        if squeeze_b:
            shape.pop(-1)
        if squeeze_a:
            shape.pop(-1 if squeeze_b else -2)
        y = reshape(y, tuple(shape))
    return y


def linear(x, weight, bias=None):
    """Affine map ``x @ weight + bias``: x (N, in), weight (in, out), bias (out,) -> (N, out)."""
    y = matmul(x, weight)
    if bias is not None:
        y = y + bias
    return y
