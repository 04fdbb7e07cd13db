"""The only place where engine events become Qt signals, and where the GUI's run commands reach the engine.

Threads
-------
A run (``engine.run.build_run(project)`` then ``run.fit()``) executes on the bridge's own
``QThreadPool``. Why a pool of ``QRunnable`` rather than superqt's ``thread_worker``: ``fit`` is one
blocking call whose run control (pause at the next iteration, step once, stop with final hooks) already
lives in the engine's operator, so a generator worker's own pause/quit would duplicate that state
machine and could only act at ``yield`` points we do not have. A private pool gives us
``waitForDone(msecs)``: a bounded wait on exactly our work when the window closes, which the global pool
(shared with pyqtgraph and others) cannot give.

Events
------
The engine calls our listener on its training/worker threads. The listener only appends the event to a
``collections.deque`` (thread-safe, never blocks training). A main-thread ``QTimer`` drains the deque at
most ``max_rate_hz`` times a second (run-state changes and errors, a handful per run, ask for one
extra flush at once) and emits one signal per event type carrying *all* events of that type
since the last flush, in order: metric points are batched, never dropped; views that only need the newest
frame (images) take the last item of the batch.

Commands
--------
``pause``, ``resume``, ``step``, ``stop`` call the operator, ``set_value`` the trainer's registry; all
return at once (the operator applies them at the next iteration boundary).

Live settings
-------------
While a run is busy the bridge observes the training settings of the project it started
(:class:`engine.settings.TrainingSettings`): a change of its optimiser's learning rate (or another
hyperparameter the running optimiser has) is set in the trainer's registry, the one engine-side door
for live values, which the operator applies to the optimiser at the next iteration. Panels only edit
the settings; they never talk to the run for it (route: docs/INTERFACES.md, "Live values";
:mod:`studio.bridge_live`).

Watching a run folder
---------------------
``watch(folder)`` shows a run that another process writes (``sigma train``, another machine, rank 0
of an MPI run) exactly as a run of our own: a :class:`studio.run_watch.RunWatcher` reads the folder on
its own thread and appends the reconstructed :mod:`engine.events` records to the same queue, so every
view gets the same signals. The commands then go through the run folder's control file instead of an
operator (``send_control``, written off the GUI thread); closing the window or ``unwatch()`` only
stops watching, never the run.
"""

from __future__ import annotations

import collections
import copy
import itertools
import math
import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore

from engine import events as ev
from engine.settings import TrainingSettings
from studio import blas_threads
from studio.bridge_live import LiveValues
from studio.bridge_watch import WatchMode
from studio.progress_estimate import ProgressEstimate
from studio.run_info import RunFinished, RunInfo
from studio.run_task import RunTask

__all__ = ["Bridge", "RunInfo", "RunFinished"]


def _default_build_run(project, parent_checkpoint=None):
    from engine.run import build_run  # imported when the first run starts, not with the window

    # A saved project's run is recorded in its run folder; a resumed checkpoint of a run is its parent.
    return build_run(project, parent_checkpoint=parent_checkpoint, origin="studio")


