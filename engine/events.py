"""Typed, immutable event records and a thread-safe event bus. Plain Python: no Qt here.

Events are emitted from worker threads. Listeners must not block (the studio's bridge only queues
them). Arrays inside events are host (numpy) copies, never views of live buffers.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = [
    "Event",
    "RunStateChanged",
    "IterationMetrics",
    "EpochMetrics",
    "SamplePredictions",
    "ResourceUsage",
    "ConfusionMatrix",
    "ValidationPredictions",
    "ParameterHistograms",
    "HealthFinding",
    "LayerHealthReport",
    "LogMessage",
    "ErrorEvent",
    "CheckpointSaved",
    "EventBus",
]


def _now() -> float:
    return time.time()


@dataclasses.dataclass(frozen=True)
class Event:
    """Base of all events. ``source`` names the trainer (or component) that emitted it."""

    source: str = ""
    time: float = dataclasses.field(default_factory=_now)


@dataclasses.dataclass(frozen=True)
class RunStateChanged(Event):
    """The operator's run state changed: ``idle``, ``running``, ``paused``, ``stopping``, ``stopped``,
    ``finished`` or ``error``."""

    state: str = "idle"
    previous: str = "idle"


@dataclasses.dataclass(frozen=True)
class IterationMetrics(Event):
    """Metrics after an iteration (a training step). ``metrics`` maps names to floats, e.g.
    ``{"loss": 0.31, "learning_rate": 0.01, "samples_per_second": 5400.0}``; ``total_iterations`` and
    ``eta_seconds`` are filled when known."""

    epoch: int = 0
    iteration: int = 0
    metrics: dict = dataclasses.field(default_factory=dict)
    total_iterations: int | None = None
    eta_seconds: float | None = None


@dataclasses.dataclass(frozen=True)
class EpochMetrics(Event):
    """Metrics at the end of an epoch, training and validation together
    (``{"loss": ..., "accuracy": ..., "val_loss": ..., "val_accuracy": ...}``)."""

    epoch: int = 0
    iteration: int = 0
    metrics: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class SamplePredictions(Event):
    """A fixed set of samples with their predictions (host arrays).

    ``kind`` is ``"classification"`` (predictions: (N, classes) probabilities), ``"image"`` (the
    predicted image(s), e.g. (H, W, 3) in [0, 1] for the cat painter; ``targets`` is the original),
    ``"regression"``, or ``"text"`` (``inputs`` the prompt and ``predictions`` the text a
    next-character model wrote after it, both ``str``). ``classes`` names the classes when known.
    ``error`` is the error rate (classification) or the mean squared error; ``psnr`` the peak
    signal-to-noise ratio in dB of an image against its target (peak 1; at most 100 dB), ``None`` for
    other kinds.
    """

    epoch: int = 0
    iteration: int = 0
    kind: str = "classification"
    inputs: Any = None
    targets: Any = None
    predictions: Any = None
    classes: tuple | None = None
    error: float | None = None
    psnr: float | None = None


@dataclasses.dataclass(frozen=True)
class ResourceUsage(Event):
    """Process resource use: CPU percent (of one core = 100), resident memory and GPU memory in bytes."""

    cpu_percent: float = 0.0
    memory_bytes: int = 0
    gpu_memory_bytes: int | None = None


@dataclasses.dataclass(frozen=True)
class ConfusionMatrix(Event):
    """A confusion matrix on a validation set: ``matrix[true, predicted]`` counts (host int array)."""

    epoch: int = 0
    matrix: Any = None
    classes: tuple | None = None


@dataclasses.dataclass(frozen=True)
class ValidationPredictions(Event):
    """Every validation sample's class probabilities, after a validation pass (host arrays).

    ``probabilities`` (N, C) float32 (softmax of the outputs unless they already were probabilities),
    ``targets`` (N,) int64 true classes, ``records`` (N,) int64 each sample's position in the whole
    dataset as loaded (the number sample edits use) or None when unknown, ``classes`` the names.
    """

    epoch: int = 0
    iteration: int = 0
    probabilities: Any = None
    targets: Any = None
    records: Any = None
    classes: tuple | None = None


@dataclasses.dataclass(frozen=True)
class ParameterHistograms(Event):
    """Histograms per parameter identifier: ``{"fc1.weights": (counts, edges)}`` for weights and grads."""

    epoch: int = 0
    iteration: int = 0
    weights: dict = dataclasses.field(default_factory=dict)
    gradients: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class HealthFinding:
    """One named finding about a layer (see :mod:`engine.hooks.health_rules` for kinds and limits).

    ``kind`` (``"dead_units"``, ``"saturation"``, ``"tiny_update"``, ``"large_update"``,
    ``"exploding_gradient"``, ``"vanishing_gradient"``, ``"nonfinite"``), ``severity`` (``"warning"`` or
    ``"problem"``), ``message`` ("dense2: 71% dead units") and the figure's ``value``.
    """

    layer: str
    kind: str
    severity: str
    message: str
    value: float = 0.0


@dataclasses.dataclass(frozen=True)
class LayerHealthReport(Event):
    """Per-layer health figures measured by :class:`~engine.hooks.LayerHealth` after an iteration.

    ``layers`` maps layer names (in network order) to ``{figure: float}`` (``grad_norm``,
    ``update_ratio``, ``weight_norm``, ``act_mean``, ``act_std``, ``dead_fraction``, ``saturation``,
    ``nonfinite``; a figure that does not apply to a layer is absent); ``findings`` is a tuple of
    :class:`HealthFinding`, worst first.
    """

    epoch: int = 0
    iteration: int = 0
    layers: dict = dataclasses.field(default_factory=dict)
    findings: tuple = ()

    def severity_of(self, layer: str) -> str:
        """``"ok"``, ``"warning"`` or ``"problem"``: the worst finding about ``layer``."""
        order = ("ok", "warning", "problem")
        return max((f.severity for f in self.findings if f.layer == layer), key=order.index, default="ok")


@dataclasses.dataclass(frozen=True)
class LogMessage(Event):
    """A line for the log panel / console: ``level`` is ``debug``, ``info``, ``warning`` or ``error``."""

    level: str = "info"
    message: str = ""


@dataclasses.dataclass(frozen=True)
class ErrorEvent(Event):
    """Training stopped on an error. ``message`` says what and where (layer, shape, file); ``kind`` is
    the exception's class name. Never a traceback for the user (``details`` holds one for logs)."""

    message: str = ""
    kind: str = ""
    details: str = ""


