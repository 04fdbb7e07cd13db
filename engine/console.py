"""The console monitor: progress lines for headless runs (``sigma train``), from engine events."""

from __future__ import annotations

import sys
import threading

from .events import (
    CheckpointSaved,
    EpochMetrics,
    ErrorEvent,
    Event,
    IterationMetrics,
    LogMessage,
    RunStateChanged,
)

__all__ = ["ConsoleMonitor", "format_event"]

_LEVELS = {"debug": 0, "info": 1, "warning": 2, "error": 3}


def _number(value) -> str:
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.3e}"
        return f"{value:.4f}"
    return str(value)


def _metrics(metrics: dict) -> str:
    return "  ".join(f"{k} {_number(v)}" for k, v in metrics.items() if k != "samples_per_second")


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def format_event(event: Event) -> str | None:
    """One line for an event, or None for events the console does not show."""
    who = f"[{event.source}] " if event.source else ""
    if isinstance(event, IterationMetrics):
        total = f"/{event.total_iterations}" if event.total_iterations else ""
        line = f"{who}epoch {event.epoch + 1}  iteration {event.iteration}{total}  {_metrics(event.metrics)}"
        if "samples_per_second" in event.metrics:
            line += f"  {event.metrics['samples_per_second']:.0f} samples/s"
        if event.eta_seconds is not None:
            line += f"  ETA {_duration(event.eta_seconds)}"
        return line
    if isinstance(event, EpochMetrics):
        return f"{who}epoch {event.epoch} done (iteration {event.iteration})  {_metrics(event.metrics)}"
    if isinstance(event, RunStateChanged):
        return f"{who}{event.state}"
    if isinstance(event, CheckpointSaved):
        reason = f" ({event.reason})" if event.reason else ""
        return f"{who}checkpoint saved: {event.path}{reason}"
    if isinstance(event, ErrorEvent):
        return f"{who}ERROR: {event.message}"
    if isinstance(event, LogMessage):
        return f"{who}{event.level}: {event.message}"
    return None


class ConsoleMonitor:
    """Print progress lines for the events of a bus.

    Parameters
    ----------
    stream : file-like
        Where lines go (standard output by default).
    every : int
        Print every ``every``-th :class:`IterationMetrics` (epochs, states, errors always).
    level : str
        Lowest :class:`LogMessage` level shown: ``debug``, ``info``, ``warning`` or ``error``.
    """

    def __init__(self, stream=None, every: int = 1, level: str = "info"):
        if level not in _LEVELS:
            raise ValueError(
                f"Invalid value for `level`. Expected one of {list(_LEVELS)}. Received: {level!r}"
            )
        self.stream = stream if stream is not None else sys.stdout
        self.every = max(1, int(every))
        self.level = level
        self._lock = threading.Lock()
        self._iterations_seen = 0
        self._bus = None
        self._token = None

    def attach(self, bus) -> ConsoleMonitor:
        """Start printing the events of ``bus``."""
        self.detach()
        self._bus, self._token = bus, bus.subscribe(self)
        return self

    def detach(self) -> None:
        if self._bus is not None:
            self._bus.unsubscribe(self._token)
            self._bus = self._token = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, IterationMetrics):
            self._iterations_seen += 1
            if (self._iterations_seen - 1) % self.every:
                return
        if isinstance(event, LogMessage) and _LEVELS.get(event.level, 1) < _LEVELS[self.level]:
            return
        line = format_event(event)
        if line is None:
            return
        with self._lock:  # events come from several threads; keep lines whole
            self.stream.write(line + "\n")
            self.stream.flush()
