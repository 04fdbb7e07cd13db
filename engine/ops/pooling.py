"""2-d pooling in NCHW layout: max, average and global average.

Pooling runs as kh*kw elementwise passes over strided views of the (padded) input, one per kernel
offset (no copy of the windows). Max pooling remembers which offset won in each window: backward
routes each gradient to that one position (the first one at a tie, in row-major order), and the
backward is itself a linear Function of the gradient, so double backward works. 2x2 max pooling with
stride 2 (the usual one) takes the maximum of column pairs and then of row pairs instead, and
remembers its winners as two boolean masks rather than an index array. Average pooling counts
padded zeros in the mean (``count_include_pad=True`` as PyTorch's default).

``relu_max_pool2d(x)`` is ``max_pool2d(relu(x))`` computed as ``relu(max_pool2d(x))`` (they are equal:
max and ReLU are both monotone), so the ReLU and its backward touch a quarter of the values; networks use
it for a ReLU convolution followed by max pooling (:mod:`engine.network.fusion`).
"""

from __future__ import annotations

from ..autodiff.errors import ShapeError
from ..autodiff.function import Function
from ..autodiff.mode import is_grad_enabled
from ..autodiff.tensor import Tensor, as_tensor, wrap
from ..backend import get_array_module
from ..parallel import split
from . import compiled
from .conv import _padded
from .reductions import mean as mean_
from .window_geometry import _pair, cached, make_geometry

__all__ = ["max_pool2d", "relu_max_pool2d", "avg_pool2d", "global_avg_pool2d"]


def _offsets(geom):
    """The kernel offsets (k, i, j) of a window, k = i * kw + j."""
    return [(i * geom.kw + j, i, j) for i in range(geom.kh) for j in range(geom.kw)]


def _offset_view(a, geom, i, j, ho, wo):
    """The (N, C, Ho, Wo) strided view of padded ``a`` that kernel offset (i, j) reads in every window."""
    r0, c0 = i * geom.dh, j * geom.dw
    return a[:, :, r0 : r0 + geom.sh * (ho - 1) + 1 : geom.sh, c0 : c0 + geom.sw * (wo - 1) + 1 : geom.sw]


def _scatter(xp, g, index, geom, x_shape):
    """(N, C, H, W) zeros plus each window's ``g`` at the offset ``index`` names (None: at every offset)."""
    n, c, h, w = x_shape
    (pt, pb), (pl, pr) = geom.pads
    ho, wo = g.shape[2:]
    out = xp.zeros((n, c, h + pt + pb, w + pl + pr), dtype=g.dtype)
    # Windows that do not overlap write each input position at most once: write, do not add.
    disjoint = geom.sh >= geom.dh * (geom.kh - 1) + 1 and geom.sw >= geom.dw * (geom.kw - 1) + 1
    for k, i, j in _offsets(geom):
        view = _offset_view(out, geom, i, j, ho, wo)
        if index is None:
            view += g
        elif disjoint:
            xp.multiply(g, index == k, out=view)
        else:
            view += g * (index == k)
    if pt or pb or pl or pr:
        out = out[:, :, pt : pt + h, pl : pl + w]
    return out


def _is_pair_pool(geom):
    """2x2 windows with stride 2, no padding, no dilation: the common case, pooled in two stages."""
    return (geom.kh, geom.kw, geom.sh, geom.sw, geom.dh, geom.dw) == (2, 2, 2, 2, 1, 1) and geom.pads == (
        (0, 0),
        (0, 0),
    )


class _PairSelection:
    """Which input holds each 2x2 window's maximum, as two boolean masks (no index array).

    ``first_col`` (N, C, 2Ho, Wo): in each row of a window, the left column holds the row's maximum.
    ``first_row`` (N, C, Ho, Wo): the top row holds the window's maximum. Both prefer the first position
    at a tie, so the winner is the first maximum in row-major order, as in the general path.
    """

    def __init__(self, first_col, first_row):
        self.first_col, self.first_row = first_col, first_row


