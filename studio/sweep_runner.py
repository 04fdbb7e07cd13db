"""Runs a sweep's trials from the studio: :func:`engine.runs.sweep.run_sweep` on a pool thread.

The trials are child processes (see :mod:`engine.runs.sweep`), so the GUI and the bridge's own run keep
their threads; this object only waits for the children and turns their progress into signals. Closing
the studio stops the sweep (the running trials end and read as lost); reopening the project offers to
resume it, and only the unfinished trials run again.
"""

from __future__ import annotations

import threading

from PySide6 import QtCore

__all__ = ["SweepRunner"]


class _Task(QtCore.QRunnable):
    def __init__(self, runner: SweepRunner, path, parallel: int):
        super().__init__()
        self.setAutoDelete(True)
        self._runner, self._path, self._parallel = runner, path, parallel

    def run(self) -> None:  # pool thread
        from engine.runs.sweep import run_sweep

        signals = self._runner._signals
        try:
            results = run_sweep(
                self._path,
                parallel=self._parallel,
                stop=self._runner._stop,
                on_trial=lambda index, state: signals.sigTrial.emit(index, state),
            )
            signals.sigDone.emit(results)
        except Exception as exc:  # a sweep file gone or damaged: a message, never a crash
            signals.sigDone.emit(f"{type(exc).__name__}: {exc}")


class _Signals(QtCore.QObject):
    sigTrial = QtCore.Signal(int, str)
    sigDone = QtCore.Signal(object)


class SweepRunner(QtCore.QObject):
    """One sweep at a time. ``sigTrial(index, state)`` as trials start and end; ``sigFinished(results)``
    with ``[(index, exit code), ...]`` or an error text."""

    sigTrial = QtCore.Signal(int, str)
    sigFinished = QtCore.Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pool = QtCore.QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.sigTrial.connect(self.sigTrial)
        self._signals.sigDone.connect(self._done)
        self._stop = threading.Event()
        self.path = None
        self.busy = False

    def start(self, path, parallel: int = 1) -> bool:
        """Run the remaining trials of the sweep at ``path``. False when a sweep is already running."""
        if self.busy:
            return False
        self.busy, self.path = True, path
        self._stop.clear()
        self._pool.start(_Task(self, path, int(parallel)))
        return True

    def stop(self, wait_ms: int = 15000) -> bool:
        """Stop the sweep (running trials are ended) and wait for it; True when it is over."""
        self._stop.set()
        return self._pool.waitForDone(wait_ms)

    def _done(self, results) -> None:
        self.busy = False
        self.sigFinished.emit(results)
