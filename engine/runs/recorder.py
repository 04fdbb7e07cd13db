"""The hook that records a run into its run folder (installed by :func:`engine.run.build_run`).

It listens to the trainer's events (every value reported: iteration and epoch metrics, run states,
checkpoints, errors) and queues metric points in memory; the points reach the disk at iteration
boundaries at most once a second, at the end of the run, and never from the event bus's hot path. So the
studio, ``sigma train`` and ``sigma sweep`` record the same way, and what a run folder holds is exactly
what the live charts were sent.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from ..events import CheckpointSaved, EpochMetrics, ErrorEvent, IterationMetrics, RunStateChanged
from ..hooks.base import Hook
from ..hooks.timestep import TimeStep
from .series import SeriesWriter, write_json_atomic

__all__ = ["RunRecorder"]

_FINAL_STATES = ("finished", "stopped", "error")
_ITERATION: dict[str, str] = {}  # metric name -> "iteration/<name>" (made once, not every iteration)


def _series_name(name: str) -> str:
    _ITERATION[name] = f"iteration/{name}"
    return _ITERATION[name]


class RunRecorder(Hook):
    """Record a run's metric history and state into ``folder`` (made by :func:`create_run`).

    Parameters
    ----------
    folder : path
        The run folder.
    commit_every_s : float
        Longest time queued points wait before they are written (at the next iteration boundary).
    planned_epochs : int, optional
        Written to ``status.json`` so a table can say "12 / 30 epochs".
    """

    default_timestep = TimeStep(1, "iteration")
    priority = -100  # after every other hook of the same event: their values are in by then

    def __init__(self, folder, commit_every_s: float = 1.0, planned_epochs: int | None = None, **kwargs):
        kwargs.setdefault("name", "RunRecorder")
        super().__init__(**kwargs)
        self.folder = Path(folder)
        self.commit_every_s = float(commit_every_s)
        self.writer = SeriesWriter(self.folder / "series")
        self._lock = threading.Lock()
        self._status = {"state": "created", "epoch": 0, "iteration": 0}
        if planned_epochs is not None:
            self._status["planned_epochs"] = int(planned_epochs)
        self._last_commit = time.monotonic()
        self._final: dict = {}
        self._token = None
        self._trainer = None

    # ------------------------------------------------------------------ wiring
    def on_attach(self, trainer) -> None:
        self._trainer = trainer
        self._token = trainer.events.subscribe(
            self._on_event, (IterationMetrics, EpochMetrics, RunStateChanged, CheckpointSaved, ErrorEvent)
        )

    def maybe_run(self, event: str, trainer) -> bool:
        # Due on every iteration boundary, but only writes when points have waited long enough.
        if event == "iteration" and time.monotonic() - self._last_commit >= self.commit_every_s:
            self.commit()
            return True
        return False

    def run(self, trainer) -> None:  # pragma: no cover - maybe_run does the work
        self.commit()

    # ------------------------------------------------------------------ events (any thread)
    def _on_event(self, event) -> None:
        if isinstance(event, IterationMetrics):
            append, x = self.writer.append, event.iteration
            for name, value in event.metrics.items():
                append(_ITERATION.get(name) or _series_name(name), x, value)
            # Plain assignments (atomic under the GIL): the counters are read at commit time.
            self._status["epoch"], self._status["iteration"] = event.epoch, event.iteration
        elif isinstance(event, EpochMetrics):
            for name, value in event.metrics.items():
                self.writer.append(f"epoch/{name}", event.epoch, value)
            with self._lock:
                self._status["epoch"], self._status["iteration"] = event.epoch, event.iteration
                self._final = {k: v for k, v in event.metrics.items() if _is_number(v)}
        elif isinstance(event, CheckpointSaved):
            with self._lock:
                self._status["last_checkpoint"] = _relative(event.path, self.folder)
        elif isinstance(event, ErrorEvent):
            with self._lock:
                self._status["error"] = event.message
        elif isinstance(event, RunStateChanged):
            self._state(event.state)

    def _state(self, state: str) -> None:
        with self._lock:
            self._status["state"] = state
            now = time.time()
            if state == "running" and "started" not in self._status:
                self._status["started"] = now
            if state in _FINAL_STATES:
                self._status["ended"] = now
                trainer = self._trainer
                if trainer is not None:  # the counters after the last step (no report may follow it)
                    self._status["epoch"] = int(trainer.epoch)
                    self._status["iteration"] = int(trainer.iteration)
                if self._final:
                    self._status["final"] = dict(self._final)
        self.commit()

    # ------------------------------------------------------------------ writing
    def commit(self) -> None:
        """Write queued points and the current status now."""
        self._last_commit = time.monotonic()
        self.writer.commit()
        with self._lock:
            status = dict(self._status, updated=time.time())
        write_json_atomic(self.folder / "status.json", status)

    def detach(self) -> None:
        """Stop listening (the run is over and its trainer may be reused)."""
        if self._token is not None and self._trainer is not None:
            self._trainer.events.unsubscribe(self._token)
            self._token = None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _relative(path, folder: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(path)
