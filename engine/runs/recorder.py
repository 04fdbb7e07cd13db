"""The hook that records a run into its run folder (installed by :func:`engine.run.build_run`).

It listens to the trainer's events (every value reported: iteration and epoch metrics, run states,
checkpoints, errors, samples, confusion matrices, health, log lines) and queues them in memory: metric
points for :mod:`engine.runs.series`, everything else for the events log (:mod:`engine.runs.eventlog`).
They reach the disk once a second from a writer thread of the recorder's own (the training thread only
queues them: an iteration's metrics as the event itself, made into series points by whoever commits),
at every run state change, and at the end of the run. So the studio, ``sigma train`` and
``sigma sweep`` record the same way, and what a run folder holds is exactly what the live charts were
sent.

The same thread is the heartbeat: while the run lives, paused runs included, ``status.json`` (its
``updated`` time) is rewritten at least every ``heartbeat_s`` seconds, so a reader in another process
tells a paused run from a lost one (:func:`engine.runs.live.live_state`).
"""

from __future__ import annotations

import collections
import threading
import time
from pathlib import Path

from ..events import CheckpointSaved, EpochMetrics, ErrorEvent, IterationMetrics, RunStateChanged
from ..hooks.base import Hook
from ..hooks.timestep import TimeStep
from .eventlog import EventLogWriter
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
    heartbeat_s : float
        ``status.json`` is rewritten at least this often while the run lives (paused too).
    """

    default_timestep = TimeStep(1, "iteration")
    priority = -100  # after every other hook of the same event: their values are in by then

    def __init__(
        self,
        folder,
        commit_every_s: float = 1.0,
        planned_epochs: int | None = None,
        heartbeat_s: float = 1.0,
        **kwargs,
    ):
        kwargs.setdefault("name", "RunRecorder")
        super().__init__(**kwargs)
        self.folder = Path(folder)
        self.commit_every_s = float(commit_every_s)
        self.heartbeat_s = float(heartbeat_s)
        self.writer = SeriesWriter(self.folder / "series")
        self.log = EventLogWriter(self.folder / "events")
        self._lock = threading.Lock()
        # IterationMetrics not yet made into series points (deque appends and pops are thread-safe)
        self._rows: collections.deque = collections.deque()
        self._commit_lock = threading.Lock()  # the training thread and the heartbeat commit in turn
        self._heartbeat: threading.Thread | None = None
        self._alive = threading.Event()
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
        self._token = trainer.events.subscribe(self._on_event)

    def maybe_run(self, event: str, trainer) -> bool:
        # While the run lives the writer thread commits; this is for a trainer driven without run
        # states (no thread): due on every iteration boundary, written when points have waited enough.
        if (
            event == "iteration"
            and not self._alive.is_set()
            and time.monotonic() - self._last_commit >= self.commit_every_s
        ):
            self.commit()
            return True
        return False

    def run(self, trainer) -> None:  # pragma: no cover - maybe_run does the work
        self.commit()

    # ------------------------------------------------------------------ events (any thread)
    def _on_event(self, event) -> None:
        if isinstance(event, IterationMetrics):
            # Every iteration: queued as it is (the commit makes the points), then the counters, by
            # plain assignments (atomic under the GIL), read at commit time: a status names no
            # iteration whose event is not queued.
            self._rows.append(event)
            self._status["epoch"], self._status["iteration"] = event.epoch, event.iteration
            return
        status = self._status
        if isinstance(event, RunStateChanged) and "started" not in status and self._trainer is not None:
            # A resumed run starts at its checkpoint's counters (the events log counts epochs from them).
            status["epoch"], status["iteration"] = int(self._trainer.epoch), int(self._trainer.iteration)
        self.log.add(event, status["iteration"], status["epoch"])
        if isinstance(event, EpochMetrics):
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
        final = state in _FINAL_STATES
        self.commit(final=final)
        if final:
            self._alive.clear()
        elif state in ("running", "paused", "stopping"):
            self._start_heartbeat()

    def _start_heartbeat(self) -> None:
        if self._alive.is_set():
            return
        self._alive.set()
        self._heartbeat = threading.Thread(target=self._beat, name="run-writer", daemon=True)
        self._heartbeat.start()

    def _beat(self) -> None:
        """The writer thread: commit what is queued every ``commit_every_s``, and the status at least
        every ``heartbeat_s`` (paused too), off the training thread."""
        every = min(self.heartbeat_s, self.commit_every_s)
        while self._alive.is_set():
            time.sleep(every / 4)
            if self._alive.is_set() and time.monotonic() - self._last_commit >= every:
                try:
                    self.commit()
                except OSError:  # a share gone for a moment: the next beat tries again
                    pass

    # ------------------------------------------------------------------ writing
    def commit(self, final: bool = False) -> None:
        """Write queued points, events and the current status now (``final``: every waiting sample)."""
        with self._commit_lock:
            self._last_commit = time.monotonic()
            planned = getattr(self._trainer, "planned_iterations", None)
            with self._lock:
                if planned:  # known once the loop has started: "iteration 120 of 4,000"
                    self._status["planned_iterations"] = int(planned)
                # Taken before the points are written: the status never names an iteration whose
                # points a reader cannot find yet.
                status = dict(self._status)
            self._points()
            self.writer.commit()
            self.log.commit(status["iteration"], status["epoch"], final=final)
            status["updated"] = time.time()
            write_json_atomic(self.folder / "status.json", status, compact=True)

    def _points(self) -> None:
        """Queue the series points of the iteration metrics received so far (at commit)."""
        rows, names, append_row = self._rows, _ITERATION, self.writer.append_row
        while rows:
            event = rows.popleft()
            append_row(
                event.iteration, [(names.get(k) or _series_name(k), v) for k, v in event.metrics.items()]
            )

    def acknowledge(self, fields: dict) -> None:
        """Record a control command's outcome (``{"id", "command", "outcome", "message"}``) in the
        events log (see :mod:`engine.runs.control`)."""
        status = self._status
        self.log.add_record("control", status["iteration"], status["epoch"], dict(fields))
        if status.get("state") in _FINAL_STATES:  # the run ended meanwhile: no commit would follow
            self.commit()

    def detach(self) -> None:
        """Stop listening (the run is over and its trainer may be reused) and stop the heartbeat."""
        self._alive.clear()
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
