"""Time steps: when a hook is due.

The operator fires events named ``start``, ``iteration`` (after each optimiser step), ``epoch`` (after
each epoch), ``pause``, ``resume`` and ``stop`` (the run ends: finished, stopped or failed). A time step
says which of them a hook answers: every N iterations or epochs, once after N, or on one of the
lifecycle events. ``live_time`` retires a hook after it has run that many times.

Some hooks also keep a floor in seconds (:class:`~engine.hooks.PacedHook`, ``LayerHealth``,
``CheckpointSaver(min_seconds=)``): they read :func:`floor_clock`, the wall clock less the time a
benchmark held the run (:func:`hold_floor_clock`).
"""

from __future__ import annotations

import time

__all__ = ["TimeStep", "EVENTS", "every", "once_after", "on", "floor_clock", "hold_floor_clock"]

_held_seconds = 0.0


def floor_clock() -> float:
    """Seconds on the clock the hooks' floors count: ``time.monotonic()`` less the held time."""
    return time.monotonic() - _held_seconds


def hold_floor_clock(seconds: float) -> None:
    """Leave ``seconds`` out of :func:`floor_clock` from now on (process-wide).

    For a benchmark that holds one long run between timed blocks (``bench/workloads/engine_steps.py``):
    a user's run trains without such gaps, so floors in seconds must count only the time it trained, or
    every timed block would start with the histograms, layer health and checkpoint a floor held back.
    """
    global _held_seconds
    _held_seconds += float(seconds)


EVENTS = ("start", "iteration", "epoch", "pause", "resume", "stop")
_UNITS = {"iteration": "iteration", "iterations": "iteration", "epoch": "epoch", "epochs": "epoch"}


class TimeStep:
    """When a hook runs.

    Parameters
    ----------
    interval : int
        Run every ``interval`` iterations or epochs (counted from the start of training, so a resumed
        run keeps the same rhythm).
    unit : str
        ``"iteration"`` or ``"epoch"``; or a lifecycle event: ``"start"``, ``"stop"``, ``"pause"``,
        ``"resume"`` (``interval`` is then ignored).
    once : bool
        Run only when the counter equals ``interval`` (once after N).
    live_time : int, optional
        Retire the hook after it has run this many times.

    Examples
    --------
    >>> TimeStep(10, "iteration")      # every 10 iterations
    >>> TimeStep(5, "epoch", once=True) # once, after the 5th epoch
    >>> TimeStep(unit="stop")           # when the run ends
    """

    def __init__(
        self, interval: int = 1, unit: str = "iteration", once: bool = False, live_time: int | None = None
    ):
        unit = str(unit).lower()
        if unit in _UNITS:
            self.event = _UNITS[unit]
        elif unit in EVENTS:
            self.event = unit
        else:
            raise ValueError(
                f"Invalid value for `unit`. Expected iteration, epoch or one of {EVENTS}. Received: {unit!r}"
            )
        if int(interval) < 1:
            raise ValueError(
                f"Invalid value for `interval`. Expected an integer >= 1. Received: {interval!r}"
            )
        if live_time is not None and int(live_time) < 1:
            raise ValueError(
                f"Invalid value for `live_time`. Expected an integer >= 1. Received: {live_time!r}"
            )
        self.interval = int(interval)
        self.once = bool(once)
        self.live_time = None if live_time is None else int(live_time)

    @property
    def counted(self) -> bool:
        """Whether this time step counts iterations or epochs (rather than a lifecycle event)."""
        return self.event in ("iteration", "epoch")

    def due(self, event: str, iteration: int, epoch: int) -> bool:
        """Whether ``event`` with these counters (1-based after the step/epoch) is this time step."""
        if event != self.event:
            return False
        if not self.counted:
            return True
        count = iteration if self.event == "iteration" else epoch
        if self.once:
            return count == self.interval
        return count % self.interval == 0

    def __repr__(self) -> str:
        if not self.counted:
            return f"TimeStep(unit={self.event!r})"
        extra = ", once=True" if self.once else ""
        extra += f", live_time={self.live_time}" if self.live_time is not None else ""
        return f"TimeStep({self.interval}, {self.event!r}{extra})"


def every(interval: int = 1, unit: str = "iteration", live_time: int | None = None) -> TimeStep:
    """Every ``interval`` iterations or epochs."""
    return TimeStep(interval, unit, live_time=live_time)


def once_after(interval: int, unit: str = "iteration") -> TimeStep:
    """Once, when the counter reaches ``interval``."""
    return TimeStep(interval, unit, once=True)


def on(event: str) -> TimeStep:
    """On a lifecycle event: ``start``, ``stop``, ``pause`` or ``resume``."""
    return TimeStep(unit=event)
