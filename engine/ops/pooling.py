"""2-d pooling in NCHW layout: max, average and global average.

Windows are strided views of the (padded) input (see :mod:`engine.ops.conv`). Max pooling remembers the
argmax of each window: backward routes each gradient to that one position (the first one at a tie), and
the backward is itself a linear Function of the gradient, so double backward works. Average pooling
counts padded zeros in the mean (``count_include_pad=True`` as PyTorch's default).
"""

from __future__ import annotations

from ..autodiff.errors import ShapeError
from ..autodiff.function import Function
from ..autodiff.tensor import as_tensor
from .conv import _pair, col2im, make_geometry, windows
from .reductions import mean as mean_

__all__ = ["max_pool2d", "avg_pool2d", "global_avg_pool2d"]


def _window_columns(xp, x, geom, fill):
    """(N, C, H, W) -> contiguous (N, C, kh*kw, Ho, Wo) window contents."""
    v = windows(xp, x, geom, fill)
    n, c, kh, kw, ho, wo = v.shape
    return xp.ascontiguousarray(v).reshape(n, c, kh * kw, ho, wo)


class MaxPool2d(Function):
    def __init__(self, geom):
        super().__init__()
        self.geom = geom

    def forward(self, xp, x):
        cols = _window_columns(xp, x, self.geom, -xp.inf)
        self.argmax = cols.argmax(axis=2)[:, :, None]
        return xp.take_along_axis(cols, self.argmax, axis=2)[:, :, 0]

    def backward(self, g):
        return (MaxPool2dGrad(self.geom, self.argmax, self.inputs[0].shape)(g),)


class MaxPool2dGrad(Function):
    """Scatter each window's gradient to its argmax: (N, C, Ho, Wo) -> (N, C, H, W). Linear in g."""

    def __init__(self, geom, argmax, x_shape):
        super().__init__()
        self.geom, self.argmax, self.x_shape = geom, argmax, tuple(x_shape)

    def forward(self, xp, g):
        n, c, ho, wo = g.shape
        k = self.geom.kh * self.geom.kw
        # A one-hot mask times g (put_along_axis is missing on some cupy versions; masks are fast).
        hit = xp.arange(k).reshape(1, 1, k, 1, 1) == self.argmax
        cols = hit * g[:, :, None]
        return col2im(xp, cols.reshape(n, c * k, ho * wo), self.geom, self.x_shape)

    def backward(self, h):
        return (MaxPool2dGather(self.geom, self.argmax)(h),)


class MaxPool2dGather(Function):
    """Read each window's value at a fixed argmax (the adjoint of :class:`MaxPool2dGrad`)."""

    def __init__(self, geom, argmax):
        super().__init__()
        self.geom, self.argmax = geom, argmax

    def forward(self, xp, h):
        cols = _window_columns(xp, h, self.geom, 0.0)
        return xp.take_along_axis(cols, self.argmax, axis=2)[:, :, 0]

    def backward(self, g):
        return (MaxPool2dGrad(self.geom, self.argmax, self.inputs[0].shape)(g),)


class AvgPool2d(Function):
    def __init__(self, geom):
        super().__init__()
        self.geom = geom

    def forward(self, xp, x):
        v = windows(xp, x, self.geom, 0.0)
        return v.mean(axis=(2, 3), dtype=x.dtype)

    def backward(self, g):
        return (AvgPool2dGrad(self.geom, self.inputs[0].shape)(g),)


class AvgPool2dGrad(Function):
    """Spread each window's gradient evenly over the window. Linear in g; its adjoint is avg pooling."""

    def __init__(self, geom, x_shape):
        super().__init__()
        self.geom, self.x_shape = geom, tuple(x_shape)

    def forward(self, xp, g):
        n, c, ho, wo = g.shape
        kh, kw = self.geom.kh, self.geom.kw
        share = g * g.dtype.type(1.0 / (kh * kw))
        cols = xp.broadcast_to(share[:, :, None, None], (n, c, kh, kw, ho, wo))
        return col2im(xp, cols, self.geom, self.x_shape)

    def backward(self, h):
        return (AvgPool2d(self.geom)(h),)


def _geometry(op, x, kernel_size, stride, padding):
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected input (N, C, H, W), got shape {x.shape}")
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
