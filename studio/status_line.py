"""The main window's status bar: the run state, epoch and iteration, speed and time left, and the backend,
workers and compiled kernels (the project's settings, then what the run really uses once it runs: "auto"
resolved, numpy's kernels where numba is missing).

The counters are paced (:class:`studio.pacing.Paced`, about 5 updates a second) and read the bridge's one
estimate, the figures the training panel's progress line and the log also show. The backend label
observes the project's :class:`engine.settings.TrainingSettings`, so it follows the training panel.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from studio.pacing import Paced
from studio.progress_estimate import format_duration

__all__ = ["StatusLine"]


class StatusLine(QtCore.QObject):
    """Fills ``window.statusBar()`` from ``bridge``'s events and the shown project's settings.

    Attributes
    ----------
    state, progress, speed, backend : QLabel
        "State: running"; "epoch 3, iteration 1,200"; "12,345 samples/s, 2 min left"; "backend: cpu,
        workers: 2".
    pacer : Paced
        Holds the newest iteration event between the ~5 updates a second.
    """

    def __init__(self, window, bridge):
        super().__init__(window)
        self.bridge = bridge
        self._settings = None  # the shown project's training settings, observed
        self.pacer = Paced(self._show_iteration)  # a counter is read ~5 times a second
        bar = window.statusBar()
        self.state = QtWidgets.QLabel("Idle")
        self.progress = QtWidgets.QLabel("")
        self.speed = QtWidgets.QLabel("")
        self.backend = QtWidgets.QLabel("")
        # Labels whose text changes while a run streams in get a fixed size, room for their widest text
        # up front: a label whose size hint changes makes Qt lay out the status bar and then the whole
        # main window again, with a geometry animation per dock, several times a second.
        metrics = self.speed.fontMetrics()
        widest = {
            self.state: "State: stopping ",
            self.progress: "epoch 99,999, iteration 99,999,999 ",
            self.speed: "9,999,999 samples/s, 99 h 59 min left ",
        }
        for label, text in widest.items():
            label.setFixedSize(metrics.horizontalAdvance(text), label.sizeHint().height())
            bar.addWidget(label)
        bar.addPermanentWidget(self.backend)
        window.sigProjectChanged.connect(self.set_project)
        # Bound methods, not lambdas: Qt disconnects them when the window goes, a lambda would outlive it.
        bridge.sigStateChanged.connect(self.state_changed)
        bridge.sigIterationMetrics.connect(self._iterations)
        bridge.sigFlushed.connect(self._poll)
        self.state_changed(bridge.state)

    def set_project(self, project) -> None:
        """Show ``project``'s backend and workers, and follow their changes."""
        if self._settings is not None:
            self._settings.unsubscribe(self._setting_changed)
        self._settings = None if project is None else project.training
        if self._settings is not None:
            self._settings.subscribe(self._setting_changed)
        self._show_settings()

    def _setting_changed(self, key: str, _value) -> None:
        if key in ("backend", "workers", "kernels") and not self.bridge.busy:  # a run shows what it uses
            self._show_settings()

    def _show_settings(self) -> None:
        t = self._settings
        kernels = ", compiled kernels" if t is not None and t.kernels == "compiled" else ""
        self.backend.setText("" if t is None else f"backend: {t.backend}, workers: {t.workers}{kernels}")

    def state_changed(self, state: str) -> None:
        self.pacer.flush()
        self.state.setText(f"State: {state}")
        trainer = self.bridge.trainer
        if state == "running" and trainer is not None:  # what the run really uses ("auto" resolved)
            backend = trainer.backend
            # The kernels the run uses (numpy's when compiled ones were asked for without numba: the
            # tooltip says why, as the run's log does).
            chosen = getattr(self.bridge.run, "kernels", None)
            kernels = ", compiled kernels" if chosen is not None and chosen.used == "compiled" else ""
            self.backend.setText(
                f"backend: {backend.name}, workers: {getattr(trainer, 'workers', 1)}{kernels}"
            )
            notes = (getattr(backend, "reason", ""), getattr(chosen, "note", ""))
            self.backend.setToolTip("\n".join(n for n in notes if n))

    def _iterations(self, events: list) -> None:
        self.pacer.push(events[-1])

    def _poll(self, _events: int) -> None:
        self.pacer.poll()

    def _show_iteration(self, e) -> None:
        self.progress.setText(f"epoch {e.epoch + 1}, iteration {e.iteration}")
        estimate = self.bridge.progress  # the same figures as the progress line and the log
        if estimate.samples_per_second:
            left = "" if estimate.eta_seconds is None else f", {format_duration(estimate.eta_seconds)} left"
            self.speed.setText(f"{estimate.samples_per_second:,.0f} samples/s{left}")
