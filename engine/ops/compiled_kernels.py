"""The numba kernels behind :mod:`engine.ops.compiled` (imported only when they are asked for).

Every kernel loops over C-contiguous arrays in their memory order, on the calling thread, and does the
numpy code's float operations in the same order and the same precision, so the results are
bit-identical (the numpy passes they replace are in :mod:`engine.ops.pool_pairs` and
:mod:`engine.ops.conv_lowered`). numba caches the compiled code on disk (``cache=True``), so only the
first use after an install compiles.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["pair_pool_nchw", "pair_pool_nhwc", "pair_scatter_nchw", "pair_scatter_nhwc", "col2im_nhwc"]


@njit(inline="always")
def _max(a, b):
    """``np.maximum(a, b)``: a NaN operand wins (the first if both are), else the larger; at a tie of
    equal values (+0 and -0 too) the second operand."""
    return a if (a > b or a != a) else b


@njit(inline="always")
def _window_max(x00, x01, x10, x11):
    """The numpy code's order: the maximum of each row's column pair, then of the two rows."""
    return _max(_max(x00, x01), _max(x10, x11))


@njit(inline="always")
def _scatter4(g, x00, x01, x10, x11, one, zero):
    """``g`` routed to the window's first maximum as the numpy scatter computes it: the top row gets
    ``g * first_row`` and the bottom ``g - that``; in each row the left gets ``row * first_col`` and
    the right ``row - that`` (masks as 1/0 in the array's precision)."""
    top = g * (one if _max(x00, x01) >= _max(x10, x11) else zero)
    bottom = g - top
    a = top * (one if x00 >= x01 else zero)
    c = bottom * (one if x10 >= x11 else zero)
    return a, top - a, c, bottom - c


@njit(cache=True)
def pair_pool_nchw(x, out, relu):
    """out (N, C, Ho, Wo) = max over each 2x2 window of x (N, C, H, W) (then ReLU when ``relu``)."""
    n, c, ho, wo = out.shape
    zero = np.zeros(1, out.dtype)[0]
    for b in range(n):
        for k in range(c):
            for r in range(ho):
                for s in range(wo):
                    i, j = 2 * r, 2 * s
                    m = _window_max(
                        x[b, k, i, j], x[b, k, i, j + 1], x[b, k, i + 1, j], x[b, k, i + 1, j + 1]
                    )
                    out[b, k, r, s] = _max(m, zero) if relu else m
    return out


@njit(cache=True)
def pair_pool_nhwc(x, out, relu):
    """The same for channels-last memory: x (N, H, W, C) -> out (N, Ho, Wo, C)."""
    n, ho, wo, c = out.shape
    zero = np.zeros(1, out.dtype)[0]
    for b in range(n):
        for r in range(ho):
            for s in range(wo):
                i, j = 2 * r, 2 * s
                for k in range(c):
                    m = _window_max(
                        x[b, i, j, k], x[b, i, j + 1, k], x[b, i + 1, j, k], x[b, i + 1, j + 1, k]
                    )
                    out[b, r, s, k] = _max(m, zero) if relu else m
    return out


@njit(cache=True)
def pair_scatter_nchw(g, x, y, relu, out):
    """out (N, C, H, W): each window's ``g`` (times ``y > 0`` when ``relu``) at its first maximum in
    ``x``, zeros elsewhere (an odd last row or column too). g, y (N, C, Ho, Wo); x (N, C, H, W)."""
    n, c, h, w = out.shape
    ho, wo = g.shape[2], g.shape[3]
    one, zero = np.ones(1, out.dtype)[0], np.zeros(1, out.dtype)[0]
    for b in range(n):
        for k in range(c):
            if h > 2 * ho:
                out[b, k, h - 1, :] = zero
            if w > 2 * wo:
                out[b, k, :, w - 1] = zero
            for r in range(ho):
                for s in range(wo):
                    gv = g[b, k, r, s]
                    if relu:
                        gv = gv * (one if y[b, k, r, s] > 0 else zero)
                    i, j = 2 * r, 2 * s
                    a, bb, cc, d = _scatter4(
                        gv,
                        x[b, k, i, j],
                        x[b, k, i, j + 1],
                        x[b, k, i + 1, j],
                        x[b, k, i + 1, j + 1],
                        one,
                        zero,
                    )
                    out[b, k, i, j] = a
                    out[b, k, i, j + 1] = bb
                    out[b, k, i + 1, j] = cc
                    out[b, k, i + 1, j + 1] = d
    return out


@njit(cache=True)
def pair_scatter_nhwc(g, x, y, relu, out):
    """The same for channels-last memory: g, y (N, Ho, Wo, C); x, out (N, H, W, C)."""
    n, h, w, c = out.shape
    ho, wo = g.shape[1], g.shape[2]
    one, zero = np.ones(1, out.dtype)[0], np.zeros(1, out.dtype)[0]
    for b in range(n):
        if h > 2 * ho:
            out[b, h - 1, :, :] = zero
        if w > 2 * wo:
            out[b, :, w - 1, :] = zero
        for r in range(ho):
            for s in range(wo):
                i, j = 2 * r, 2 * s
                for k in range(c):
                    gv = g[b, r, s, k]
                    if relu:
                        gv = gv * (one if y[b, r, s, k] > 0 else zero)
                    a, bb, cc, d = _scatter4(
                        gv,
                        x[b, i, j, k],
                        x[b, i, j + 1, k],
                        x[b, i + 1, j, k],
                        x[b, i + 1, j + 1, k],
                        one,
                        zero,
                    )
                    out[b, i, j, k] = a
                    out[b, i, j + 1, k] = bb
                    out[b, i + 1, j, k] = cc
                    out[b, i + 1, j + 1, k] = d
    return out


@njit(cache=True)
def col2im_nhwc(taps, pt, pl, dh, dw, dx):
    """dx (N, H, W, C) = for each input position, the sum from zero of the taps (i, j) that read it, in
    row-major tap order. taps (kh, kw, N, Ho, Wo, C) of a stride-1 convolution padded (pt, pl)."""
    kh, kw, n, ho, wo, c = taps.shape
    h, w = dx.shape[1], dx.shape[2]
    zero = np.zeros(1, dx.dtype)[0]
    for b in range(n):
        for y in range(h):
            for x in range(w):
                for k in range(c):
                    dx[b, y, x, k] = zero
                for i in range(kh):
                    r = y + pt - i * dh
                    if r < 0 or r >= ho:
                        continue
                    for j in range(kw):
                        s = x + pl - j * dw
                        if s < 0 or s >= wo:
                            continue
                        for k in range(c):
                            dx[b, y, x, k] += taps[i, j, b, r, s, k]
    return dx
