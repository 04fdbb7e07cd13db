"""Variance-scaling initialisers: uniform or normal draws whose variance is set by the parameter's fans
and a gain (Xavier/Glorot, He/Kaiming, LeCun), on the base class and conventions of
:mod:`engine.init.initialisers` (fans, specs, registration by ``type_name``).
"""

from __future__ import annotations

import math

from .initialisers import Initialiser, _check_number

__all__ = [
    "XavierUniform",
    "XavierNormal",
    "GlorotUniform",
    "GlorotNormal",
    "HeUniform",
    "HeNormal",
    "KaimingUniform",
    "KaimingNormal",
    "LeCunUniform",
    "LeCunNormal",
    "LeCun",
]


class _Scaled(Initialiser):
    """Variance scaling: uniform or normal with a variance set by the fans and a gain."""

    distribution = "uniform"

    def __init__(self, gain: float = 1.0):
        self.gain = _check_number(type(self).__name__, "gain", gain, positive=True)

    def variance(self, fan_in, fan_out):  # pragma: no cover - abstract
        raise NotImplementedError

    def draw(self, shape, rng, fan_in, fan_out):
        std = self.gain * math.sqrt(self.variance(max(fan_in, 1), max(fan_out, 1)))
        if self.distribution == "uniform":
            limit = math.sqrt(3.0) * std  # a uniform on [-a, a] has variance a^2 / 3
            return rng.uniform(-limit, limit, shape)
        return rng.normal(0.0, std, shape)

    def config(self):
        return {"gain": self.gain}


class XavierUniform(_Scaled):
    """Glorot & Bengio (2010): uniform with variance ``2 / (fan_in + fan_out)``."""

    type_name = "xavier_uniform"
    aliases = ("glorot_uniform",)

    def variance(self, fan_in, fan_out):
        return 2.0 / (fan_in + fan_out)


class XavierNormal(XavierUniform):
    """Glorot & Bengio (2010): normal with variance ``2 / (fan_in + fan_out)``."""

    type_name = "xavier_normal"
    aliases = ("glorot_normal",)
    distribution = "normal"


class HeUniform(_Scaled):
    """He et al. (2015), for ReLU networks: uniform with variance ``2 / fan_in``."""

    type_name = "he_uniform"
    aliases = ("kaiming_uniform",)

    def variance(self, fan_in, fan_out):
        return 2.0 / fan_in


class HeNormal(HeUniform):
    """He et al. (2015): normal with variance ``2 / fan_in``."""

    type_name = "he_normal"
    aliases = ("kaiming_normal",)
    distribution = "normal"


class LeCunUniform(_Scaled):
    """LeCun (1998): uniform with variance ``1 / fan_in``."""

    type_name = "lecun_uniform"

    def variance(self, fan_in, fan_out):
        return 1.0 / fan_in


class LeCunNormal(LeCunUniform):
    """LeCun (1998): normal with variance ``1 / fan_in`` (the one SELU networks want)."""

    type_name = "lecun_normal"
    aliases = ("lecun",)
    distribution = "normal"


GlorotUniform, GlorotNormal = XavierUniform, XavierNormal
KaimingUniform, KaimingNormal = HeUniform, HeNormal
LeCun = LeCunNormal
