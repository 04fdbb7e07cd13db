"""Activation functions: one Function class per op, backward written with engine ops.

Every backward here is built from differentiable engine ops on the op's input or retained output, so
gradients of gradients work (double backward). Forward passes are written for numerical stability
(softplus, sigmoid, softmax and log_softmax never overflow, even for inputs of magnitude 1e4).
"""

from __future__ import annotations

import math

import numpy as np

from ..autodiff.function import Function
from ..autodiff.mode import is_grad_enabled
from ..autodiff.tensor import Tensor, wrap
from .math import abs as abs_
from .math import exp, minimum, square, where
from .reductions import _normalize_axes
from .reductions import sum as sum_

__all__ = [
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "erf",
    "sigmoid",
    "tanh",
    "softplus",
    "softsign",
    "softmax",
    "log_softmax",
    "relu_array",
]

# SELU constants from Klambauer et al. (2017), to the precision PyTorch uses.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


#: Rows of zeros by (width, dtype), for :func:`relu_array` (a few KB in all).
_ZERO_ROWS: dict = {}


def relu_array(xp, a, out=None):
    """``max(a, 0)`` on a raw array, into ``out`` (a new array when ``None``; ``a`` itself for in place).

    The same bits as ``xp.maximum(a, 0, out=out)``, faster on the host: numpy's ``maximum`` against a
    scalar runs its plain loop (~0.35 ns per float32 element on the project's machines), against an
    array its SIMD loop (~0.15 ns). So a host array whose rows are at least 16 wide is compared with
    one cached row of zeros, broadcast over the rows. NaN stays NaN and -0.0 becomes +0.0 either way
    (tested bit for bit).
    """
    if xp is np and a.ndim >= 1 and a.shape[-1] >= 16:
        key = (a.shape[-1], a.dtype)
        zeros = _ZERO_ROWS.get(key)
        if zeros is None:
            zeros = _ZERO_ROWS[key] = np.zeros(a.shape[-1], a.dtype)
        return np.maximum(a, zeros, out=out)
    return xp.maximum(a, 0, out=out)


def _const(mask, like: Tensor) -> Tensor:
    """A constant tensor (no gradient) of ``like``'s dtype from a boolean or float array."""
    return Tensor(mask.astype(like.dtype, copy=False))


class ReLU(Function):
    retain_outputs = True

    def forward(self, xp, x):
        return relu_array(xp, x)

    def backward(self, g):
        # The mask comes from y > 0, not from comparing x with max(x, 0): at x == 0 a tie-based rule
        # would pass the gradient through, but relu's subgradient convention (as tinygrad notes) is 0.
        mask = self._output_data[0] > 0 if self._output_data is not None else self.output().data > 0
        if not is_grad_enabled():
            # No graph of this backward is wanted: multiply by the boolean mask directly (far cheaper
            # than casting it to floats first, or than a masked copy).
            return (Tensor(g.data * mask),)
        return (g * _const(mask, g),)


class LeakyReLU(Function):
    def __init__(self, slope):
        super().__init__()
        self.slope = slope

    def forward(self, xp, x):
        return xp.where(x > 0, x, x * x.dtype.type(self.slope))

    def backward(self, g):
        x = self.inputs[0].data
        factor = x.dtype.type(1) * (x > 0) + x.dtype.type(self.slope) * (x <= 0)
        return (g * _const(factor, g),)


class ELU(Function):
    """``scale * (x if x > 0 else alpha (exp(x) - 1))``: ELU with scale 1, SELU with its constants."""

    def __init__(self, alpha, scale=1.0):
        super().__init__()
        self.alpha, self.scale = alpha, scale

    def forward(self, xp, x):
        neg = x.dtype.type(self.alpha) * xp.expm1(xp.minimum(x, 0))
        y = xp.where(x > 0, x, neg)
        if self.scale != 1.0:
            y *= x.dtype.type(self.scale)
        return y

    def backward(self, g):
        x = self.inputs[0]
        # d/dx = 1 for x > 0, alpha * exp(x) otherwise. exp(min(x, 0)) keeps the unused branch finite,
        # so its (masked) second derivative is 0, not 0 * inf.
        slope = self.alpha * exp(minimum(x, 0.0))
        gx = where(x.data > 0, g, g * slope)
        return (gx * self.scale if self.scale != 1.0 else gx,)


class GELU(Function):
    """``x * Phi(x)`` in the tanh approximation or exactly (through erf)."""

    def __init__(self, approximate):
        super().__init__()
        self.approximate = approximate

    def forward(self, xp, x):
        half = x.dtype.type(0.5)
        if self.approximate:
            inner = xp.tanh(x.dtype.type(_GELU_C) * (x + x.dtype.type(0.044715) * x * x * x))
        else:
            inner = _erf_array(xp, x * x.dtype.type(1 / math.sqrt(2.0)))
        inner += 1
        inner *= half * x
        return inner

    def backward(self, g):
        x = self.inputs[0]
        if self.approximate:
            t = tanh(_GELU_C * (x + 0.044715 * x * square(x)))
            dt = (1.0 - square(t)) * (_GELU_C * (1.0 + 3 * 0.044715 * square(x)))
            return (g * (0.5 * (1.0 + t) + 0.5 * x * dt),)
        phi_big = 0.5 * (1.0 + erf(x * (1 / math.sqrt(2.0))))
        phi = exp(-0.5 * square(x)) * (1 / math.sqrt(2 * math.pi))
        return (g * (phi_big + x * phi),)