class Bridge(LiveValues, WatchMode, QtCore.QObject):
    """Runs trainers in the background and turns their events into rate-limited Qt signals.

    Parameters
    ----------
    build_run : callable(project) -> run, optional
        Defaults to ``engine.run.build_run``; the run must have ``trainer`` (with ``events``,
        ``operator``, ``registry``) and ``fit()``.
    max_rate_hz : float
        Most flushes (signal bursts) per second.
    leave_core_for_gui : bool
        While a run is live, numpy's BLAS uses all cores but one (:mod:`studio.blas_threads`). Off by
        default: with the paced views the GUI takes less than the free core would cost.

    Signals carry lists of :mod:`engine.events` records, oldest first.
    """

    sigRunStarted = QtCore.Signal(object)  # RunInfo
    sigRunFinished = QtCore.Signal(str)  # final state: finished, stopped or error
    sigStateChanged = QtCore.Signal(str)
    sigIterationMetrics = QtCore.Signal(list)
    sigEpochMetrics = QtCore.Signal(list)
    sigSamplePredictions = QtCore.Signal(list)
    sigResourceUsage = QtCore.Signal(list)
    sigConfusionMatrix = QtCore.Signal(list)
    sigValidationPredictions = QtCore.Signal(list)  # ValidationPredictions (samples browser, mistakes)
    sigLayerHealth = QtCore.Signal(list)  # LayerHealthReport (the builder's health overlay)
    sigHistograms = QtCore.Signal(list)
    sigLog = QtCore.Signal(list)  # LogMessage records
    sigError = QtCore.Signal(object)  # ErrorEvent
    sigCheckpointSaved = QtCore.Signal(list)
    sigFlushed = QtCore.Signal(int)  # events delivered by one flush (0: a tick with none); paced views poll
    sigWatchState = QtCore.Signal(object)  # studio.run_watch.WatchState while watching; None when it ends

    _pools: weakref.WeakSet = weakref.WeakSet()

    def __init__(
        self,
        parent: QtCore.QObject | None = None,
        build_run: Callable | None = None,
        max_rate_hz: float = 30.0,
        leave_core_for_gui: bool = False,
    ):
        super().__init__(parent)
        self._build_run = build_run or _default_build_run
        self._leave_core_for_gui = leave_core_for_gui
        self._blas_before: int | None = None
        self._queue: collections.deque = collections.deque()
        self._lock = threading.Lock()  # guards _run and _stop_requested (pool thread vs main thread)
        self._run = None
        self._stop_requested = False
        self._run_ids = itertools.count(1)
        self.run_id = 0
        self.state = "idle"
        #: The current run's progress, throughput and time left: the one source every view reads.
        self.progress = ProgressEstimate()
        self.flushes = 0
        self.events_delivered = 0
        self._busy = False
        #: The run folder being watched (:meth:`watch`), else None; ``watch_state`` says how it stands.
        self.watching: Path | None = None
        self.watch_state = None
        self.watch_record = None  # engine.runs.RunRecord of the watched folder, once read
        self._watcher = None
        self._live_settings: TrainingSettings | None = None  # the started project's, while busy
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(1)  # one run at a time; the engine's operator owns its own workers
        self.pool.setExpiryTimeout(2000)
        Bridge._pools.add(self.pool)
        self._timer = QtCore.QTimer(self)
        self._timer.setObjectName("bridge-flush")
        self._timer.setInterval(max(1, math.ceil(1000.0 / max_rate_hz)))  # rounded up: never above the rate
        self._timer.timeout.connect(self.flush)
        self._dispatch = [
            (ev.IterationMetrics, self.sigIterationMetrics),
            (ev.EpochMetrics, self.sigEpochMetrics),
            (ev.SamplePredictions, self.sigSamplePredictions),
            (ev.ResourceUsage, self.sigResourceUsage),
            (ev.ConfusionMatrix, self.sigConfusionMatrix),
            (ev.ValidationPredictions, self.sigValidationPredictions),
            (ev.LayerHealthReport, self.sigLayerHealth),
            (ev.ParameterHistograms, self.sigHistograms),
            (ev.LogMessage, self.sigLog),
            (ev.CheckpointSaved, self.sigCheckpointSaved),
        ]

    @classmethod
    def live_pools(cls) -> list[QtCore.QThreadPool]:
        """Every bridge pool still alive (the tests' leak check looks at them)."""
        return list(cls._pools)

    # ------------------------------------------------------------------ queries
    @property
    def busy(self) -> bool:
        """True from :meth:`start` until the run's thread has finished and its last events were flushed."""
        return self._busy

    @property
    def run(self):
        """The current (or last) run object, once built; None before."""
        with self._lock:
            return self._run

    @property
    def trainer(self):
        run = self.run
        return None if run is None else run.trainer

    # ------------------------------------------------------------------ commands
    def start(self, project, label: str | None = None, resume_from=None) -> bool:
        """Build and train ``project`` in the background. Returns False if a run is still busy.

        The project is copied first: the user may keep editing it while it trains, and a failing run
        can never leave it half-changed. ``resume_from`` (a checkpoint path) is restored into the new
        trainer on the run's thread before ``fit``, so training continues exactly where it stopped; a
        checkpoint that does not fit ends the run with an error event, as any engine error does.
        """
        if self._busy:
            return False
        snapshot = copy.deepcopy(project)
        with self._lock:
            self._run = None
            self._stop_requested = False
        self.run_id = next(self._run_ids)
        self.progress.reset()
        self._busy = True
        self._observe_settings(getattr(project, "training", None))
        if self._leave_core_for_gui:  # see studio.blas_threads: the GUI gets a core of its own
            self._blas_before = blas_threads.leave_one_core()
        self._set_state("starting")
        name = getattr(project, "name", "run")
        self.sigRunStarted.emit(RunInfo(self.run_id, label or f"run {self.run_id}", name))
        self._timer.start()
        checkpoint_path = None if resume_from is None else os.fspath(resume_from)
        self.pool.start(
            RunTask(self, self.run_id, lambda: self._build_and_restore(snapshot, checkpoint_path))
        )
        return True

    def _build_and_restore(self, project, checkpoint_path: str | None):  # pool thread
        if self._build_run is _default_build_run:
            run = self._build_run(project, parent_checkpoint=checkpoint_path)
        else:  # a caller's factory takes the project alone
            run = self._build_run(project)
        if checkpoint_path is not None:
            from engine.run import restore_checkpoint

            note = restore_checkpoint(run, checkpoint_path)  # checked in a child; a refusal discards the run
            if note:  # said before the run's events reach the log: post it
                self.post(ev.LogMessage(source="studio", level="warning", message=note))
        return run

    def _operator(self):
        trainer = self.trainer
        return None if trainer is None else trainer.operator

    def pause(self) -> bool:
        if self.watching is not None:
            return self._control("pause")
        op = self._operator()
        return bool(op is not None and op.pause() is not False)

    def resume(self) -> bool:
        if self.watching is not None:
            return self._control("resume")
        op = self._operator()
        return bool(op is not None and op.resume() is not False)

    def step(self) -> bool:
        """Run one iteration of a paused run."""
        if self.watching is not None:
            return self._control("step")
        op = self._operator()
        done = bool(op is not None and op.step() is not False)
        if done:  # a step changes no state a view would log ("paused" before and after): say it here
            self.post(ev.LogMessage(source="studio", level="info", message="step: one iteration"))
        return done

    def stop(self) -> bool:
        """Ask the run to stop (final hooks, such as a checkpoint write, still complete)."""
        if not self._busy:
            return False
        if self.watching is not None:
            return self._control("stop")
        with self._lock:
            self._stop_requested = True
            run = self._run
        if run is not None:
            run.trainer.operator.stop()
        return True

    def post(self, event: ev.Event) -> None:
        """Deliver an event as if the engine had emitted it (any thread): studio-side messages, replays."""
        self._queue.append(event)
        if not self._timer.isActive():
            QtCore.QMetaObject.invokeMethod(self, "_wake", QtCore.Qt.ConnectionType.QueuedConnection)

    @QtCore.Slot()
    def _flush_now(self) -> None:
        self.flush()

    @QtCore.Slot()
    def _wake(self) -> None:
        """Flush once soon for events posted while no run keeps the timer going."""
        if not self._timer.isActive():
            self.flush()

    def checkpoint_now(self) -> bool:
        """Ask a watched run to write a checkpoint at its next iteration boundary (a run of our own is
        saved by the project's "Save checkpoint now", which writes where the user chooses)."""
        return self.watching is not None and self._control("checkpoint")

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop any run and wait (bounded) for its thread; True if it ended in time.

        Called when the window closes and on ``aboutToQuit``. The wait lets a checkpoint that is being
        written finish (the engine writes to a temporary file and renames it, so even a timeout cannot
        leave a torn checkpoint behind). A watched run is left running: only the watching stops.
        """
        if self.watching is not None:
            self.unwatch()
        self.stop()
        done = self.pool.waitForDone(timeout_ms)
        self.flush()
        self._timer.stop()
        return done

    # ------------------------------------------------------------------ delivery (main thread)
    def flush(self) -> None:
        """Drain the queue and emit batched signals; called by the timer (<= max_rate_hz)."""
        if self._watcher is not None and self.watch_record is None:
            self.sigFlushed.emit(0)  # watching, folder not read yet: its events wait for sigRunStarted
            return
        batch = []
        queue = self._queue
        while queue:
            batch.append(queue.popleft())
        if not batch:
            self.sigFlushed.emit(0)  # a tick all the same: paced views show what they held back
            return
        self.flushes += 1
        self.events_delivered += len(batch)
        grouped: dict[type, list] = collections.defaultdict(list)
        finished, states = None, []
        for event in batch:
            if isinstance(event, ev.RunStateChanged):
                states.append(event.state)
                if event.state == "running":
                    self.progress.running(event.time)
            elif isinstance(event, ev.ErrorEvent):
                self.sigError.emit(event)
                grouped[ev.LogMessage].append(
                    ev.LogMessage(source=event.source, level="error", message=event.message)
                )
            elif isinstance(event, RunFinished):
                finished = event
            else:
                grouped[type(event)].append(event)
        iterations = grouped.get(ev.IterationMetrics)
        if iterations:  # before the views hear of them: they all read the one estimate
            self.progress.update(iterations, self._batch_size())
        for kind, signal in self._dispatch:
            items = [e for k, v in grouped.items() if issubclass(k, kind) for e in v]
            if items:
                signal.emit(items)
        for state in states:  # after the data, so views end on the state, not on a last progress line
            self._set_state(state)
        self.sigFlushed.emit(len(batch))
        if finished is not None and finished.run_id == self.run_id:
            if self.watching is not None:
                self._end_watch()
            self._busy = False
            self._observe_settings(None)
            self._restore_blas()
            self._set_state(finished.state)
            self._timer.stop()
            self.sigRunFinished.emit(finished.state)

    def _restore_blas(self) -> None:
        if self._blas_before is not None:
            blas_threads.set(self._blas_before)
            self._blas_before = None

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.sigStateChanged.emit(state)
