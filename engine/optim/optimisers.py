"""Optimisers: SGD, Momentum, Nesterov, AdaGrad, AdaDelta, RMSProp, Adam, AdamW, Adamax, Lion.

Each ``_update`` works on raw arrays in place (``out=`` into buffers made once per parameter), so the
hot path allocates nothing. The equations are in each class docstring; ``g`` is the gradient after
clipping and (coupled) weight decay, ``t`` the 1-based step count.
"""

from __future__ import annotations

import math

from ..backend import get_array_module
from .base import Optimiser, _check_positive, adaptive_descend, descend

__all__ = ["SGD", "Momentum", "Nesterov", "AdaGrad", "AdaDelta", "RMSProp", "Adam", "AdamW", "Adamax", "Lion"]


def _check_fraction(name, value):
    number = float(value)
    if not 0.0 <= number < 1.0:
        raise ValueError(f"Invalid value for `{name}`. Expected a number in [0, 1). Received: {value!r}")
    return number


class SGD(Optimiser):
    """Plain gradient descent: ``p -= lr * g``."""

    def _update(self, key, p, g, state):
        tmp = self._buffer(key, p)
        get_array_module(p).multiply(g, self.learning_rate, out=tmp)
        p -= tmp


class Momentum(Optimiser):
    """Heavy-ball momentum: ``v = momentum * v + g``; ``p -= lr * v``."""

    slots = ("velocity",)
    hyperparameters = ("learning_rate", "weight_decay", "momentum")

    def __init__(self, learning_rate=0.01, momentum=0.9, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum = _check_fraction("momentum", momentum)

    def _update(self, key, p, g, state):
        xp = get_array_module(p)
        v = state["velocity"]
        v *= self.momentum
        v += g
        tmp = self._buffer(key, p)
        xp.multiply(v, self.learning_rate, out=tmp)
        p -= tmp


class Nesterov(Momentum):
    """Nesterov momentum: ``v = momentum * v + g``; ``p -= lr * (g + momentum * v)``."""

    def _update(self, key, p, g, state):
        xp = get_array_module(p)
        v = state["velocity"]
        v *= self.momentum
        v += g
        tmp = self._buffer(key, p)
        xp.multiply(v, self.momentum, out=tmp)
        tmp += g
        descend(p, tmp, self.learning_rate)


class AdaGrad(Optimiser):
    """AdaGrad: ``s += g²``; ``p -= lr * g / (sqrt(s) + epsilon)``."""

    slots = ("sum_squares",)
    hyperparameters = ("learning_rate", "weight_decay", "epsilon")

    def __init__(self, learning_rate=0.01, epsilon=1e-8, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.epsilon = _check_positive("epsilon", epsilon)

    def _update(self, key, p, g, state):
        xp = get_array_module(p)
        s = state["sum_squares"]
        tmp = self._buffer(key, p)
        xp.multiply(g, g, out=tmp)
        s += tmp
        adaptive_descend(xp, p, g, s, self.epsilon, self.learning_rate, tmp)


class RMSProp(Optimiser):
    """RMSProp: ``s = rho * s + (1 - rho) * g²``; ``p -= lr * g / (sqrt(s) + epsilon)``."""

    slots = ("mean_square",)
    hyperparameters = ("learning_rate", "weight_decay", "rho", "epsilon")

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-8, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = _check_fraction("rho", rho)
        self.epsilon = _check_positive("epsilon", epsilon)

    def _update(self, key, p, g, state):
        xp = get_array_module(p)
        s = state["mean_square"]
        tmp = self._buffer(key, p)
        xp.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.rho
        s *= self.rho
        s += tmp
        adaptive_descend(xp, p, g, s, self.epsilon, self.learning_rate, tmp)


class AdaDelta(Optimiser):
    """AdaDelta: ``s = rho*s + (1-rho)*g²``; ``d = sqrt(u + eps) / sqrt(s + eps) * g``;
    ``u = rho*u + (1-rho)*d²``; ``p -= lr * d`` (``lr`` is 1.0 in the original paper)."""

    slots = ("mean_square", "mean_update")
    hyperparameters = ("learning_rate", "weight_decay", "rho", "epsilon")

    def __init__(self, learning_rate=1.0, rho=0.95, epsilon=1e-6, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = _check_fraction("rho", rho)
        self.epsilon = _check_positive("epsilon", epsilon)

    def _update(self, key, p, g, state):
        xp = get_array_module(p)
        s, u = state["mean_square"], state["mean_update"]
        tmp = self._buffer(key, p)
        d = self._buffer(key, p, 1)
        xp.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.rho
        s *= self.rho
        s += tmp
        xp.add(u, self.epsilon, out=d)
        xp.add(s, self.epsilon, out=tmp)
        xp.divide(d, tmp, out=d)
        xp.sqrt(d, out=d)
        d *= g
        xp.multiply(d, d, out=tmp)
        tmp *= 1.0 - self.rho
        u *= self.rho
        u += tmp
        descend(p, d, self.learning_rate)


class Adam(Optimiser):
    """Adam: ``m = b1*m + (1-b1)*g``; ``v = b2*v + (1-b2)*g²``;
    ``p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + epsilon)``.

    Computed as ``lr_t * m / (sqrt(v) + epsilon_t)`` with ``lr_t = lr*sqrt(1-b2^t)/(1-b1^t)`` and
    ``epsilon_t = epsilon*sqrt(1-b2^t)``, which is the same expression with fewer passes over memory.
    """

    slots = ("m", "v")
    hyperparameters = ("learning_rate", "weight_decay", "beta1", "beta2", "epsilon")

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta1 = _check_fraction("beta1", beta1)
        self.beta2 = _check_fraction("beta2", beta2)
        self.epsilon = _check_positive("epsilon", epsilon)

    def _moments(self, key, p, g, state):
        xp = get_array_module(p)
        m, v = state["m"], state["v"]
        tmp = self._buffer(key, p)
        xp.subtract(g, m, out=tmp)  # m += (1-b1)(g-m): one temporary instead of two
        tmp *= 1.0 - self.beta1
        m += tmp
        xp.multiply(g, g, out=tmp)
        xp.subtract(tmp, v, out=tmp)
        tmp *= 1.0 - self.beta2
        v += tmp
        return xp, m, v, tmp

    def _update(self, key, p, g, state):
        xp, m, v, tmp = self._moments(key, p, g, state)
        t = self.iterations
        correction2 = math.sqrt(1.0 - self.beta2**t)
        step = self.learning_rate * correction2 / (1.0 - self.beta1**t)
        adaptive_descend(xp, p, m, v, self.epsilon * correction2, step, tmp)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p -= lr * weight_decay * p`` before the Adam step
    (Loshchilov and Hutter); ``weight_decay`` defaults to 0.01."""

    _coupled_decay = False

    def __init__(
        self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, weight_decay=0.01, **kwargs
    ):
        super().__init__(learning_rate, beta1, beta2, epsilon, weight_decay=weight_decay, **kwargs)

    def _update(self, key, p, g, state):
        if self.weight_decay:
            p *= 1.0 - self.learning_rate * self.weight_decay
        super()._update(key, p, g, state)


class Adamax(Adam):
    """Adamax (infinity-norm Adam): ``m = b1*m + (1-b1)*g``; ``u = max(b2*u, |g|)``;
    ``p -= lr / (1-b1^t) * m / (u + epsilon)``."""

    slots = ("m", "u")

    def __init__(self, learning_rate=0.002, beta1=0.9, beta2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(learning_rate, beta1, beta2, epsilon, **kwargs)

    def _update(self, key, p, g, state):
        xp = get_array_module(p)
        m, u = state["m"], state["u"]
        tmp = self._buffer(key, p)
        xp.subtract(g, m, out=tmp)
        tmp *= 1.0 - self.beta1
        m += tmp
        u *= self.beta2
        xp.abs(g, out=tmp)
        xp.maximum(u, tmp, out=u)
        xp.add(u, self.epsilon, out=tmp)
        xp.divide(m, tmp, out=tmp)
        descend(p, tmp, self.learning_rate / (1.0 - self.beta1**self.iterations))


class Lion(Optimiser):
    """Lion (Chen et al., 2023): ``u = sign(b1*m + (1-b1)*g)``; ``p -= lr * (u + weight_decay * p)``;
    ``m = b2*m + (1-b2)*g``. Weight decay is decoupled, as in AdamW; use a 3-10x smaller rate than Adam."""

    slots = ("m",)
    hyperparameters = ("learning_rate", "weight_decay", "beta1", "beta2")
    _coupled_decay = False

    def __init__(self, learning_rate=1e-4, beta1=0.9, beta2=0.99, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta1 = _check_fraction("beta1", beta1)
        self.beta2 = _check_fraction("beta2", beta2)

    def _update(self, key, p, g, state):
        xp = get_array_module(p)
        m = state["m"]
        tmp = self._buffer(key, p)
        xp.subtract(g, m, out=tmp)  # b1*m + (1-b1)*g = m + (1-b1)(g - m)
        tmp *= 1.0 - self.beta1
        tmp += m
        xp.sign(tmp, out=tmp)
        if self.weight_decay:
            p *= 1.0 - self.learning_rate * self.weight_decay
        descend(p, tmp, self.learning_rate)
        xp.subtract(g, m, out=tmp)
        tmp *= 1.0 - self.beta2
        m += tmp