_GELU_C = math.sqrt(2.0 / math.pi)


class _Erf(Function):
    def forward(self, xp, x):
        return _erf_array(xp, x)

    def backward(self, g):
        x = self.inputs[0]
        return (g * ((2.0 / math.sqrt(math.pi)) * exp(-square(x))),)


def _erf_array(xp, x):
    """Vectorised erf to about 1e-15 (float64 internally): a power series for |x| < 2.5 and a
    continued fraction for erfc beyond (numpy has no erf; this avoids a scipy dependency)."""
    z = xp.abs(x.astype(xp.float64))
    small = xp.minimum(z, 2.5)
    # erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)): all terms positive.
    term = small.copy()
    total = small.copy()
    x2 = small * small
    for n in range(1, 70):
        term = term * (2.0 * x2 / (2 * n + 1))
        total += term
    series = (2.0 / math.sqrt(math.pi)) * xp.exp(-x2) * total
    # erfc(x) = exp(-x^2)/sqrt(pi) / (x + 1/2 / (x + 1 / (x + 3/2 / (x + 2 / (x + ...))))), for x >= 2.5.
    big = xp.maximum(z, 2.5)
    frac = big.copy()
    for k in range(60, 0, -1):
        frac = big + (k / 2.0) / frac
    tail = 1.0 - xp.exp(-big * big) / math.sqrt(math.pi) / frac
    out = xp.where(z < 2.5, series, tail)
    return (xp.sign(x) * out).astype(x.dtype, copy=False)


class Sigmoid(Function):
    retain_outputs = True

    def forward(self, xp, x):
        # 0.5 (1 + tanh(x / 2)) equals 1 / (1 + exp(-x)) and never overflows.
        half = x.dtype.type(0.5)
        y = xp.tanh(x * half)
        y += 1
        y *= half
        return y

    def backward(self, g):
        if not is_grad_enabled() and self._output_data is not None:
            # No graph of this backward is wanted: the same products on raw arrays, without the three
            # engine ops (and their graph bookkeeping) of the form below.
            y = self._output_data[0]
            gx = g.data * y
            gx *= 1.0 - y
            return (wrap(gx),)
        y = self.output()
        return (g * y * (1.0 - y),)


class Tanh(Function):
    retain_outputs = True

    def forward(self, xp, x):
        return xp.tanh(x)

    def backward(self, g):
        y = self.output()
        return (g * (1.0 - square(y)),)


class Softplus(Function):
    def forward(self, xp, x):
        # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow for large |x|.
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, g):
        return (g * sigmoid(self.inputs[0]),)


class Softsign(Function):
    def forward(self, xp, x):
        return x / (1 + xp.abs(x))

    def backward(self, g):
        return (g / square(1.0 + abs_(self.inputs[0])),)


class Softmax(Function):
    retain_outputs = True

    def __init__(self, axis):
        super().__init__()
        self.axis = axis

    def forward(self, xp, x):
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        e /= e.sum(axis=self.axis, keepdims=True)
        return e

    def backward(self, g):
        y = self.output()
        gy = g * y
        return (gy - y * sum_(gy, axis=self.axis, keepdims=True),)


class LogSoftmax(Function):
    retain_outputs = True

    def __init__(self, axis):
        super().__init__()
        self.axis = axis

    def forward(self, xp, x):
        shifted = x - x.max(axis=self.axis, keepdims=True)
        shifted -= xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        return shifted

    def backward(self, g):
        y = self.output()
        return (g - exp(y) * sum_(g, axis=self.axis, keepdims=True),)


# ---------------------------------------------------------------------- functional wrappers
def relu(x):
    """Rectified linear unit ``max(x, 0)``; the gradient at exactly 0 is 0."""
    return ReLU()(x)


def leaky_relu(x, slope=0.01):
    """``x`` for x > 0, ``slope * x`` otherwise."""
    return LeakyReLU(float(slope))(x)


def elu(x, alpha=1.0):
    """Exponential linear unit: ``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise."""
    return ELU(float(alpha))(x)


def selu(x):
    """Scaled ELU (Klambauer et al. 2017): ``scale * elu(x, alpha)`` with the self-normalising constants
    alpha = 1.6733, scale = 1.0507."""
    return ELU(SELU_ALPHA, SELU_SCALE)(x)


def erf(x):
    """The error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt`` (accurate to ~1e-15 in float64)."""
    return _Erf()(x)


def gelu(x, approximate=True):
    """Gaussian error linear unit ``x * Phi(x)``.

    ``approximate=True`` uses the tanh form ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``;
    ``approximate=False`` the exact ``0.5 x (1 + erf(x / sqrt(2)))``.
    """
    return GELU(bool(approximate))(x)


def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))``, computed without overflow."""
    return Sigmoid()(x)


def tanh(x):
    """Hyperbolic tangent."""
    return Tanh()(x)


def softplus(x):
    """``log(1 + exp(x))``, computed stably; its gradient is ``sigmoid(x)``."""
    return Softplus()(x)


def softsign(x):
    """``x / (1 + |x|)``."""
    return Softsign()(x)


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis``, shifted by the maximum so large inputs stay finite."""
    (axis,) = _normalize_axes(axis, x.ndim, "softmax")
    return Softmax(axis)(x)


def log_softmax(x, axis=-1):
    """``x - logsumexp(x)`` along ``axis``; finite for inputs of any magnitude."""
    (axis,) = _normalize_axes(axis, x.ndim, "log_softmax")
    return LogSoftmax(axis)(x)
