"""Pooling over any window (kernel, stride, padding, dilation) as kh*kw elementwise passes.

Each pass reads one kernel offset of every window through a strided view of the (padded) input, so the
windows are never copied. Max pooling keeps, per window, the offset that won (an int16 index; the first
maximum in row-major order at a tie); its backward writes each window's gradient there. The functions
here work on arrays; the Functions that call them are in :mod:`engine.ops.max_pool` and
:mod:`engine.ops.pooling`.
"""

from __future__ import annotations

from .conv import _padded

__all__ = ["offsets", "offset_view", "max_forward", "scatter", "gather", "window_sum"]


def offsets(geom):
    """The kernel offsets (k, i, j) of a window, k = i * kw + j."""
    return [(i * geom.kw + j, i, j) for i in range(geom.kh) for j in range(geom.kw)]


def offset_view(a, geom, i, j, ho, wo):
    """The (N, C, Ho, Wo) strided view of padded ``a`` that kernel offset (i, j) reads in every window."""
    r0, c0 = i * geom.dh, j * geom.dw
    return a[:, :, r0 : r0 + geom.sh * (ho - 1) + 1 : geom.sh, c0 : c0 + geom.sw * (wo - 1) + 1 : geom.sw]


def max_forward(xp, x, geom):
    """(max over each window (N, C, Ho, Wo), the winning offset k of each window (int16))."""
    ho, wo = geom.output_hw(*x.shape[2:])
    xpad = _padded(xp, x, geom, -xp.inf)
    best = index = None
    for k, i, j in offsets(geom):
        v = offset_view(xpad, geom, i, j, ho, wo)
        if best is None:
            best = v.copy()
            index = xp.zeros(best.shape, dtype=xp.int16)
            continue
        # Strictly greater: the first maximum of a window wins ties (one position gets the gradient).
        better = v > best
        index = xp.where(better, index.dtype.type(k), index)
        xp.maximum(best, v, out=best)
    return best, index


def scatter(xp, g, index, geom, x_shape):
    """(N, C, H, W) zeros plus each window's ``g`` at the offset ``index`` names (None: at every offset)."""
    n, c, h, w = x_shape
    (pt, pb), (pl, pr) = geom.pads
    ho, wo = g.shape[2:]
    out = xp.zeros((n, c, h + pt + pb, w + pl + pr), dtype=g.dtype)
    # Windows that do not overlap write each input position at most once: write, do not add.
    disjoint = geom.sh >= geom.dh * (geom.kh - 1) + 1 and geom.sw >= geom.dw * (geom.kw - 1) + 1
    for k, i, j in offsets(geom):
        view = offset_view(out, geom, i, j, ho, wo)
        if index is None:
            view += g
        elif disjoint:
            xp.multiply(g, index == k, out=view)
        else:
            view += g * (index == k)
    if pt or pb or pl or pr:
        out = out[:, :, pt : pt + h, pl : pl + w]
    return out


def gather(xp, h, index, geom):
    """Each window's ``h`` at the offset ``index`` names (the adjoint of :func:`scatter`)."""
    hpad = _padded(xp, h, geom, 0.0)
    ho, wo = index.shape[2:]
    out = xp.zeros(index.shape, dtype=h.dtype)
    for k, i, j in offsets(geom):
        out += offset_view(hpad, geom, i, j, ho, wo) * (index == k)
    return out


def window_sum(xp, x, geom):
    """The sum over each window of the zero-padded ``x``, (N, C, Ho, Wo)."""
    xpad = _padded(xp, x, geom, 0.0)
    ho, wo = geom.output_hw(*x.shape[2:])
    total = xp.zeros((x.shape[0], x.shape[1], ho, wo), dtype=x.dtype)
    for _, i, j in offsets(geom):
        total += offset_view(xpad, geom, i, j, ho, wo)
    return total
