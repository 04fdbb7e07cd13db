"""Convolutions (conv1d, conv2d) by im2col and one batched GEMM, NCHW layout.

``im2col`` copies a strided window view of the padded input into ``cols`` of shape
(N, C*kh*kw, Ho*Wo) so that the convolution is ``W (O, C*kh*kw) @ cols``: the output comes out in
NCHW order without a transpose. The view is built with ``as_strided`` (numpy and cupy both have it), so
no index arrays are needed. ``col2im`` is its adjoint: kh*kw strided slice additions (``add.at`` is
far slower).

Double backward: the three maps of a convolution are bilinear, so each one's gradient is expressed
with the other two. With ``conv(x, W) = y``, ``grad_input(gy, W) = dL/dx`` and
``grad_weight(x, gy) = dL/dW``:

- d conv / d(x, W)          -> grad_input(g, W),  grad_weight(x, g)
- d grad_input / d(gy, W)   -> conv(h, W),        grad_weight(h, gy)
- d grad_weight / d(x, gy)  -> grad_input(gy, H), conv(x, H)
"""

from __future__ import annotations

import numpy as np

from ..autodiff.errors import ShapeError
from ..autodiff.function import Function
from ..autodiff.mode import is_grad_enabled
from ..autodiff.tensor import Tensor, as_tensor, wrap
from . import conv_lowered as lowered
from .reductions import sum as sum_
from .shape import reshape
from .window_geometry import ConvGeometry, make_geometry

__all__ = ["conv1d", "conv2d", "conv2d_output_shape", "im2col", "col2im", "ConvGeometry"]


def _padded(xp, x, geom, fill=0.0):
    (pt, pb), (pl, pr) = geom.pads
    if not (pt or pb or pl or pr):
        return x
    n, c, h, w = x.shape
    out = xp.full((n, c, h + pt + pb, w + pl + pr), fill, dtype=x.dtype)
    out[:, :, pt : pt + h, pl : pl + w] = x
    return out


def windows(xp, x, geom, fill=0.0):
    """A read-only strided view (N, C, kh, kw, Ho, Wo) of the padded input's sliding windows."""
    xpad = _padded(xp, x, geom, fill)
    n, c = x.shape[:2]
    ho, wo = geom.output_hw(*x.shape[2:])
    s0, s1, s2, s3 = xpad.strides
    shape = (n, c, geom.kh, geom.kw, ho, wo)
    strides = (s0, s1, s2 * geom.dh, s3 * geom.dw, s2 * geom.sh, s3 * geom.sw)
    return xp.lib.stride_tricks.as_strided(xpad, shape, strides)


def im2col(xp, x, geom):
    """(N, C, H, W) -> contiguous columns (N, C*kh*kw, Ho*Wo)."""
    v = windows(xp, x, geom)
    n, c, kh, kw, ho, wo = v.shape
    return xp.ascontiguousarray(v).reshape(n, c * kh * kw, ho * wo)


def col2im(xp, cols, geom, x_shape):
    """Adjoint of :func:`im2col`: add each column entry back to the input position it was read from.

    ``cols`` has shape (N, C*kh*kw, Ho*Wo) (or (N, C, kh, kw, Ho, Wo)); returns (N, C, H, W).
    """
    n, c, h, w = x_shape
    (pt, pb), (pl, pr) = geom.pads
    ho, wo = geom.output_hw(h, w)
    cols = cols.reshape(n, c, geom.kh, geom.kw, ho, wo)
    out = xp.zeros((n, c, h + pt + pb, w + pl + pr), dtype=cols.dtype)
    for i in range(geom.kh):
        r0 = i * geom.dh
        rows = slice(r0, r0 + geom.sh * (ho - 1) + 1, geom.sh)
        for j in range(geom.kw):
            c0 = j * geom.dw
            out[:, :, rows, c0 : c0 + geom.sw * (wo - 1) + 1 : geom.sw] += cols[:, :, i, j]
    if pt or pb or pl or pr:
        out = out[:, :, pt : pt + h, pl : pl + w]
    return out


