"""Stride-1 convolution kernels lowered to single large GEMMs over channels-last columns.

The engine's tensors are NCHW, but an NCHW im2col gives one small GEMM per sample and a col2im whose
additions run over rows of only Wo values (numpy pays per row). For stride-1, ungrouped convolutions
(the common case) with enough input channels, these kernels work channels-last inside the op instead:

- columns are (N*Ho*Wo, kh*kw*C): one row per output position, copied from a strided window view of the
  padded NHWC input in runs of kw*C values;
- forward, weight gradient and input gradient are each ONE large GEMM (which also uses BLAS threads
  far better than many small ones);
- col2im adds one (N*Ho*Wo, C) block per kernel tap, in runs of Wo*C contiguous values.

Inputs and outputs have NCHW shape, but the output (and the input gradient) is returned as a transposed
view of the channels-last result: no copy at the op's edges. Elementwise ops and pooling run on such a
view at full speed, and the next lowered convolution (or this one's backward, fed a gradient in the same
layout) reads it channels-last without a transposing copy. The maths is the same as in
:mod:`engine.ops.conv`; only the memory layout differs.
"""

from __future__ import annotations

from functools import lru_cache

from ..parallel import split
from . import compiled

__all__ = ["applies", "columns", "forward", "grad_weight", "grad_input", "rows_of"]


#: Fewest input channels for which the channels-last columns pay: with fewer, the column copy moves
#: runs of only kw*C values (measured ~3x slower than the NCHW im2col for C = 1).
MIN_CHANNELS = 8


def applies(geom, channels) -> bool:
    """Whether these kernels handle the convolution: stride 1, one group, enough input channels."""
    return geom.groups == 1 and geom.sh == 1 and geom.sw == 1 and channels >= MIN_CHANNELS


def columns(xp, x, geom):
    """(N, C, H, W) -> columns (N*Ho*Wo, kh*kw*C), taps ordered (i, j, c)."""
    n, c, h, w = x.shape
    (pt, pb), (pl, pr) = geom.pads
    ho, wo = geom.output_hw(h, w)
    xpad = xp.zeros((n, h + pt + pb, w + pl + pr, c), dtype=x.dtype)
    s0, s1, s2, s3 = xpad.strides
    windows = xp.lib.stride_tricks.as_strided(
        xpad, (n, ho, wo, geom.kh, geom.kw, c), (s0, s1, s2, s1 * geom.dh, s2 * geom.dw, s3)
    )
    cols = xp.empty((n * ho * wo, geom.kh * geom.kw * c), dtype=x.dtype)
    blocks = cols.reshape(n, ho, wo, geom.kh, geom.kw, c)

    def part(s):  # both copies for a part of the batch (the parts run on the cores at once)
        xpad[s, pt : pt + h, pl : pl + w, :] = x[s].transpose(0, 2, 3, 1)
        blocks[s] = windows[s]

    split(part, n, cols.size, xp)
    return cols


def rows_of(xp, gy):
    """(N, O, Ho, Wo) -> (N*Ho*Wo, O): the gradient with one row per output position."""
    n, o, ho, wo = gy.shape
    return xp.ascontiguousarray(gy.transpose(0, 2, 3, 1)).reshape(n * ho * wo, o)


def forward(xp, x, w, geom, cols=None):
    """y (N, O, Ho, Wo) = columns @ W; returns (y, cols)."""
    n = x.shape[0]
    o = w.shape[0]
    ho, wo = geom.output_hw(*x.shape[2:])
    if cols is None:
        cols = columns(xp, x, geom)
    wm = w.transpose(2, 3, 1, 0).reshape(-1, o)  # (kh*kw*C, O), taps ordered as the columns
    y = (cols @ wm).reshape(n, ho, wo, o)
    return y.transpose(0, 3, 1, 2), cols  # NCHW shape, channels-last memory


def grad_weight(xp, x, gy, geom, w_shape, cols=None, gy_rows=None):
    """dL/dW (O, C, kh, kw) = gy_rows^T @ columns."""
    o, c, kh, kw = w_shape
    if cols is None:
        cols = columns(xp, x, geom)
    if gy_rows is None:
        gy_rows = rows_of(xp, gy)
    # (O, K) = gy^T @ cols rather than cols^T @ gy: the faster GEMM shape in OpenBLAS here.
    gw = gy_rows.T @ cols
    return xp.ascontiguousarray(gw.reshape(o, kh, kw, c).transpose(0, 3, 1, 2))


def grad_input(xp, gy, w, geom, x_shape, gy_rows=None):
    """dL/dx (N, C, H, W): one GEMM per kernel tap, each added to the NHWC gradient where it lands."""
    n, c, h, w_ = x_shape
    o, _, kh, kw = w.shape
    ho, wo = gy.shape[2:]
    (pt, pb), (pl, pr) = geom.pads
    if gy_rows is None:
        gy_rows = rows_of(xp, gy)
    taps = gy_rows @ w.transpose(2, 3, 0, 1).reshape(kh * kw, o, c)  # (kh*kw, N*Ho*Wo, C)
    dx = compiled.col2im_nhwc(taps.reshape(kh, kw, n, ho, wo, c), (pt, pl), (geom.dh, geom.dw), (h, w_))
    if dx is not None:  # the compiled kernel: each input position sums its taps in one pass
        return dx.transpose(0, 3, 1, 2)
    # Each tap adds only where it lands inside the input (the padding's share would be cut off after),
    # so the sum is made in the unpadded gradient itself: ~10 % fewer additions for 3x3 "same", and a
    # contiguous channels-last result. Every position still adds its taps in tap order, from zero.
    dx = xp.zeros((n, h, w_, c), dtype=gy.dtype)
    taps = taps.reshape(kh * kw, n, ho, wo, c)
    spans = _tap_spans(geom, kh, kw, ho, wo, h, w_)

    def part(s):  # the taps of a part of the batch, in the same order as for the whole
        for k, rows, cols, out_rows, out_cols in spans:
            dx[s, out_rows, out_cols, :] += taps[k, s, rows, cols]

    split(part, n, taps.size, xp)
    return dx.transpose(0, 3, 1, 2)  # NCHW shape, channels-last memory


@lru_cache(maxsize=64)
def _tap_spans(geom, kh, kw, ho, wo, h, w):
    """For each kernel tap that lands inside the input: (tap, its output rows and columns, the input rows
    and columns they add to), as slices. Kept per geometry and sizes (a step asks once per layer)."""
    (pt, _), (pl, _) = geom.pads
    spans = []
    for i in range(kh):
        for j in range(kw):
            rows, in_rows = _span(i * geom.dh - pt, ho, h)
            cols, in_cols = _span(j * geom.dw - pl, wo, w)
            if rows.stop > rows.start and cols.stop > cols.start:
                spans.append((i * kw + j, rows, cols, in_rows, in_cols))
    return tuple(spans)


def _span(offset, out_size, in_size):
    """The output rows (or columns) of a kernel tap whose output row r adds to input row ``r + offset``,
    clipped to the input's ``0:in_size``, and the input rows they add to: two slices."""
    first, end = max(0, -offset), min(out_size, in_size - offset)
    return slice(first, end), slice(first + offset, end + offset)
