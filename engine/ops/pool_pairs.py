"""2x2 max pooling with stride 2 (the usual one) in two pairwise stages, and its backward.

The maximum of column pairs comes first, then of row pairs; the winners are kept as two boolean masks
rather than an index array. A window's gradient goes to its first maximum in row-major order, as in the
general window path (:mod:`engine.ops.pool_windows`) and PyTorch. The functions here work on arrays;
the Functions that call them are in :mod:`engine.ops.max_pool`.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..parallel import split

__all__ = ["is_pair_pool", "PairSelection", "forward", "selection", "scatter", "gather"]


def is_pair_pool(geom):
    """2x2 windows with stride 2, no padding, no dilation: the common case, pooled in two stages."""
    return (geom.kh, geom.kw, geom.sh, geom.sw, geom.dh, geom.dw) == (2, 2, 2, 2, 1, 1) and geom.pads == (
        (0, 0),
        (0, 0),
    )


class PairSelection:
    """Which input holds each 2x2 window's maximum, as two boolean masks (no index array).

    ``first_col`` (N, C, 2Ho, Wo): in each row of a window, the left column holds the row's maximum.
    ``first_row`` (N, C, Ho, Wo): the top row holds the window's maximum. Both prefer the first position
    at a tie, so the winner is the first maximum in row-major order, as in the general path.
    """

    def __init__(self, first_col, first_row):
        self.first_col, self.first_row = first_col, first_row


def forward(xp, x, ho, wo):
    """(max over 2x2 windows (N, C, Ho, Wo), max over column pairs (N, C, 2Ho, Wo))."""
    a = x[:, :, : 2 * ho, : 2 * wo]  # an odd last row/column belongs to no window
    # Columns first: a[..., 0::2] has a stride that merges rows, so numpy runs it as one long loop.
    # empty_like keeps the input's memory order (channels-last stays channels-last), as a ufunc's
    # own output would; the batch is split between the cores.
    colmax = xp.empty_like(a[..., 0::2])
    best = xp.empty_like(colmax[:, :, 0::2])

    def part(s):
        xp.maximum(a[s, ..., 0::2], a[s, ..., 1::2], out=colmax[s])
        xp.maximum(colmax[s, :, 0::2], colmax[s, :, 1::2], out=best[s])

    split(part, x.shape[0], a.size, xp)
    return best, colmax


def selection(x, colmax):
    """The winners of :func:`forward` as masks. ``a >= b`` is ``a == max(a, b)``, so no pooled
    output is needed (the fused ReLU op no longer holds the pre-activation maximum)."""
    rows, wo = colmax.shape[2], colmax.shape[3]
    a = x[:, :, :rows, : 2 * wo]
    xp = get_array_module(x)
    first_col = xp.empty_like(colmax, dtype=bool)
    first_row = xp.empty_like(colmax[:, :, 0::2], dtype=bool)

    def part(s):
        xp.greater_equal(a[s, ..., 0::2], a[s, ..., 1::2], out=first_col[s])
        xp.greater_equal(colmax[s, :, 0::2], colmax[s, :, 1::2], out=first_row[s])

    split(part, x.shape[0], a.size, xp)
    return PairSelection(first_col, first_row)


def _memory_order(a):
    """The axes of ``a`` from the largest stride to the smallest (axes of length 1 left out)."""
    return tuple(sorted((i for i in range(a.ndim) if a.shape[i] > 1), key=lambda i: -abs(a.strides[i])))


def _in_layout_of(xp, g, like):
    """``g`` copied into a new array with the memory order of ``like`` (same shape), keeping g's dtype."""
    out = xp.empty_like(like, dtype=g.dtype)
    out[...] = g
    return out


def scatter(xp, g, sel, x_shape, like=None):
    """Each window's ``g`` at its selected input: (N, C, Ho, Wo) -> (N, C, H, W), in the memory layout
    of ``like`` (the pooled input) when given: a channels-last convolution output gets a channels-last
    gradient, which its backward then reads without a transposing copy."""
    n, c, h, w = x_shape
    ho, wo = g.shape[2:]
    exact = h == 2 * ho and w == 2 * wo
    if like is not None and like.dtype == g.dtype:
        out = xp.empty_like(like) if exact else xp.zeros_like(like)
    else:
        out = xp.empty(x_shape, dtype=g.dtype) if exact else xp.zeros(x_shape, dtype=g.dtype)
    a = out[:, :, : 2 * ho, : 2 * wo]
    # rows in out's layout, so the second stage below copies between like-ordered arrays
    rows = xp.empty_like(a[..., 0::2])
    first_row, first_col = sel.first_row, sel.first_col
    # g in the masks' memory order too: a gradient arriving in the other layout (channels-last from a
    # lowered convolution's input gradient, NCHW from a flatten's) makes every pass below stride across
    # it, ~3x slower than one copy of these quarter-size values plus passes over like-ordered arrays.
    both_c = g.flags.c_contiguous and first_row.flags.c_contiguous  # same order, known without sorting
    if not both_c and _memory_order(g) != _memory_order(first_row):
        g = _in_layout_of(xp, g, first_row)

    # Multiplying by a boolean mask is far cheaper than where/copyto; the other half of each pair
    # gets the remainder g - g*mask (g where the mask is False, 0 where it is True).
    def part(s):
        xp.multiply(g[s], first_row[s], out=rows[s, :, 0::2])
        xp.subtract(g[s], rows[s, :, 0::2], out=rows[s, :, 1::2])
        xp.multiply(rows[s], first_col[s], out=a[s, ..., 0::2])
        xp.subtract(rows[s], a[s, ..., 0::2], out=a[s, ..., 1::2])

    split(part, n, a.size, xp)
    return out


def gather(xp, h, sel):
    """Each window's ``h`` at its selected input (the adjoint of :func:`scatter`)."""
    ho, wo = sel.first_row.shape[2:]
    a = h[:, :, : 2 * ho, : 2 * wo]
    rows = xp.where(sel.first_col, a[..., 0::2], a[..., 1::2])
    return xp.where(sel.first_row, rows[:, :, 0::2], rows[:, :, 1::2])
