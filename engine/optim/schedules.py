"""Learning-rate schedules: a value per step (iteration or epoch, whichever the scheduler hook counts).

``initial=None`` means "the optimiser's learning rate when training starts" (bound by
:meth:`Schedule.bind`). Stateless schedules are pure functions of the step; :class:`ReduceOnPlateau`
keeps state, saved with ``state_dict`` (numbers only).
"""

from __future__ import annotations

import math

__all__ = [
    "Schedule",
    "Constant",
    "StepDecay",
    "ExponentialDecay",
    "CosineDecay",
    "OneCycle",
    "ReduceOnPlateau",
    "schedule_from_spec",
]


class Schedule:
    """Base of learning-rate schedules: ``schedule(step) -> learning rate``."""

    def __init__(self, initial: float | None = None):
        self.initial = None if initial is None else float(initial)

    def bind(self, learning_rate: float) -> None:
        """Take ``learning_rate`` as the initial value unless one was given."""
        if self.initial is None:
            self.initial = float(learning_rate)

    def __call__(self, step: int) -> float:
        if self.initial is None:
            raise ValueError(
                f"{type(self).__name__} has no initial learning rate: pass `initial` or bind() it"
            )
        return float(self.value(int(step)))

    def value(self, step: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {"initial": self.initial if self.initial is not None else float("nan")}

    def load_state_dict(self, state: dict) -> None:
        initial = float(state.get("initial", float("nan")))
        self.initial = None if math.isnan(initial) else initial


class Constant(Schedule):
    """The same learning rate at every step."""

    def value(self, step):
        return self.initial


class StepDecay(Schedule):
    """``initial * gamma ** (step // step_size)``."""

    def __init__(self, step_size: int, gamma: float = 0.1, initial: float | None = None):
        super().__init__(initial)
        if int(step_size) < 1:
            raise ValueError(
                f"Invalid value for `step_size`. Expected an integer >= 1. Received: {step_size!r}"
            )
        self.step_size = int(step_size)
        self.gamma = float(gamma)

    def value(self, step):
        return self.initial * self.gamma ** (step // self.step_size)


class ExponentialDecay(Schedule):
    """``initial * gamma ** step``."""

    def __init__(self, gamma: float, initial: float | None = None):
        super().__init__(initial)
        self.gamma = float(gamma)

    def value(self, step):
        return self.initial * self.gamma**step


class CosineDecay(Schedule):
    """Linear warm-up to ``initial`` over ``warmup_steps`` (``initial * (step + 1) / warmup_steps``), then
    cosine annealing to ``minimum`` at ``total_steps``; ``minimum`` afterwards."""

    def __init__(
        self, total_steps: int, warmup_steps: int = 0, minimum: float = 0.0, initial: float | None = None
    ):
        super().__init__(initial)
        if int(total_steps) < 1 or not 0 <= int(warmup_steps) <= int(total_steps):
            raise ValueError(
                f"Invalid value for `total_steps`/`warmup_steps`. Expected 0 <= warmup_steps <= "
                f"total_steps, total_steps >= 1. Received: {total_steps!r}, {warmup_steps!r}"
            )
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.minimum = float(minimum)

    def value(self, step):
        if step < self.warmup_steps:
            return self.initial * (step + 1) / self.warmup_steps
        span = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        return self.minimum + 0.5 * (self.initial - self.minimum) * (1.0 + math.cos(math.pi * progress))


def _cos_anneal(start, end, fraction):
    return end + (start - end) / 2.0 * (1.0 + math.cos(math.pi * fraction))


class OneCycle(Schedule):
    """Smith's one-cycle policy (as PyTorch's ``OneCycleLR`` with cosine annealing): from
    ``initial / div_factor`` up to ``initial`` (the peak) over the first ``pct_start`` of ``total_steps``,
    then down to ``initial / div_factor / final_div_factor``."""

    def __init__(
        self,
        total_steps: int,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        initial: float | None = None,
    ):
        super().__init__(initial)
        if int(total_steps) < 2 or not 0.0 < float(pct_start) < 1.0:
            raise ValueError(
                f"Invalid value for `total_steps`/`pct_start`. Expected total_steps >= 2 and "
                f"0 < pct_start < 1. Received: {total_steps!r}, {pct_start!r}"
            )
        self.total_steps = int(total_steps)
        self.pct_start = float(pct_start)
        self.div_factor = float(div_factor)
        self.final_div_factor = float(final_div_factor)

    def value(self, step):
        start = self.initial / self.div_factor
        end = start / self.final_div_factor
        peak_step = self.pct_start * self.total_steps - 1.0
        last = self.total_steps - 1.0
        step = min(step, last)
        if step <= peak_step:
            return _cos_anneal(start, self.initial, step / peak_step if peak_step > 0 else 1.0)
        return _cos_anneal(self.initial, end, (step - peak_step) / (last - peak_step))


class ReduceOnPlateau(Schedule):
    """Multiply the rate by ``factor`` when a monitored value has not improved by more than ``min_delta``
    for ``patience`` updates; wait ``cooldown`` updates after each reduction; never below ``minimum``.

    Call :meth:`update` with the monitored value (e.g. ``val_loss`` once an epoch); ``schedule(step)``
    returns the current rate.
    """

    def __init__(
        self,
        factor: float = 0.1,
        patience: int = 10,
        min_delta: float = 0.0,
        mode: str = "min",
        cooldown: int = 0,
        minimum: float = 0.0,
        initial: float | None = None,
    ):
        super().__init__(initial)
        if not 0.0 < float(factor) < 1.0:
            raise ValueError(f"Invalid value for `factor`. Expected a number in (0, 1). Received: {factor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"Invalid value for `mode`. Expected 'min' or 'max'. Received: {mode!r}")
        self.factor, self.patience, self.min_delta = float(factor), int(patience), float(min_delta)
        self.mode, self.cooldown, self.minimum = mode, int(cooldown), float(minimum)
        self.current: float | None = None
        self.best = math.inf if mode == "min" else -math.inf
        self.bad_updates = 0
        self.cooldown_left = 0

    def bind(self, learning_rate):
        super().bind(learning_rate)
        if self.current is None:
            self.current = self.initial

    def value(self, step):
        return self.initial if self.current is None else self.current

    def update(self, metric: float) -> float:
        """Feed the monitored value; return the (possibly reduced) learning rate."""
        if self.current is None:
            self.current = self.initial
        metric = float(metric)
        improved = (
            metric < self.best - self.min_delta if self.mode == "min" else metric > self.best + self.min_delta
        )
        if improved:
            self.best, self.bad_updates = metric, 0
        else:
            self.bad_updates += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_updates = 0
        elif self.bad_updates > self.patience:
            self.current = max(self.minimum, self.current * self.factor)
            self.cooldown_left, self.bad_updates = self.cooldown, 0
        return self.current

    def state_dict(self):
        return {
            **super().state_dict(),
            "current": float("nan") if self.current is None else self.current,
            "best": self.best,
            "bad_updates": self.bad_updates,
            "cooldown_left": self.cooldown_left,
        }

    def load_state_dict(self, state):
        super().load_state_dict(state)
        current = float(state.get("current", float("nan")))
        self.current = None if math.isnan(current) else current
        self.best = float(state.get("best", self.best))
        self.bad_updates = int(state.get("bad_updates", 0))
        self.cooldown_left = int(state.get("cooldown_left", 0))


SCHEDULES = {
    "constant": Constant,
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "cosine": CosineDecay,
    "one_cycle": OneCycle,
    "onecycle": OneCycle,
    "reduce_on_plateau": ReduceOnPlateau,
    "plateau": ReduceOnPlateau,
}


def schedule_from_spec(spec) -> Schedule:
    """A schedule from ``{"type": "cosine", "total_steps": 1000, "warmup_steps": 100}`` and the like."""
    if isinstance(spec, Schedule):
        return spec
    spec = dict(spec)
    name = str(spec.pop("type", "")).lower()
    if name not in SCHEDULES:
        raise ValueError(f"Invalid schedule type {name!r}. Expected one of {sorted(SCHEDULES)}.")
    try:
        return SCHEDULES[name](**spec)
    except TypeError as exc:
        raise ValueError(f"Invalid arguments for schedule {name!r}: {exc}") from None
