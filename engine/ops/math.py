"""Elementwise arithmetic and math functions with broadcasting.

Gradients of broadcast inputs are summed back to the input's shape (``sum_to``).
"""

from __future__ import annotations

import builtins

import numpy as np

from ..autodiff.function import Function
from ..autodiff.tensor import Tensor
from .broadcast import sum_to

__all__ = [
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "pow",
    "square",
    "exp",
    "log",
    "sqrt",
    "abs",
    "sign",
    "clip",
    "maximum",
    "minimum",
    "where",
    "astype",
    "reciprocal",
]


def _unbroadcast(g, shape):
    return g if g.shape == shape else sum_to(g, shape)


class Add(Function):
    def forward(self, xp, a, b):
        return a + b

    def backward(self, g):
        a, b = self.inputs
        return _unbroadcast(g, a.shape), _unbroadcast(g, b.shape)


class Sub(Function):
    def forward(self, xp, a, b):
        return a - b

    def backward(self, g):
        a, b = self.inputs
        return _unbroadcast(g, a.shape), _unbroadcast(-g, b.shape)


class Mul(Function):
    def forward(self, xp, a, b):
        return a * b

    def backward(self, g):
        a, b = self.inputs
        ga = _unbroadcast(g * b, a.shape) if a.requires_grad else None
        gb = _unbroadcast(g * a, b.shape) if b.requires_grad else None
        return ga, gb


class Div(Function):
    def forward(self, xp, a, b):
        return a / b

    def backward(self, g):
        a, b = self.inputs
        gb_full = g / b
        ga = _unbroadcast(gb_full, a.shape) if a.requires_grad else None
        gb = _unbroadcast(-gb_full * a / b, b.shape) if b.requires_grad else None
        return ga, gb


class Neg(Function):
    def forward(self, xp, a):
        return -a

    def backward(self, g):
        return (-g,)


