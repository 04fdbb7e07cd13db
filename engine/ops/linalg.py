"""Matrix products."""

from __future__ import annotations

import numpy as np

from ..autodiff.errors import ShapeError
from ..autodiff.function import Function, _as_tensors
from ..autodiff.graph import composite_gradients
from ..autodiff.mode import _state as _mode_state
from ..autodiff.tensor import Tensor, wrap
from ..parallel import MIN_ELEMENTS, split
from .activations import relu, relu_array
from .reductions import sum_to
from .shape import reshape, swapaxes

__all__ = ["matmul", "linear", "ones_row"]

#: Rows of ones by (length, dtype), for column sums written as ``ones @ g`` (a few KB in all).
_ONES_ROWS: dict = {}


def ones_row(xp, n: int, dtype):
    """A row of ``n`` ones: ``ones_row(xp, n, dtype) @ g`` is the column sum of ``g`` (n, m).

    Host rows are cached by (length, dtype) and shared, so never write into one; other array modules
    get a new row each call. The same bits as a fresh ``xp.ones(n, dtype) @ g`` (the same GEMV).
    """
    if xp is not np:
        return xp.ones(n, dtype=dtype)
    key = (n, dtype)
    row = _ONES_ROWS.get(key)
    if row is None:
        if len(_ONES_ROWS) > 64:  # batch sizes come and go (a last partial batch): stay small
            _ONES_ROWS.clear()
        row = _ONES_ROWS[key] = np.ones(n, dtype=dtype)
        row.flags.writeable = False
    return row


class MatMul(Function):
    """Batched matrix product of operands with at least two dimensions (batch axes broadcast)."""

    def forward(self, xp, a, b):
        if a.shape[-1] != b.shape[-2]:
            raise ShapeError(
                f"matmul: shapes {a.shape} and {b.shape} do not align ({a.shape[-1]} != {b.shape[-2]})"
            )
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
    a, b = _as_tensors((a, b))
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(
            f"matmul: operands must have at least one dimension, got shapes {a.shape} and {b.shape}"
        )
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


class Linear(Function):
    """``act(x @ W + b)`` as one node: x (N, in), W (in, out), b (out,) or absent, act None or "relu".

    One node instead of three (matmul, add, relu) saves graph bookkeeping and two temporaries per layer:
    the bias and the ReLU are applied in place on the GEMM's output. Backward works on raw arrays: the
    ReLU gradient multiplies by a boolean mask and the bias gradient is ``ones @ g`` (both much cheaper
    than masked copies and ``g.sum(axis=0)``, see shared/PERFORMANCE.md). When a graph of the backward
    is wanted (double backward) the gradient goes through the same formula written with engine ops.
    """

    def __init__(self, activation=None):
        super().__init__()
        self.activation = activation
        self.retain_outputs = activation == "relu"  # the ReLU mask comes from the output

    def forward(self, xp, x, w, b=None):
        if x.shape[-1] != w.shape[0]:
            raise ShapeError(
                f"linear: shapes {x.shape} and {w.shape} do not align ({x.shape[-1]} != {w.shape[0]})"
            )
        y = x @ w
        relu_ = self.activation == "relu"
        if y.size < MIN_ELEMENTS or xp is not np:  # too small to split (what split() would decide)
            if b is not None:
                y += b
            if relu_:
                relu_array(xp, y, out=y)
        elif b is not None or relu_:

            def finish(s):  # bias and ReLU in place, one batch part per core
                part = y[s]
                if b is not None:
                    part += b
                if relu_:
                    relu_array(xp, part, out=part)

            split(finish, y.shape[0], y.size, xp)
        return y

    def backward(self, g):
        if getattr(_mode_state, "enabled", True):  # is_grad_enabled(): a graph of this backward is wanted
            return composite_gradients(self._composite, self.inputs, (g,))
        inputs = self.inputs
        x, w = inputs[0], inputs[1]
        gz = g.data
        xp = np if type(gz) is np.ndarray else g.xp
        if self.activation == "relu":
            out = self._output_data[0]
            if gz.shape != out.shape:
                gz = xp.broadcast_to(gz, out.shape)
            if out.size < MIN_ELEMENTS or xp is not np:  # what split() would do, without its closure
                gz = xp.multiply(gz, out > 0)
            else:
                masked = xp.empty(out.shape, gz.dtype)
                split(lambda s: xp.multiply(gz[s], out[s] > 0, out=masked[s]), len(out), out.size, xp)
                gz = masked
        gx = wrap(gz @ w.data.T) if x.requires_grad else None
        gw = wrap(x.data.T @ gz) if w.requires_grad else None
        if len(inputs) == 2:
            return gx, gw
        gb = wrap(ones_row(xp, gz.shape[0], gz.dtype) @ gz) if inputs[2].requires_grad else None
        return gx, gw, gb

    def _composite(self, x, w, b=None):
        y = matmul(x, w)
        if b is not None:
            y = y + b
        if self.activation == "relu":
            y = relu(y)
        return y


def linear(x, weight, bias=None, activation=None):
    """Affine map ``x @ weight + bias``, optionally followed by ``activation``, as one graph node.

    Parameters
    ----------
    x : Tensor, shape (N, in)
    weight : Tensor, shape (in, out)
    bias : Tensor, shape (out,), optional
    activation : {None, "relu"}
        Fused into the same node (other activations: apply them to the result).

    Returns
    -------
    Tensor, shape (N, out)
    """
    if activation not in (None, "relu"):
        raise ValueError(
            f"linear: invalid value for `activation`. Expected None or 'relu'. Received: {activation!r}"
        )
    args = (x, weight) if bias is None else (x, weight, bias)
    if type(x) is not Tensor or type(weight) is not Tensor or (bias is not None and type(bias) is not Tensor):
        args = _as_tensors(args)
    xs, ws = args[0].data.shape, args[1].data.shape
    if len(xs) != 2 or len(ws) != 2 or (bias is not None and tuple(args[2].data.shape) != (ws[1],)):
        shapes = ", ".join(str(t.shape) for t in args)
        raise ShapeError(f"linear: expected x (N, in), weight (in, out) and bias (out,), got {shapes}")
    return Linear(activation)(*args)