def _pair_forward(xp, x, ho, wo):
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


def _pair_selection(x, colmax):
    """The winners of :func:`_pair_forward` as masks. ``a >= b`` is ``a == max(a, b)``, so no pooled
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
    return _PairSelection(first_col, first_row)


def _memory_order(a):
    """The axes of ``a`` from the largest stride to the smallest (axes of length 1 left out)."""
    return tuple(sorted((i for i in range(a.ndim) if a.shape[i] > 1), key=lambda i: -abs(a.strides[i])))


def _in_layout_of(xp, g, like):
    """``g`` copied into a new array with the memory order of ``like`` (same shape), keeping g's dtype."""
    out = xp.empty_like(like, dtype=g.dtype)
    out[...] = g
    return out


def _pair_scatter(xp, g, sel, x_shape, like=None):
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


def _pair_gather(xp, h, sel):
    """Each window's ``h`` at its selected input (the adjoint of :func:`_pair_scatter`)."""
    ho, wo = sel.first_row.shape[2:]
    a = h[:, :, : 2 * ho, : 2 * wo]
    rows = xp.where(sel.first_col, a[..., 0::2], a[..., 1::2])
    return xp.where(sel.first_row, rows[:, :, 0::2], rows[:, :, 1::2])


class MaxPool2d(Function):
    """Max over each window: 2x2/stride 2 in two pairwise stages, else kh*kw passes over strided views.

    With the compiled kernels on (:mod:`engine.ops.compiled`), 2x2/stride 2 pooling and its backward
    are one pass each, and the winner masks are only made if a graph of the backward is wanted."""

    retain_outputs = True
    relu = False  # ReluMaxPool2d: the compiled forward applies the ReLU in the same pass

    def __init__(self, geom):
        super().__init__()
        self.geom = geom
        self.argmax = self.colmax = None
        self._compiled = False  # the forward ran the compiled kernel (no column maxima kept)

    def forward(self, xp, x):
        geom = self.geom
        ho, wo = geom.output_hw(*x.shape[2:])
        if _is_pair_pool(geom):
            best = compiled.pair_pool(x, self.relu)
            self._compiled = best is not None
            if self._compiled:
                return best
            best, self.colmax = _pair_forward(xp, x, ho, wo)
            return best
        xpad = _padded(xp, x, geom, -xp.inf)
        best = index = None
        for k, i, j in _offsets(geom):
            v = _offset_view(xpad, geom, i, j, ho, wo)
            if best is None:
                best = v.copy()
                index = xp.zeros(best.shape, dtype=xp.int16)
                continue
            # Strictly greater: the first maximum of a window wins ties (one position gets the gradient).
            better = v > best
            index = xp.where(better, index.dtype.type(k), index)
            xp.maximum(best, v, out=best)
        self.argmax = index
        return best

    def __call__(self, *inputs):
        out = super().__call__(*inputs)
        if self.inputs is None:
            self.colmax = self._output_data = None  # no graph recorded: backward will never run
        return out

    def _selection(self):
        if self._compiled and self.argmax is None and self.colmax is None:  # made on demand, see forward
            x = self.inputs[0].data
            self.colmax = _pair_forward(get_array_module(x), x, *self.geom.output_hw(*x.shape[2:]))[1]
        if self.colmax is not None:
            # Masks are made here, not in forward, so inference never pays for them.
            self.argmax = _pair_selection(self.inputs[0].data, self.colmax)
            self.colmax = None
        return self.argmax

    def _compiled_backward(self, g, y=None):
        """The compiled scatter of ``g`` (masked by ``y > 0`` when given), or None where it cannot run
        (no compiled forward, a graph of the backward wanted, or arrays the kernel does not take)."""
        if not self._compiled or is_grad_enabled():
            return None
        out = compiled.pair_scatter(g.data, self.inputs[0].data, y)
        return None if out is None else (Tensor(out),)

    def backward(self, g):
        x = self.inputs[0]
        done = self._compiled_backward(g)
        if done is not None:
            return done
        if not is_grad_enabled():  # no graph of this backward wanted: the scatter without its Function
            return (wrap(_max_pool_grad(g.xp, g.data, self._selection(), self.geom, x.shape, x.data)),)
        return (MaxPool2dGrad(self.geom, self._selection(), x.shape, like=x.data)(g),)

    def release(self):
        super().release()
        self.argmax = self.colmax = None


