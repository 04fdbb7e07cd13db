"""Max pooling's Functions: ``MaxPool2d``, ``ReluMaxPool2d`` and the scatter and gather that make its
backward differentiable.

Max pooling remembers which input won in each window: backward routes each gradient to that one
position (the first one at a tie, in row-major order), and the backward is itself a linear Function of
the gradient, so double backward works. 2x2 windows with stride 2 take the pairwise path
(:mod:`engine.ops.pool_pairs`: two boolean masks), other windows the general one
(:mod:`engine.ops.pool_windows`: an index per window); with the compiled kernels on
(:mod:`engine.ops.compiled`) the pair path's forward and backward are one pass each.
"""

from __future__ import annotations

from ..autodiff.function import Function
from ..autodiff.mode import is_grad_enabled
from ..autodiff.tensor import Tensor, wrap
from ..backend import get_array_module
from . import compiled
from . import pool_pairs as pairs
from . import pool_windows as windows
from .activations import relu_array

__all__ = ["MaxPool2d", "ReluMaxPool2d", "MaxPool2dGrad", "MaxPool2dGather"]


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
        if pairs.is_pair_pool(geom):
            best = compiled.pair_pool(x, self.relu)
            self._compiled = best is not None
            if self._compiled:
                return best
            best, self.colmax = pairs.forward(xp, x, *geom.output_hw(*x.shape[2:]))
            return best
        best, self.argmax = windows.max_forward(xp, x, geom)
        return best

    def __call__(self, *inputs):
        out = super().__call__(*inputs)
        if self.inputs is None:
            self.colmax = self._output_data = None  # no graph recorded: backward will never run
        return out

    def _selection(self):
        if self._compiled and self.argmax is None and self.colmax is None:  # made on demand, see forward
            x = self.inputs[0].data
            self.colmax = pairs.forward(get_array_module(x), x, *self.geom.output_hw(*x.shape[2:]))[1]
        if self.colmax is not None:
            # Masks are made here, not in forward, so inference never pays for them.
            self.argmax = pairs.selection(self.inputs[0].data, self.colmax)
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
        if not self._compiled:
            rows = _memory_rows(best)
            relu_array(xp, rows, out=rows)
        return best

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


def _memory_rows(a):
    """A 2-d view of (N, C, H, W) ``a``'s memory, NCHW or channels-last, in rows of its last two memory
    axes (H*W or W*C values), or ``a`` itself in any other layout. :func:`relu_array` then runs numpy's
    SIMD loop over rows much longer than the pooled width (a pooled W2 row is 7-14 values)."""
    if a.size < 4096:  # too small for the SIMD loop to pay for the views
        return a
    m = a if a.flags.c_contiguous else a.transpose(0, 2, 3, 1)
    return m.reshape(-1, m.shape[2] * m.shape[3]) if m.flags.c_contiguous else a


def _max_pool_grad(xp, g, argmax, geom, x_shape, like=None):
    """Max pooling's input gradient (N, C, H, W): each window's ``g`` at its argmax (see MaxPool2dGrad)."""
    if isinstance(argmax, pairs.PairSelection):
        return pairs.scatter(xp, g, argmax, x_shape, like)
    return windows.scatter(xp, g, argmax, geom, tuple(x_shape))


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
        if isinstance(self.argmax, pairs.PairSelection):
            return pairs.gather(xp, h, self.argmax)
        return windows.gather(xp, h, self.argmax, self.geom)

    def backward(self, g):
        return (MaxPool2dGrad(self.geom, self.argmax, self.inputs[0].shape)(g),)
