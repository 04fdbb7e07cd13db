"""The LSTM and GRU cells written with engine ops: one step, differentiable to any order.

The fused sequence ops in ``recurrent.py`` are the fast path; these cells are the reference they are
tested against and the graph their backward is taken through when gradients of gradients are wanted.
"""

from __future__ import annotations

from .activations import sigmoid, tanh
from .linalg import matmul
from .shape import getitem, stack

__all__ = ["lstm_cell", "gru_cell"]


def lstm_cell(x_t, h, c, w_ih, w_hh, b):
    """One LSTM step from engine ops (differentiable to any order; the fused :func:`lstm` is faster).

    ``a = x_t @ w_ih + h @ w_hh + b`` split into gates i, f, g, o (PyTorch's order);
    ``i, f, o = sigmoid(.)``, ``g = tanh(.)``, ``c' = f c + i g``, ``h' = o tanh(c')``.

    Shapes: x_t (N, I), h and c (N, H), w_ih (I, 4H), w_hh (H, 4H), b (4H,). Returns (h', c').
    """
    hid = h.shape[1]
    a = matmul(x_t, w_ih) + matmul(h, w_hh) + b
    i = sigmoid(getitem(a, (slice(None), slice(0, hid))))
    f = sigmoid(getitem(a, (slice(None), slice(hid, 2 * hid))))
    g = tanh(getitem(a, (slice(None), slice(2 * hid, 3 * hid))))
    o = sigmoid(getitem(a, (slice(None), slice(3 * hid, 4 * hid))))
    c = f * c + i * g
    return o * tanh(c), c


def _lstm_composite(x, h, c, w_ih, w_hh, b):
    outs = []
    for t in range(x.shape[1]):
        h, c = lstm_cell(getitem(x, (slice(None), t)), h, c, w_ih, w_hh, b)
        outs.append(h)
    return stack(outs, axis=1), h, c


def gru_cell(x_t, h, w_ih, w_hh, b_ih, b_hh):
    """One GRU step from engine ops (differentiable to any order; the fused :func:`gru` is faster).

    ``ax = x_t @ w_ih + b_ih``, ``ah = h @ w_hh + b_hh`` split into r, z, n (PyTorch's order);
    ``r = sigmoid(ax_r + ah_r)``, ``z = sigmoid(ax_z + ah_z)``, ``n = tanh(ax_n + r * ah_n)``,
    ``h' = (1 - z) n + z h``.

    Shapes: x_t (N, I), h (N, H), w_ih (I, 3H), w_hh (H, 3H), b_ih and b_hh (3H,). Returns h'.
    """
    hid = h.shape[1]
    ax = matmul(x_t, w_ih) + b_ih
    ah = matmul(h, w_hh) + b_hh

    def part(a, k):
        return getitem(a, (slice(None), slice(k * hid, (k + 1) * hid)))

    r = sigmoid(part(ax, 0) + part(ah, 0))
    z = sigmoid(part(ax, 1) + part(ah, 1))
    nn = tanh(part(ax, 2) + r * part(ah, 2))
    return nn + z * (h - nn)


def _gru_composite(x, h, w_ih, w_hh, b_ih, b_hh):
    outs = []
    for t in range(x.shape[1]):
        h = gru_cell(getitem(x, (slice(None), t)), h, w_ih, w_hh, b_ih, b_hh)
        outs.append(h)
    return stack(outs, axis=1), h
