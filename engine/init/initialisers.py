"""Initialisers: functions from a parameter shape and a random generator to starting values.

Every initialiser draws on the host from a ``numpy.random.Generator`` in float64, so the same seed gives
the same parameters on the CPU and on CUDA (the values are cast and copied to the device afterwards).
Each one has a JSON-able spec (``{"type": "xavier_uniform", "gain": 1.0}``) so the GUI, project files and
checkpoints can store which initialiser a parameter uses.

The variance-scaling family (Xavier/Glorot, He/Kaiming, LeCun) is in :mod:`engine.init.scaled`.

Fans: layers pass ``fan_in`` and ``fan_out`` explicitly. When they are not given, a 2-D shape is read as
``(in, out)`` (dense weights) and a shape with more axes as ``(out, in, *kernel)`` (convolution kernels),
with the kernel size multiplying both fans.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = [
    "Initialiser",
    "Constant",
    "Zeros",
    "Ones",
    "Uniform",
    "Gaussian",
    "Orthogonal",
    "FunctionInitialiser",
    "register_function",
    "compute_fans",
    "as_initialiser",
    "from_spec",
]

_TYPES: dict[str, type[Initialiser]] = {}
_FUNCTIONS: dict[str, Callable] = {}


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a parameter shape under the conventions in the module docstring."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _check_number(cls_name, arg, value, positive=False):
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and positive:
        ok = value > 0
    if not ok:
        expected = "a positive finite number" if positive else "a finite number"
        raise ValueError(
            f"Invalid value for `{arg}` in initialiser {cls_name}. Expected {expected}. Received: {value!r}"
        )
    return float(value)


class Initialiser:
    """Base class: subclasses set ``type_name`` and implement :meth:`draw`.

    Calling an initialiser, ``init(shape, rng, fan_in=None, fan_out=None)``, returns a float64 numpy
    array of ``shape``.
    """

    type_name = ""
    aliases: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("type_name"):
            for name in (cls.type_name, *cls.__dict__.get("aliases", ())):
                _TYPES[name] = cls

    def __call__(
        self, shape, rng: np.random.Generator, fan_in: int | None = None, fan_out: int | None = None
    ):
        shape = tuple(int(s) for s in shape)
        if fan_in is None or fan_out is None:
            fi, fo = compute_fans(shape)
            fan_in = fi if fan_in is None else fan_in
            fan_out = fo if fan_out is None else fan_out
        return np.asarray(self.draw(shape, rng, fan_in, fan_out), dtype=np.float64).reshape(shape)

    def draw(self, shape, rng, fan_in, fan_out):  # pragma: no cover - abstract
        raise NotImplementedError

    def config(self) -> dict:
        """Constructor arguments as JSON-able values."""
        return {}

    def spec(self) -> dict:
        """``{"type": ..., **arguments}``, readable by :func:`from_spec`."""
        return {"type": self.type_name, **self.config()}

    def __eq__(self, other):
        return type(other) is type(self) and other.spec() == self.spec()

    def __hash__(self):
        return hash(str(self.spec()))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class Constant(Initialiser):
    """Every element equal to ``value``."""

    type_name = "constant"

    def __init__(self, value: float = 0.0):
        self.value = _check_number("Constant", "value", value)

    def draw(self, shape, rng, fan_in, fan_out):
        return np.full(shape, self.value)

    def config(self):
        return {"value": self.value}


def Zeros() -> Constant:  # reads like a class at call sites
    """``Constant(0)``."""
    return Constant(0.0)


def Ones() -> Constant:
    """``Constant(1)``."""
    return Constant(1.0)


class Uniform(Initialiser):
    """Uniform on ``[low, high)``."""

    type_name = "uniform"

    def __init__(self, low: float = -0.05, high: float = 0.05):
        self.low = _check_number("Uniform", "low", low)
        self.high = _check_number("Uniform", "high", high)
        if not self.low < self.high:
            raise ValueError(
                f"Invalid value for `high` in initialiser Uniform. Expected a number above low={low}. "
                f"Received: {high!r}"
            )

    def draw(self, shape, rng, fan_in, fan_out):
        return rng.uniform(self.low, self.high, shape)

    def config(self):
        return {"low": self.low, "high": self.high}


class Gaussian(Initialiser):
    """Normal with mean ``mean`` and standard deviation ``std``."""

    type_name = "gaussian"
    aliases = ("normal",)

    def __init__(self, mean: float = 0.0, std: float = 0.05):
        self.mean = _check_number("Gaussian", "mean", mean)
        self.std = _check_number("Gaussian", "std", std, positive=True)

    def draw(self, shape, rng, fan_in, fan_out):
        return rng.normal(self.mean, self.std, shape)

    def config(self):
        return {"mean": self.mean, "std": self.std}


class SirenUniform(Initialiser):
    """Sitzmann et al. (2020), for sine layers ``sin(omega_0 (x W + b))``.

    The first layer draws ``U(-1/fan_in, 1/fan_in)``, so that ``omega_0 x W`` spans several periods
    over inputs in [-1, 1]; hidden layers draw ``U(-c, c)`` with ``c = sqrt(6 / fan_in) / omega_0``, so
    that every layer's pre-activations stay arcsine-distributed with unit spread whatever the depth.
    """

    type_name = "siren_uniform"

    def __init__(self, omega_0: float = 30.0, first: bool = False):
        self.omega_0 = _check_number("SirenUniform", "omega_0", omega_0, positive=True)
        if not isinstance(first, bool):
            raise ValueError(
                f"Invalid value for `first` in initialiser SirenUniform. Expected a bool. Received: {first!r}"
            )
        self.first = first

    def draw(self, shape, rng, fan_in, fan_out):
        fan_in = max(fan_in, 1)
        limit = 1.0 / fan_in if self.first else math.sqrt(6.0 / fan_in) / self.omega_0
        return rng.uniform(-limit, limit, shape)

    def config(self):
        return {"omega_0": self.omega_0, "first": self.first}


class Orthogonal(Initialiser):
    """Saxe et al. (2014): an orthogonal matrix (rows or columns orthonormal) times ``gain``.

    The shape is read as ``(shape[0], prod(shape[1:]))``; recurrent weight matrices use this.
    """

    type_name = "orthogonal"

    def __init__(self, gain: float = 1.0):
        self.gain = _check_number("Orthogonal", "gain", gain, positive=True)

    def draw(self, shape, rng, fan_in, fan_out):
        if len(shape) < 2:
            raise ValueError(
                f"Orthogonal initialiser needs a parameter with at least 2 axes, got shape {shape}"
            )
        rows, cols = shape[0], math.prod(shape[1:])
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))  # makes the result uniformly distributed over orthogonal matrices
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def config(self):
        return {"gain": self.gain}


class FunctionInitialiser(Initialiser):
    """A user function ``fn(shape, rng) -> array`` used as an initialiser.

    Its spec stores only the name it was registered under (:func:`register_function`): loading a spec
    never imports or evaluates code, so only registered functions can be read back.
    """

    type_name = "function"

    def __init__(self, fn: Callable | str, name: str | None = None):
        if isinstance(fn, str):
            if fn not in _FUNCTIONS:
                known = ", ".join(sorted(_FUNCTIONS)) or "none"
                raise ValueError(
                    f"Unknown initialiser function {fn!r}: register it with "
                    f"engine.init.register_function first (registered: {known})"
                )
            name, fn = fn, _FUNCTIONS[fn]
        if not callable(fn):
            raise ValueError(
                f"Invalid initialiser: expected a callable (shape, rng) -> array. Received: {fn!r}"
            )
        self.fn = fn
        self.name = name or getattr(fn, "__qualname__", repr(fn))

    def draw(self, shape, rng, fan_in, fan_out):
        out = np.asarray(self.fn(shape, rng), dtype=np.float64)
        if out.shape != shape and out.size != math.prod(shape):
            raise ValueError(
                f"Initialiser function {self.name!r} returned shape {out.shape} for a parameter "
                f"of shape {shape}"
            )
        return out

    def config(self):
        return {"name": self.name}


def register_function(name: str, fn: Callable | None = None):
    """Register ``fn(shape, rng) -> array`` under ``name`` so specs can name it (usable as a decorator)."""

    def deco(f):
        _FUNCTIONS[name] = f
        return f

    return deco(fn) if fn is not None else deco


def from_spec(spec: dict) -> Initialiser:
    """The initialiser described by ``spec`` (``{"type": ..., **arguments}``)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ValueError(f"Invalid initialiser spec: expected a dict with a 'type'. Received: {spec!r}")
    kind = spec["type"]
    cls = _TYPES.get(kind)
    if cls is None:
        raise ValueError(f"Unknown initialiser type {kind!r}. Expected one of: {', '.join(sorted(_TYPES))}")
    args = {k: v for k, v in spec.items() if k != "type"}
    if cls is FunctionInitialiser:
        return FunctionInitialiser(args.get("name", ""))
    try:
        return cls(**args)
    except TypeError as exc:
        raise ValueError(f"Invalid initialiser spec {spec!r}: {exc}") from None


def as_initialiser(value) -> Initialiser:
    """An :class:`Initialiser` from an initialiser, a spec dict, a type name, a number or a callable."""
    if isinstance(value, Initialiser):
        return value
    if isinstance(value, dict):
        return from_spec(value)
    if isinstance(value, str):
        return from_spec({"type": value})
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Constant(value)
    if callable(value):
        return FunctionInitialiser(value)
    raise ValueError(
        f"Invalid initialiser. Expected an Initialiser, a spec dict, a name, a number or a "
        f"callable (shape, rng) -> array. Received: {value!r}"
    )