class ReluMaxPool2d(MaxPool2d):
    """``max_pool2d(relu(x))`` as ``relu(max_pool2d(x))``: the same values and the same gradient.

    Where a window's maximum is positive, its first maximum in x is its first maximum in relu(x), so
    the gradient goes to the same position; where it is not, relu's slope of 0 (at 0 too) zeroes the
    gradient either way. Backward is the pooling scatter of ``g * (y > 0)``, built from differentiable
    ops, so double backward works as for max pooling.
    """

    relu = True

    def forward(self, xp, x):
        best = super().forward(xp, x)  # a fresh array: ReLU in place (the compiled kernel applied it)
        return best if self._compiled else xp.maximum(best, 0, out=best)

    def backward(self, g):
        y = self._output_data[0] if self._output_data is not None else self.output().data
        done = self._compiled_backward(g, y)
        if done is not None:
            return done
        mask = y > 0
        if is_grad_enabled():
            g = g * Tensor(mask.astype(g.dtype, copy=False))
        else:
            # No graph wanted: multiply by the boolean mask directly, into y's memory order (the
            # pooling masks'), which the scatter then reads without a layout change.
            xp = g.xp
            g = xp.multiply(g.data, mask, out=xp.empty_like(y, dtype=g.dtype))
            x = self.inputs[0]  # and the scatter without its Function
            return (wrap(_max_pool_grad(xp, g, self._selection(), self.geom, x.shape, x.data)),)
        x = self.inputs[0]
        return (MaxPool2dGrad(self.geom, self._selection(), x.shape, like=x.data)(g),)


def _max_pool_grad(xp, g, argmax, geom, x_shape, like=None):
    """Max pooling's input gradient (N, C, H, W): each window's ``g`` at its argmax (see MaxPool2dGrad)."""
    if isinstance(argmax, _PairSelection):
        return _pair_scatter(xp, g, argmax, x_shape, like)
    return _scatter(xp, g, argmax, geom, tuple(x_shape))


class MaxPool2dGrad(Function):
    """Scatter each window's gradient to its argmax: (N, C, Ho, Wo) -> (N, C, H, W). Linear in g."""

    def __init__(self, geom, argmax, x_shape, like=None):
        super().__init__()
        self.geom, self.argmax, self.x_shape = geom, argmax, tuple(x_shape)
        self._like = like  # the pooled input, for its memory layout only

    def forward(self, xp, g):
        like, self._like = self._like, None  # used once; never kept alive by the graph
        return _max_pool_grad(xp, g, self.argmax, self.geom, self.x_shape, like)

    def backward(self, h):
        return (MaxPool2dGather(self.geom, self.argmax)(h),)


class MaxPool2dGather(Function):
    """Read each window's value at a fixed argmax (the adjoint of :class:`MaxPool2dGrad`)."""

    def __init__(self, geom, argmax):
        super().__init__()
        self.geom, self.argmax = geom, argmax

    def forward(self, xp, h):
        if isinstance(self.argmax, _PairSelection):
            return _pair_gather(xp, h, self.argmax)
        hpad = _padded(xp, h, self.geom, 0.0)
        ho, wo = self.argmax.shape[2:]
        out = xp.zeros(self.argmax.shape, dtype=h.dtype)
        for k, i, j in _offsets(self.geom):
            out += _offset_view(hpad, self.geom, i, j, ho, wo) * (self.argmax == k)
        return out

    def backward(self, g):
        return (MaxPool2dGrad(self.geom, self.argmax, self.inputs[0].shape)(g),)