@dataclasses.dataclass(frozen=True)
class CheckpointSaved(Event):
    """A checkpoint file was written completely."""

    path: str = ""
    epoch: int = 0
    iteration: int = 0
    reason: str = ""


Listener = Callable[[Event], None]


class EventBus:
    """Publish/subscribe for events, safe to use from any thread.

    ``emit`` calls listeners synchronously on the emitting thread; a listener that raises is removed
    from nothing and never breaks training: its error is reported as a :class:`LogMessage` to the other
    listeners once.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._listeners: dict[int, tuple[Listener, tuple[type, ...] | None]] = {}
        # What emit reads: a tuple replaced whole under the lock on every change, so emitting (every
        # iteration) takes no lock and copies nothing.
        self._current: tuple[tuple[Listener, tuple[type, ...] | None], ...] = ()
        self._ids = itertools.count(1)

    def subscribe(self, listener: Listener, kinds: type | tuple[type, ...] | None = None) -> int:
        """Call ``listener(event)`` for every event (or only those of the given types). Returns a token."""
        if isinstance(kinds, type):
            kinds = (kinds,)
        with self._lock:
            token = next(self._ids)
            self._listeners[token] = (listener, kinds)
            self._current = tuple(self._listeners.values())
        return token

    def unsubscribe(self, token: int) -> None:
        """Stop calling the listener registered under ``token`` (unknown tokens are ignored)."""
        with self._lock:
            self._listeners.pop(token, None)
            self._current = tuple(self._listeners.values())

    def emit(self, event: Event) -> None:
        """Deliver ``event`` to the listeners interested in it."""
        for listener, kinds in self._current:
            if kinds is not None and not isinstance(event, kinds):
                continue
            try:
                listener(event)
            except Exception as exc:  # a broken monitor must not stop training
                if not isinstance(event, LogMessage):
                    self.emit(
                        LogMessage(source="events", level="error", message=f"event listener failed: {exc!r}")
                    )

    def __len__(self) -> int:
        with self._lock:
            return len(self._listeners)
