"""Periodic functions: ``sin(omega x)`` and ``cos(omega x)``, the building blocks of sine networks
(SIREN) and Fourier features.

The frequency factor ``omega`` is part of the op rather than a separate multiply: SIREN applies
``sin(omega_0 (x W + b))`` to every hidden unit, and fusing the scale saves a full pass over the
activations in both directions. Backwards are built from the two ops themselves, so gradients of
gradients work.
"""

from __future__ import annotations

from ..autodiff.function import Function

__all__ = ["sin", "cos"]


def _scaled(xp, x, omega):
    """A fresh array ``omega * x`` (0-d arrays stay arrays) that the op overwrites in place."""
    return xp.asarray(x * x.dtype.type(omega)) if omega != 1.0 else x.copy()


class Sin(Function):
    """``sin(omega x)``; d/dx = ``omega cos(omega x)``."""

    def __init__(self, omega: float = 1.0):
        super().__init__()
        self.omega = float(omega)

    def forward(self, xp, x):
        y = _scaled(xp, x, self.omega)
        return xp.sin(y, out=y)

    def backward(self, g):
        d = Cos(self.omega)(self.inputs[0])
        return (g * d * self.omega if self.omega != 1.0 else g * d,)


class Cos(Function):
    """``cos(omega x)``; d/dx = ``-omega sin(omega x)``."""

    def __init__(self, omega: float = 1.0):
        super().__init__()
        self.omega = float(omega)

    def forward(self, xp, x):
        y = _scaled(xp, x, self.omega)
        return xp.cos(y, out=y)

    def backward(self, g):
        return (g * Sin(self.omega)(self.inputs[0]) * (-self.omega),)


def sin(x, omega: float = 1.0):
    """Elementwise ``sin(omega * x)``.

    Parameters
    ----------
    x : Tensor, any shape
    omega : float
        Angular frequency factor (SIREN's ``omega_0``); a constant, not differentiated.

    Returns
    -------
    Tensor, the shape of ``x``
    """
    return Sin(omega)(x)


def cos(x, omega: float = 1.0):
    """Elementwise ``cos(omega * x)`` (``omega`` as in :func:`sin`)."""
    return Cos(omega)(x)