class AvgPool2d(Function):
    def __init__(self, geom):
        super().__init__()
        self.geom = geom

    def forward(self, xp, x):
        geom = self.geom
        xpad = _padded(xp, x, geom, 0.0)
        ho, wo = geom.output_hw(*x.shape[2:])
        total = xp.zeros((x.shape[0], x.shape[1], ho, wo), dtype=x.dtype)
        for _, i, j in _offsets(geom):
            total += _offset_view(xpad, geom, i, j, ho, wo)
        total *= x.dtype.type(1.0 / (geom.kh * geom.kw))
        return total

    def backward(self, g):
        return (AvgPool2dGrad(self.geom, self.inputs[0].shape)(g),)


class AvgPool2dGrad(Function):
    """Spread each window's gradient evenly over the window. Linear in g; its adjoint is avg pooling."""

    def __init__(self, geom, x_shape):
        super().__init__()
        self.geom, self.x_shape = geom, tuple(x_shape)

    def forward(self, xp, g):
        share = g * g.dtype.type(1.0 / (self.geom.kh * self.geom.kw))
        return _scatter(xp, share, None, self.geom, self.x_shape)

    def backward(self, h):
        return (AvgPool2d(self.geom)(h),)


#: Pooling geometries already made, keyed by their arguments and the arguments' types
#: (as :data:`engine.ops.window_geometry._GEOMETRIES`).
_GEOMETRIES: dict = {}


def _geometry(op, x, kernel_size, stride, padding):
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected input (N, C, H, W), got shape {x.shape}")
    key = (op, x.shape[2:], kernel_size, stride, padding, type(kernel_size), type(stride), type(padding))
    return cached(_GEOMETRIES, key, _make_geometry, op, x, kernel_size, stride, padding)


def _make_geometry(op, x, kernel_size, stride, padding):
    kh, kw = _pair(kernel_size, "kernel_size", op)
    stride = (kh, kw) if stride is None else stride
    ph, pw = _pair(padding, "padding", op)
    if ph * 2 > kh or pw * 2 > kw:
        raise ValueError(f"{op}: padding {(ph, pw)} must be at most half the kernel {(kh, kw)}")
    return make_geometry(op, x.shape[2:], (kh, kw), stride, (ph, pw))


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Maximum over each window.

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to the kernel size (non-overlapping windows).
    padding : int or (int, int)
        Implicit -inf padding on each side (at most half the kernel).

    Returns
    -------
    Tensor, shape (N, C, Ho, Wo).
    """
    x = as_tensor(x)
    return MaxPool2d(_geometry("max_pool2d", x, kernel_size, stride, padding))(x)


def relu_max_pool2d(x, kernel_size, stride=None, padding=0):
    """``max_pool2d(relu(x))`` with the ReLU applied after pooling (a quarter of the work for 2x2
    windows); values and gradients equal the unfused pair's. Shapes as :func:`max_pool2d`."""
    x = as_tensor(x)
    return ReluMaxPool2d(_geometry("relu_max_pool2d", x, kernel_size, stride, padding))(x)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over each window (zero padding counts in the mean). Shapes as :func:`max_pool2d`."""
    x = as_tensor(x)
    return AvgPool2d(_geometry("avg_pool2d", x, kernel_size, stride, padding))(x)


def global_avg_pool2d(x, keepdims=False):
    """Mean over the spatial axes: (N, C, H, W) -> (N, C) (or (N, C, 1, 1) with ``keepdims``)."""
    x = as_tensor(x)
    if x.ndim != 4:
        raise ShapeError(f"global_avg_pool2d: expected input (N, C, H, W), got shape {x.shape}")
    return mean_(x, axis=(2, 3), keepdims=keepdims)
