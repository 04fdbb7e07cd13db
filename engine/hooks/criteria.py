"""Criteria: conditions that gate a hook when its time step is due.

A criterion is called with the trainer and returns a bool. It reads values by name through
``trainer.value(name)`` (metric names such as ``loss`` or ``val_accuracy``, or registry identifiers such
as ``optimiser.learning_rate``); an unavailable value makes it false. Combine with ``&``, ``|`` and
``~``; combinations evaluate every part each time (no short circuit) so stateful parts such as
``on crossing`` or ``new minimum`` see every observation.
"""

from __future__ import annotations

import math
import operator
import threading

__all__ = ["Criterion", "Threshold", "NewExtremum", "Repeated", "And", "Or", "Not", "Toggle", "Always"]

_OPS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


class Criterion:
    """Base of criteria. Subclasses implement :meth:`check`; state (numbers only) in ``state_dict``."""

    def __call__(self, trainer) -> bool:
        return bool(self.check(trainer))

    def check(self, trainer) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def reads(self) -> tuple[str, ...]:
        """Names of the values this criterion reads."""
        return ()

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def __and__(self, other):
        return And(self, other)

    def __or__(self, other):
        return Or(self, other)

    def __invert__(self):
        return Not(self)


class Always(Criterion):
    """Always true (the default gate)."""

    def check(self, trainer):
        return True


class Threshold(Criterion):
    """``value <op> threshold``; ``mode="continuous"`` is true whenever it holds, ``mode="crossing"`` only
    on the first check where it holds after one where it did not.

    Parameters
    ----------
    value : str
        Metric name or registry identifier.
    op : str
        One of ``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``.
    threshold : float
    mode : str
        ``"continuous"`` or ``"crossing"``.
    """

    def __init__(self, value: str, op: str, threshold: float, mode: str = "continuous"):
        if op not in _OPS:
            raise ValueError(f"Invalid value for `op`. Expected one of {sorted(_OPS)}. Received: {op!r}")
        if mode not in ("continuous", "crossing"):
            raise ValueError(
                f"Invalid value for `mode`. Expected 'continuous' or 'crossing'. Received: {mode!r}"
            )
        self.value, self.op, self.threshold, self.mode = value, op, float(threshold), mode
        self._held = False

    def reads(self):
        return (self.value,)

    def check(self, trainer):
        v = trainer.value(self.value)
        holds = v is not None and _OPS[self.op](v, self.threshold)
        fire = holds if self.mode == "continuous" else holds and not self._held
        self._held = holds
        return fire

    def state_dict(self):
        return {"held": int(self._held)}

    def load_state_dict(self, state):
        self._held = bool(state.get("held", 0))


class NewExtremum(Criterion):
    """True when ``value`` reaches a new minimum (or maximum) by more than ``min_delta``."""

    def __init__(self, value: str, mode: str = "min", min_delta: float = 0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"Invalid value for `mode`. Expected 'min' or 'max'. Received: {mode!r}")
        self.value, self.mode, self.min_delta = value, mode, float(min_delta)
        self.best = math.inf if mode == "min" else -math.inf

    def reads(self):
        return (self.value,)

    def check(self, trainer):
        v = trainer.value(self.value)
        if v is None or math.isnan(v):
            return False
        better = v < self.best - self.min_delta if self.mode == "min" else v > self.best + self.min_delta
        if better:
            self.best = v
        return better

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = float(state.get("best", self.best))


class Repeated(Criterion):
    """True when ``criterion`` has been true ``times`` checks in a row; the count then starts again."""

    def __init__(self, criterion: Criterion, times: int):
        if int(times) < 1:
            raise ValueError(f"Invalid value for `times`. Expected an integer >= 1. Received: {times!r}")
        self.criterion, self.times, self.streak = criterion, int(times), 0

    def reads(self):
        return self.criterion.reads()

    def check(self, trainer):
        self.streak = self.streak + 1 if self.criterion(trainer) else 0
        if self.streak >= self.times:
            self.streak = 0
            return True
        return False

    def state_dict(self):
        return {"streak": self.streak, "inner": self.criterion.state_dict()}

    def load_state_dict(self, state):
        self.streak = int(state.get("streak", 0))
        self.criterion.load_state_dict(state.get("inner", {}))


class _Combined(Criterion):
    def __init__(self, *parts: Criterion):
        self.parts = parts

    def reads(self):
        return tuple(name for p in self.parts for name in p.reads())

    def state_dict(self):
        return {str(i): p.state_dict() for i, p in enumerate(self.parts)}

    def load_state_dict(self, state):
        for i, p in enumerate(self.parts):
            p.load_state_dict(state.get(str(i), {}))


class And(_Combined):
    """True when every part is true (every part is evaluated)."""

    def check(self, trainer):
        return all([p(trainer) for p in self.parts])


class Or(_Combined):
    """True when any part is true (every part is evaluated)."""

    def check(self, trainer):
        return any([p(trainer) for p in self.parts])


class Not(_Combined):
    """True when the part is false."""

    def check(self, trainer):
        return not self.parts[0](trainer)


class Toggle(Criterion):
    """A switch flipped from outside (the GUI, another thread): ``set(True)``, ``flip()``.

    With ``key`` the switch reads ``trainer.value(key)`` instead (a registry identifier the GUI sets,
    e.g. ``"hooks.save_now"``), falling back to the local switch when that value is absent.
    ``once=True`` switches itself off after it let a hook run (a one-shot button).
    """

    def __init__(self, initial: bool = False, key: str | None = None, once: bool = False):
        self._lock = threading.Lock()
        self._on = bool(initial)
        self.key, self.once = key, bool(once)

    def set(self, on: bool = True) -> None:
        with self._lock:
            self._on = bool(on)

    def flip(self) -> bool:
        with self._lock:
            self._on = not self._on
            return self._on

    @property
    def on(self) -> bool:
        with self._lock:
            return self._on

    def reads(self):
        return (self.key,) if self.key else ()

    def check(self, trainer):
        if self.key is not None:
            v = trainer.value(self.key)
            if v is not None:
                return bool(v)
        with self._lock:
            fire = self._on
            if fire and self.once:
                self._on = False
        return fire

    def state_dict(self):
        return {"on": int(self.on)}

    def load_state_dict(self, state):
        self.set(bool(state.get("on", 0)))