class PowConst(Function):
    """x ** p for a constant exponent p."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, xp, a):
        if self.p == 2:
            return a * a
        return a ** a.dtype.type(self.p) if a.dtype.kind == "f" else a**self.p

    def backward(self, g):
        (x,) = self.inputs
        if self.p == 2:
            return (g * (2.0 * x),)
        return (g * (self.p * pow(x, self.p - 1)),)


class Pow(Function):
    """a ** b with both operands tensors."""

    retain_outputs = True

    def forward(self, xp, a, b):
        return a**b

    def backward(self, g):
        a, b = self.inputs
        y = self.output()
        ga = _unbroadcast(g * b * pow(a, b - 1.0), a.shape) if a.requires_grad else None
        gb = _unbroadcast(g * y * log(a), b.shape) if b.requires_grad else None
        return ga, gb


class Exp(Function):
    retain_outputs = True

    def forward(self, xp, a):
        return xp.exp(a)

    def backward(self, g):
        return (g * self.output(),)


class Log(Function):
    def forward(self, xp, a):
        return xp.log(a)

    def backward(self, g):
        return (g / self.inputs[0],)


class Sqrt(Function):
    retain_outputs = True

    def forward(self, xp, a):
        return xp.sqrt(a)

    def backward(self, g):
        return (g / (2.0 * self.output()),)


class Abs(Function):
    def forward(self, xp, a):
        return xp.abs(a)

    def backward(self, g):
        x = self.inputs[0]
        return (g * Tensor(x.xp.sign(x.data)),)


class Clip(Function):
    def __init__(self, lo, hi):
        super().__init__()
        self.lo, self.hi = lo, hi

    def forward(self, xp, a):
        return xp.clip(a, self.lo, self.hi)

    def backward(self, g):
        x = self.inputs[0].data
        inside = x == x  # NaN counts as outside
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        return (g * Tensor(inside.astype(x.dtype)),)


class _Extremum(Function):
    """maximum/minimum: the gradient goes to the selected operand; ties go to the first one."""

    def backward(self, g):
        a, b = self.inputs
        pick_a = self._pick_a(a.data, b.data)
        ma = Tensor(pick_a.astype(g.dtype))
        mb = Tensor((~pick_a).astype(g.dtype))
        ga = _unbroadcast(g * ma, a.shape) if a.requires_grad else None
        gb = _unbroadcast(g * mb, b.shape) if b.requires_grad else None
        return ga, gb


class Maximum(_Extremum):
    def forward(self, xp, a, b):
        return xp.maximum(a, b)

    @staticmethod
    def _pick_a(a, b):
        return a >= b


class Minimum(_Extremum):
    def forward(self, xp, a, b):
        return xp.minimum(a, b)

    @staticmethod
    def _pick_a(a, b):
        return a <= b


class Where(Function):
    """Elementwise choice between two tensors by a boolean condition (the condition has no gradient)."""

    def __init__(self, condition):
        super().__init__()
        self.condition = condition

    def forward(self, xp, a, b):
        self.condition = xp.asarray(self.condition)  # a host mask moves to the operands' device
        return xp.where(self.condition, a, b)

    def backward(self, g):
        a, b = self.inputs
        zero = Tensor(g.xp.zeros((), dtype=g.dtype))
        cond = Tensor(self.condition)
        ga = _unbroadcast(where(cond, g, zero), a.shape) if a.requires_grad else None
        gb = _unbroadcast(where(cond, zero, g), b.shape) if b.requires_grad else None
        return ga, gb


class AsType(Function):
    check_dtypes = False

    def __init__(self, dtype):
        super().__init__()
        self.dtype = np.dtype(dtype)

    def forward(self, xp, a):
        return a.astype(self.dtype)

    def backward(self, g):
        return (astype(g, self.inputs[0].dtype),)


# ---------------------------------------------------------------------- functional wrappers
def add(a, b):
    """Elementwise ``a + b`` with broadcasting."""
    return Add()(a, b)


def sub(a, b):
    """Elementwise ``a - b`` with broadcasting."""
    return Sub()(a, b)


def mul(a, b):
    """Elementwise ``a * b`` with broadcasting."""
    return Mul()(a, b)


def div(a, b):
    """Elementwise ``a / b`` with broadcasting."""
    return Div()(a, b)


def neg(a):
    """Elementwise ``-a``."""
    return Neg()(a)


def pow(a, b):
    """Elementwise ``a ** b``. A number exponent is a constant (d/da = b a^(b-1))."""
    if isinstance(b, int | float) and not isinstance(b, bool):
        return PowConst(b)(a)
    return Pow()(a, b)


def square(a):
    """Elementwise ``a ** 2``."""
    return PowConst(2)(a)


def reciprocal(a):
    """Elementwise ``1 / a``."""
    return div(1.0, a)


def exp(a):
    """Elementwise ``e ** a``."""
    return Exp()(a)


def log(a):
    """Elementwise natural logarithm (``-inf`` at 0, NaN below, as numpy)."""
    return Log()(a)


def sqrt(a):
    """Elementwise square root."""
    return Sqrt()(a)


def abs(a):
    """Elementwise absolute value; the gradient at 0 is 0 (the subgradient sign(0))."""
    return Abs()(a)


def sign(a):
    """Elementwise sign, without gradient."""
    data = a.data if isinstance(a, Tensor) else a
    xp = a.xp if isinstance(a, Tensor) else np
    return Tensor(xp.sign(data))


def clip(a, lo=None, hi=None):
    """Clamp values into ``[lo, hi]`` (either bound may be None); the gradient is 1 inside, 0 outside."""
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"clip: lower bound {lo} is above upper bound {hi}")
    return Clip(lo, hi)(a)


def maximum(a, b):
    """Elementwise maximum with broadcasting; at ties the gradient goes to ``a``."""
    return Maximum()(a, b)


def minimum(a, b):
    """Elementwise minimum with broadcasting; at ties the gradient goes to ``a``."""
    return Minimum()(a, b)


def where(condition, a, b):
    """``a`` where ``condition`` is true, else ``b`` (broadcasting all three)."""
    cond = condition.data if isinstance(condition, Tensor) else condition
    if not hasattr(cond, "dtype"):
        cond = np.asarray(cond)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    return Where(cond)(a, b)


def astype(a, dtype):
    """Cast to ``dtype``; differentiable between floating dtypes."""
    if isinstance(a, Tensor) and a.dtype == np.dtype(dtype):
        return a
    return AsType(dtype)(a)


_ = builtins  # the module shadows abs/pow on purpose: engine.ops.abs, engine.ops.pow
