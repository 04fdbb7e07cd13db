"""2-d pooling in NCHW layout: max, average and global average (the functional API).

Max pooling's Functions are in :mod:`engine.ops.max_pool`, its 2x2/stride-2 pairwise path in
:mod:`engine.ops.pool_pairs` and the general window path in :mod:`engine.ops.pool_windows`. Average
pooling counts padded zeros in the mean (``count_include_pad=True`` as PyTorch's default).

``relu_max_pool2d(x)`` is ``max_pool2d(relu(x))`` computed as ``relu(max_pool2d(x))`` (they are equal:
max and ReLU are both monotone), so the ReLU and its backward touch a quarter of the values; networks use
it for a ReLU convolution followed by max pooling (:mod:`engine.network.fusion`).
"""

from __future__ import annotations

from ..autodiff.errors import ShapeError
from ..autodiff.function import Function
from ..autodiff.tensor import as_tensor
from . import pool_windows as windows
from .max_pool import MaxPool2d, ReluMaxPool2d
from .reductions import mean as mean_
from .window_geometry import _pair, cached, make_geometry

__all__ = ["max_pool2d", "relu_max_pool2d", "avg_pool2d", "global_avg_pool2d"]


class AvgPool2d(Function):
    def __init__(self, geom):
        super().__init__()
        self.geom = geom

    def forward(self, xp, x):
        geom = self.geom
        total = windows.window_sum(xp, x, geom)
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
        return windows.scatter(xp, share, None, self.geom, self.x_shape)

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