# ---------------------------------------------------------------------- array kernels
def _conv_forward(xp, x, w, geom, cols=None):
    """y (N, O, Ho, Wo) = W @ im2col(x); returns (y, cols)."""
    if lowered.applies(geom, x.shape[1]):
        return lowered.forward(xp, x, w, geom, cols)
    n = x.shape[0]
    o = w.shape[0]
    g = geom.groups
    ho, wo = geom.output_hw(*x.shape[2:])
    if cols is None:
        cols = im2col(xp, x, geom)
    if g == 1:
        y = w.reshape(o, -1) @ cols
    else:
        y = w.reshape(g, o // g, -1) @ cols.reshape(n, g, -1, ho * wo)
    return y.reshape(n, o, ho, wo), cols


def _conv_grad_weight(xp, x, gy, geom, w_shape, cols=None, gy_rows=None):
    """dL/dW (O, C/g, kh, kw) = sum over the batch of gy @ cols^T."""
    if lowered.applies(geom, x.shape[1]):
        return lowered.grad_weight(xp, x, gy, geom, w_shape, cols, gy_rows)
    n, o = gy.shape[:2]
    g = geom.groups
    if cols is None:
        cols = im2col(xp, x, geom)
    hw = gy.shape[2] * gy.shape[3]
    if g == 1:
        # cols @ gy^T (K x O per sample) rather than gy @ cols^T (O x K): with O < K this GEMM shape
        # runs about 1.4x faster in OpenBLAS, and the small (K, O) result is cheap to transpose.
        gw = (cols @ gy.reshape(n, o, hw).transpose(0, 2, 1)).sum(axis=0).T
    else:
        gw = (gy.reshape(n, g, o // g, hw) @ cols.reshape(n, g, -1, hw).transpose(0, 1, 3, 2)).sum(axis=0)
    return gw.reshape(w_shape)


def _conv_grad_input(xp, gy, w, geom, x_shape, gy_rows=None):
    """dL/dx (N, C, H, W) = col2im(W^T @ gy)."""
    if lowered.applies(geom, x_shape[1]):
        return lowered.grad_input(xp, gy, w, geom, x_shape, gy_rows)
    n, o = gy.shape[:2]
    g = geom.groups
    hw = gy.shape[2] * gy.shape[3]
    if g == 1 and geom.sh == 1 and geom.sw == 1:
        return _grad_input_stride1(xp, gy, w, geom, x_shape)
    if g == 1:
        dcols = w.reshape(o, -1).T @ gy.reshape(n, o, hw)
    else:
        wg = w.reshape(g, o // g, -1).transpose(0, 2, 1)
        dcols = wg @ gy.reshape(n, g, o // g, hw)
    return col2im(xp, dcols, geom, x_shape)


def _grad_input_stride1(xp, gy, w, geom, x_shape):
    """dL/dx of a stride-1 convolution, with col2im as kh*kw additions of long contiguous runs.

    In a padded image flattened row by row (width Wp), kernel tap (i, j) of output position (r, s) reads
    element (r + i dh) Wp + s + j dw: a fixed offset from r Wp + s. So the gradient is computed on a
    "wide" output grid of Ho rows of Wp columns (the Wp - Wo extra columns hold zero gradient), and
    each tap's columns are added to the flat padded gradient at one offset: one add of Ho*Wp contiguous
    values per image and channel, instead of Ho rows of Wo values (numpy pays per row).
    """
    n, c, h, w_ = x_shape
    o = gy.shape[1]
    ho, wo = gy.shape[2:]
    (pt, pb), (pl, pr) = geom.pads
    hp, wp = h + pt + pb, w_ + pl + pr
    length = ho * wp
    gy_wide = xp.zeros((n, o, ho, wp), dtype=gy.dtype)
    gy_wide[..., :wo] = gy
    dcols = (w.reshape(o, -1).T @ gy_wide.reshape(n, o, length)).reshape(n, c, geom.kh, geom.kw, length)
    # The last tap's run ends (kw - 1) dw past the padded image: those values are zero, but need room.
    out = xp.zeros((n, c, hp * wp + (geom.kw - 1) * geom.dw), dtype=gy.dtype)
    for i in range(geom.kh):
        for j in range(geom.kw):
            start = i * geom.dh * wp + j * geom.dw
            out[:, :, start : start + length] += dcols[:, :, i, j]
    return out[:, :, : hp * wp].reshape(n, c, hp, wp)[:, :, pt : pt + h, pl : pl + w_]


def _add_bias(xp, y, b):
    """``y += b`` over the channels of (N, O, H, W) ``y``. A lowered convolution's channels-last output
    adds one image's worth of the bias, tiled, to each image's contiguous H*W*O values: numpy's SIMD
    loop over long rows instead of one short row of O values per position (the same additions)."""
    rows = y.transpose(0, 2, 3, 1)
    if xp is np and rows.flags.c_contiguous and y.shape[1] < rows[0].size:
        images = rows.reshape(y.shape[0], -1)  # a view: one row per image
        images += np.tile(b, y.shape[2] * y.shape[3])
    else:
        y += b.reshape(1, -1, 1, 1)


def _bias_grad(gy, gy_rows=None):
    """Sum of ``gy`` over batch and space, (N, O, H, W) -> (O,)."""
    if is_grad_enabled():  # a graph of this backward is wanted: the differentiable reduction
        return sum_(gy, axis=(0, 2, 3))
    if gy_rows is not None:  # the lowered kernels' (N*H*W, O) rows: one product with ones
        return Tensor(gy.xp.ones(gy_rows.shape[0], dtype=gy_rows.dtype) @ gy_rows)
    # Two GEMV-like products with ones: much faster than sum(axis=(0, 2, 3)) over short rows.
    g = gy.data
    xp = gy.xp
    n, o = g.shape[:2]
    per_sample = g.reshape(n, o, -1) @ xp.ones(g.shape[2] * g.shape[3], dtype=g.dtype)
    return Tensor(xp.ones(n, dtype=g.dtype) @ per_sample)


# ---------------------------------------------------------------------- Functions
class Conv2d(Function):
    """y = conv(x, W) + b. Saves the im2col columns for the weight gradient (freed with the graph)."""

    def __init__(self, geom):
        super().__init__()
        self.geom = geom
        self.cols = None

    def forward(self, xp, x, w, b=None):
        y, cols = _conv_forward(xp, x, w, self.geom)
        if b is not None:
            _add_bias(xp, y, b)
        self.cols = cols
        return y

    def backward(self, gy):
        x, w = self.inputs[:2]
        # Both gradients of a lowered convolution read gy with one row per output position: make it once.
        gy_rows = None
        if x.requires_grad and w.requires_grad and lowered.applies(self.geom, x.shape[1]):
            gy_rows = lowered.rows_of(gy.xp, gy.data)
        if not is_grad_enabled():
            # No graph of this backward is wanted: the same kernels on raw arrays, without the two
            # Functions (and their bookkeeping) that make the backward differentiable.
            xp = gy.xp
            gx = gw = None
            if x.requires_grad:
                gx = wrap(_conv_grad_input(xp, gy.data, w.data, self.geom, x.shape, gy_rows))
            if w.requires_grad:
                gw = wrap(_conv_grad_weight(xp, x.data, gy.data, self.geom, w.shape, self.cols, gy_rows))
        else:
            gx = Conv2dGradInput(self.geom, x.shape, gy_rows)(gy, w) if x.requires_grad else None
            gw = None
            if w.requires_grad:
                gw = Conv2dGradWeight(self.geom, w.shape, self.cols, gy_rows)(x, gy)
        grads = [gx, gw]
        if len(self.inputs) == 3:
            grads.append(_bias_grad(gy, gy_rows) if self.inputs[2].requires_grad else None)
        return tuple(grads)

    def release(self):
        super().release()
        self.cols = None

    def __call__(self, *inputs):
        out = super().__call__(*inputs)
        if self.inputs is None:
            self.cols = None  # no graph recorded: nobody will need the columns
        return out


class Conv2dGradInput(Function):
    """dL/dx of a convolution: a transposed convolution of ``gy`` with ``W``."""

    def __init__(self, geom, x_shape, gy_rows=None):
        super().__init__()
        self.geom, self.x_shape = geom, tuple(x_shape)
        self._gy_rows = gy_rows

    def forward(self, xp, gy, w):
        gy_rows, self._gy_rows = self._gy_rows, None  # used once; never kept alive by the graph
        return _conv_grad_input(xp, gy, w, self.geom, self.x_shape, gy_rows)

    def backward(self, h):
        gy, w = self.inputs
        ggy = Conv2d(self.geom)(h, w) if gy.requires_grad else None
        gw = Conv2dGradWeight(self.geom, w.shape)(h, gy) if w.requires_grad else None
        return ggy, gw


class Conv2dGradWeight(Function):
    """dL/dW of a convolution: the correlation of the input with ``gy``."""

    def __init__(self, geom, w_shape, cols=None, gy_rows=None):
        super().__init__()
        self.geom, self.w_shape = geom, tuple(w_shape)
        self._cols, self._gy_rows = cols, gy_rows

    def forward(self, xp, x, gy):
        cols, gy_rows = self._cols, self._gy_rows
        self._cols = self._gy_rows = None  # used once; never kept alive by the graph
        return _conv_grad_weight(xp, x, gy, self.geom, self.w_shape, cols, gy_rows)

    def backward(self, hw):
        x, gy = self.inputs
        gx = Conv2dGradInput(self.geom, x.shape)(gy, hw) if x.requires_grad else None
        ggy = Conv2d(self.geom)(x, hw) if gy.requires_grad else None
        return gx, ggy


# ---------------------------------------------------------------------- functional wrappers
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution (cross-correlation, as in every framework) in NCHW layout.

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W)
    weight : Tensor, shape (O, C // groups, kh, kw)
    bias : Tensor, shape (O,), optional
    stride, dilation : int or (int, int)
    padding : int, (int, int), "same" or "valid"
        Zero padding on each side; "same" keeps ceil(H / stride) (extra padding goes bottom/right).
    groups : int
        C and O must both divide by it; group i sees input channels i*C/g ... (i+1)*C/g - 1.

    Returns
    -------
    Tensor, shape (N, O, Ho, Wo) with Ho = (H + pads - dilation*(kh-1) - 1) // stride + 1.
    """
    x, weight = as_tensor(x), as_tensor(weight)
    if x.ndim != 4 or weight.ndim != 4:
        raise ShapeError(
            f"conv2d: expected x (N, C, H, W) and weight (O, C/groups, kh, kw), "
            f"got x {x.shape} and weight {weight.shape}"
        )
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    if groups < 1 or c % groups or o % groups or cg * groups != c:
        raise ShapeError(
            f"conv2d: input with {c} channels, weight {weight.shape} and groups={groups} do not fit "
            "(need weight.shape[1] * groups == C and O divisible by groups)"
        )
    if bias is not None:
        bias = as_tensor(bias, like=x)
        if bias.shape != (o,):
            raise ShapeError(
                f"conv2d: bias must have shape ({o},) for weight {weight.shape}, got {bias.shape}"
            )
    geom = make_geometry("conv2d", (h, w), (kh, kw), stride, padding, dilation, groups)
    fn = Conv2d(geom)
    return fn(x, weight) if bias is None else fn(x, weight, bias)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution: x (N, C, L), weight (O, C // groups, k), bias (O,) -> (N, O, Lo).

    Runs as a conv2d of height 1, so gradients (and their gradients) come from conv2d.
    """
    x, weight = as_tensor(x), as_tensor(weight)
    if x.ndim != 3 or weight.ndim != 3:
        raise ShapeError(
            f"conv1d: expected x (N, C, L) and weight (O, C/groups, k), got x {x.shape} and weight "
            f"{weight.shape}"
        )
    if isinstance(padding, str):
        pad2 = padding
    else:
        pad2 = (0, int(padding))
    y = conv2d(
        reshape(x, (x.shape[0], x.shape[1], 1, x.shape[2])),
        reshape(weight, (weight.shape[0], weight.shape[1], 1, weight.shape[2])),
        bias,
        stride=(1, int(stride)),
        padding=pad2,
        dilation=(1, int(dilation)),
        groups=groups,
    )
    return reshape(y, (y.shape[0], y.shape[1], y.shape[3]))


def conv2d_output_shape(x_shape, weight_shape, stride=1, padding=0, dilation=1, groups=1):
    """The output shape (N, O, Ho, Wo) a conv2d would produce, without computing it (for shape inference)."""
    geom = make_geometry("conv2d", x_shape[2:], weight_shape[2:], stride, padding, dilation, groups)
    return (x_shape[0], weight_shape[0], *geom.output_hw(*x_shape[2:]))
