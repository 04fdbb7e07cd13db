"""Console progress for ``sigma train``: a progress bar on a terminal and one line of metrics per epoch.

The reporter listens to a trainer's :class:`engine.events.EventBus`. Events arrive on worker threads,
so every write holds a lock; the bar is redrawn at most ``max_rate`` times a second so that printing
never slows training. On a terminal the bar goes to stderr and is rewritten in place (``\\r``); when
stderr is a file or pipe (CI logs, ``nohup``) there is no bar, only the lines, so logs stay clean.
Lines other than the epoch summary (checkpoints, warnings, errors) are the engine's console monitor
format (:func:`engine.console.format_event`), so every console shows the same words.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import threading
import time

from engine.console import format_event
from engine.events import CheckpointSaved, EpochMetrics, ErrorEvent, IterationMetrics, LogMessage

__all__ = ["ConsoleProgress", "format_metrics", "format_duration", "headline_metrics"]

_BAR_WIDTH = 24


def format_duration(seconds: float | None) -> str:
    """``83.2`` -> ``"1:23"``; hours when needed (``"2:03:07"``); ``"?"`` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _number(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3e}"
    return f"{value:.4f}"


def format_metrics(metrics: dict, skip: tuple = ()) -> str:
    """``{"loss": 0.31234, "accuracy": 0.9}`` -> ``"loss 0.3123  accuracy 0.9000"`` (names in given order)."""
    return "  ".join(f"{name} {_number(value)}" for name, value in metrics.items() if name not in skip)


def headline_metrics(metrics: dict) -> dict:
    """The training metrics and their validation counterparts (``loss``, ``accuracy``, ``val_loss``,
    ``val_accuracy``), without the extra validation scores (top-k, per-class averages) that would make
    every epoch line wrap."""
    trained = [k for k in metrics if not k.startswith("val_")]
    keep = trained + [f"val_{k}" for k in trained]
    return {k: metrics[k] for k in keep if k in metrics}


class ConsoleProgress:
    """Prints a trainer's progress.

    Parameters
    ----------
    bus : engine.events.EventBus
        The trainer's event bus (``trainer.events``).
    epochs : int, optional
        Total epochs of the run, shown as ``epoch 3/10``.
    out, err : text streams
        Metric lines go to ``out`` (stdout), the bar and warnings to ``err`` (stderr).
    bar : bool, optional
        Draw the in-place bar; by default only when ``err`` is a terminal.
    max_rate : float
        Bar redraws per second at most.
    """

    def __init__(
        self,
        bus,
        epochs: int | None = None,
        out=None,
        err=None,
        bar: bool | None = None,
        max_rate: float = 10.0,
    ):
        self._bus = bus
        self._epochs = epochs
        self._out = out if out is not None else sys.stdout
        self._err = err if err is not None else sys.stderr
        self._bar = bool(bar) if bar is not None else bool(getattr(self._err, "isatty", lambda: False)())
        self._interval = 1.0 / max_rate
        self._lock = threading.Lock()
        self._last_draw = 0.0
        self._bar_shown = 0  # characters of the bar on screen (0: none)
        self._epoch_start = time.monotonic()
        self._token = None
        self.last_epoch_metrics: dict = {}
        self.errors: list[str] = []

    # -- lifetime -----------------------------------------------------------------------------------
    def __enter__(self) -> ConsoleProgress:
        self._token = self._bus.subscribe(self._on_event)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening and leave the cursor on a fresh line."""
        if self._token is not None:
            self._bus.unsubscribe(self._token)
            self._token = None
        with self._lock:
            self._clear_bar()

    # -- events -------------------------------------------------------------------------------------
    def _on_event(self, event) -> None:
        if isinstance(event, IterationMetrics):
            self._on_iteration(event)
        elif isinstance(event, EpochMetrics):
            self._on_epoch(event)
        elif isinstance(event, CheckpointSaved) and event.reason not in ("periodic", "final"):
            # Periodic checkpoints go where the header said, silently, and the command names the final
            # one (last.h5) itself; a new best one is news.
            self._line(self._out, format_event(dataclasses.replace(event, source="")))
        elif isinstance(event, LogMessage) and event.level in ("warning", "error"):
            self._line(self._err, format_event(dataclasses.replace(event, source="")))
        elif isinstance(event, ErrorEvent):
            self.errors.append(event.message)  # the command reports the error itself, once

    def _on_iteration(self, event: IterationMetrics) -> None:
        if not self._bar:
            return
        now = time.monotonic()
        if now - self._last_draw < self._interval:
            return
        with self._lock:
            self._last_draw = now
            text = self._bar_text(event)
            # Spaces rather than an ANSI erase-line code: Windows' classic console shows those raw.
            self._err.write("\r" + text.ljust(self._bar_shown))
            self._err.flush()
            self._bar_shown = len(text)

    def _bar_text(self, event: IterationMetrics) -> str:
        epoch = f"epoch {event.epoch + 1}" + (f"/{self._epochs}" if self._epochs else "")
        total = event.total_iterations
        if total:
            done = min(event.iteration, total)
            filled = int(_BAR_WIDTH * done / total)
            bar = f"[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {done}/{total}"
        else:
            bar = f"iteration {event.iteration}"
        loss = event.metrics.get("loss")
        parts = [epoch, bar]
        if loss is not None:
            parts.append(f"loss {_number(loss)}")
        if event.eta_seconds is not None:
            parts.append(f"eta {format_duration(event.eta_seconds)}")
        return "  ".join(parts)

    def _on_epoch(self, event: EpochMetrics) -> None:
        now = time.monotonic()
        took = now - self._epoch_start
        self._epoch_start = now
        self.last_epoch_metrics = dict(event.metrics)
        # EpochMetrics carries the number of epochs done (1 after the first); IterationMetrics the index
        # of the epoch in progress (0 during the first).
        epoch = f"epoch {event.epoch}" + (f"/{self._epochs}" if self._epochs else "")
        seconds = f"{took:.2f}" if took < 10 else f"{took:.1f}"
        self._line(self._out, f"{epoch}  {format_metrics(headline_metrics(event.metrics))}  ({seconds} s)")

    # -- output -------------------------------------------------------------------------------------
    def _clear_bar(self) -> None:
        if self._bar_shown:
            self._err.write("\r" + " " * self._bar_shown + "\r")
            self._err.flush()
            self._bar_shown = 0

    def _line(self, stream, text: str) -> None:
        with self._lock:
            self._clear_bar()
            stream.write(text + "\n")
            stream.flush()
