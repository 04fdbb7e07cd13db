"""The live monitor: loss and metrics, learning rate, throughput, resources, sample predictions,
confusion matrix, weight/gradient histograms, log, and earlier runs overlaid for comparison.

Every chart's curves are created once. Batches from the bridge (at most 30 a second, see
:mod:`studio.bridge`) are only appended to the charts' buffers; a 5 Hz timer pushes them to the curves
with ``setData`` while a run is live, so the drawing cost does not grow with the training speed.
"""

from __future__ import annotations

import collections

from PySide6 import QtCore, QtWidgets

from studio.bridge import Bridge, RunInfo
from studio.pacing import Paced
from studio.widgets.chart import LiveChart
from studio.widgets.histogram import HistogramView
from studio.widgets.log_view import LogView
from studio.widgets.mistakes_view import MistakesView
from studio.widgets.sample_view import SampleView

from .mistake_samples import MistakeSamples
from .run_overlays import RunOverlays

__all__ = ["MonitorPanel"]

_SPECIAL = ("learning_rate", "samples_per_second", "seconds", "time", "iteration_time")


class MonitorPanel(QtWidgets.QWidget):
    """Live view of the bridge's current run (and up to four earlier runs, dotted).

    Signals
    -------
    sigContinuing(str)
        "Continue from here" is starting a run from the run folder named so (``run-0003``).
    """

    sigContinuing = QtCore.Signal(str)

    def __init__(
        self,
        bridge: Bridge,
        redraw_ms: int = 200,
        parent: QtWidgets.QWidget | None = None,
        chart_budget: float = 0.025,
    ):
        super().__init__(parent)
        self.bridge = bridge
        self.loss_chart = LiveChart(
            "Loss and metrics per iteration", "iteration", log_toggle=True, min_x_span=100, smoothing=True
        )
        self.epoch_chart = LiveChart(
            "Per epoch (dashed: validation)", "epoch", log_toggle=True, min_x_span=10, smoothing=True
        )
        self.lr_chart = LiveChart("Learning rate", "iteration", "learning rate", min_x_span=100)
        self.speed_chart = LiveChart("Throughput", "iteration", "samples / s", min_x_span=100)
        self.cpu_chart = LiveChart("CPU use", "seconds since start", "% of one core", min_x_span=60)
        self.memory_chart = LiveChart("Memory", "seconds since start", "MiB", min_x_span=60)
        self.samples = SampleView()
        self.confusion = self.samples.confusion  # under the classified samples
        self.metrics_chart = LiveChart("Every metric per epoch (dashed: validation)", "epoch", min_x_span=10)
        self.histograms = HistogramView()
        self.mistakes = MistakesView()
        self.log = LogView()
        self.charts = [
            self.loss_chart,
            self.epoch_chart,
            self.lr_chart,
            self.speed_chart,
            self.cpu_chart,
            self.memory_chart,
            self.samples.error_chart,
        ]
        self.runs = RunOverlays(self.charts)

        charts = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        charts.addWidget(self.loss_chart)
        charts.addWidget(self.epoch_chart)
        top = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        top.addWidget(charts)
        top.addWidget(self.samples)
        # The charts are what a run is watched for: two thirds of the width, samples the last third.
        top.setStretchFactor(0, 2)
        top.setStretchFactor(1, 1)
        self.top_splitter = top
        self._user_split = False  # until the user drags the divider, resizes keep the 2:1 share
        top.splitterMoved.connect(lambda *_: setattr(self, "_user_split", True))
        resources = QtWidgets.QWidget()
        resources_layout = QtWidgets.QHBoxLayout(resources)
        resources_layout.setContentsMargins(0, 0, 0, 0)
        resources_layout.addWidget(self.cpu_chart)
        resources_layout.addWidget(self.memory_chart)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.log, "Log")
        self.tabs.addTab(self.lr_chart, "Learning rate")
        self.tabs.addTab(self.speed_chart, "Throughput")
        self.tabs.addTab(resources, "CPU && memory")
        self.tabs.addTab(self.metrics_chart, "All epoch metrics")
        self.tabs.addTab(self.histograms, "Weights && gradients")
        mistakes_page = QtWidgets.QScrollArea()  # its tables must not set the monitor's minimum size
        mistakes_page.setWidgetResizable(True)
        mistakes_page.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        mistakes_page.setWidget(self.mistakes)
        self.tabs.addTab(mistakes_page, "Mistakes")
        self.tabs.addTab(self.runs, "Runs")
        self.save_log_button = QtWidgets.QToolButton()
        self.save_log_button.setText("Save log…")
        self.save_log_button.setToolTip("Save the log lines shown as a text file.")
        self.save_log_button.clicked.connect(self._save_log_dialog)
        self.tabs.setCornerWidget(self.save_log_button)
        self.tabs.currentChanged.connect(
            lambda _i: self.save_log_button.setVisible(self.tabs.currentWidget() is self.log)
        )
        outer = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        outer.addWidget(top)
        outer.addWidget(self.tabs)
        outer.setStretchFactor(0, 2)
        outer.setStretchFactor(1, 1)
        self.splitter = outer
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(outer)

        # Charts are redrawn at most 5 times a second while a run is live, not on every batch the bridge
        # delivers, and less often when drawing them costs more than ``chart_budget`` of a core: on 2
        # cores the GUI thread's time comes out of training's (python -m bench gui), and charts are most
        # of it. The redraw rides on a bridge tick, like the paced status and ETA lines, so all of them
        # are painted in one pass of the event loop rather than in several.
        self.chart_budget = chart_budget
        self._fastest_redraw = redraw_ms / 1000.0
        self._paced_redraw = Paced(self._redraw, rate_hz=1000.0 / redraw_ms)
        self._chart_work_seen = 0.0
        self._redraw_cost: float | None = None
        bridge.sigFlushed.connect(self._tick)
        self._last_state = "idle"
        self._run_start_time: float | None = None
        self.iteration_points = 0  # metric points received (tests and the bench read these)
        bridge.sigRunStarted.connect(self._on_run_started)
        bridge.sigIterationMetrics.connect(self._on_iterations)
        bridge.sigEpochMetrics.connect(self._on_epochs)
        bridge.sigSamplePredictions.connect(self._on_samples)
        bridge.sigResourceUsage.connect(self._on_resources)
        bridge.sigConfusionMatrix.connect(
            lambda events: self.confusion.set_matrix(events[-1].matrix, events[-1].classes)
        )
        # The samples behind the mistakes, and "Continue from here" (short names: the window, tests).
        self.mistake_samples = behind = MistakeSamples(bridge, self.log, self.mistakes, self)
        bridge.sigValidationPredictions.connect(behind.on_validation_predictions)
        self.set_project, self.open_cell, self.open_class, self.open_worst, self.continue_from_here = (
            behind.set_project,
            behind.open_cell,
            behind.open_class,
            behind.open_worst,
            behind.continue_from_here,
        )
        behind.sigContinuing.connect(self.sigContinuing)
        bridge.sigLayerHealth.connect(self._on_health)
        self._health_said: set = set()  # (layer, kind, severity) logged in this run
        self.confusion.sigCellClicked.connect(self.open_cell)
        self.mistakes.sigCellClicked.connect(self.open_cell)
        self.mistakes.sigClassClicked.connect(self.open_class)
        self.mistakes.sigWorstClicked.connect(self.open_worst)
        self.mistakes.sigContinueClicked.connect(self.continue_from_here)
        bridge.sigHistograms.connect(self._on_histograms)
        bridge.sigLog.connect(lambda events: self.log.add_lines((e.level, e.message, e.time) for e in events))
        bridge.sigCheckpointSaved.connect(self._on_checkpoints)
        bridge.sigRunFinished.connect(self._on_run_finished)
        bridge.sigStateChanged.connect(self._state_changed)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if not self._user_split:
            whole = sum(self.top_splitter.sizes()) or self.top_splitter.width()
            self.top_splitter.setSizes([whole * 2 // 3, whole - whole * 2 // 3])

    def refresh(self) -> None:
        """Draw what arrived since the last redraw (charts without new points cost nothing)."""
        for chart in self.charts:
            chart.refresh()
        self._budget_redraws()

    def _redraw(self, _value) -> None:
        self.refresh()

    @property
    def redraw_interval(self) -> float:
        """Seconds between chart redraws during a run: 0.2 s, or longer while redraws cost more than
        ``chart_budget`` of a core (1 s at most)."""
        return self._paced_redraw.interval

    def _chart_work(self) -> float:
        """CPU seconds all charts have spent refreshing and painting so far."""
        return sum(chart.work_seconds for chart in self.charts)

    def _budget_redraws(self) -> None:
        """Set the redraw interval from the charts' CPU time per redraw (refresh, and the paint that
        follows it, which is counted at the next redraw), smoothed over the last few redraws."""
        work = self._chart_work()
        spent, self._chart_work_seen = work - self._chart_work_seen, work
        cost = self._redraw_cost
        self._redraw_cost = spent if cost is None else 0.7 * cost + 0.3 * spent
        wanted = self._redraw_cost / self.chart_budget
        self._paced_redraw.interval = min(max(wanted, self._fastest_redraw), 1.0)

    # ------------------------------------------------------------------ slots
    def _tick(self, _events: int) -> None:
        self.samples.poll()
        self._paced_redraw.push(None)  # charts with nothing new cost nothing

    def _state_changed(self, state: str) -> None:
        """E.g. paused: show the last points and the last predictions now, not at the next redraw; the
        log records the change."""
        self._log_state(state)
        self.samples.flush()
        self._paced_redraw.drop()
        self.refresh()

    def _on_run_finished(self, _state: str) -> None:
        self.samples.flush()
        self._paced_redraw.drop()
        self.refresh()

    def _log_state(self, state: str) -> None:
        where = f" at iteration {self.bridge.progress.iteration}" if self.bridge.progress.iteration else ""
        said = {
            "paused": f"paused{where}",
            "stopping": "stopping (the current iteration completes first)",
            "stopped": f"stopped{where}",
            "finished": f"finished{where}",
        }.get(state)
        if state == "running" and self._last_state == "paused":
            said = "resumed"
        self._last_state = state
        if said is not None:
            self.log.add_line("error" if state == "error" else "info", said)

    def _save_log_dialog(self) -> QtWidgets.QFileDialog:
        dialog = QtWidgets.QFileDialog(self, "Save the log")
        dialog.setAcceptMode(QtWidgets.QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("Text files (*.txt *.log);;All files (*)")
        dialog.setDefaultSuffix("txt")
        dialog.fileSelected.connect(self._save_log)
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _save_log(self, path: str) -> None:
        try:
            self.log.save(path)
        except OSError as exc:
            self.log.add_line("error", f"Could not save the log to {path}: {exc}")
        else:
            self.log.add_line("info", f"log saved to {path}")

    def show_project(self, project) -> None:
        """Another project was opened: its runs are what the charts show next, so earlier runs leave
        the charts (they stay, unticked, in the Runs tab for comparison) and the samples clear."""
        if self.bridge.busy:
            return  # the run keeps going and stays in view until it ends
        self.runs.untick_all()
        self.samples.clear()
        self.confusion.clear()
        self.refresh()

    def _on_run_started(self, info: RunInfo) -> None:
        # The redraw budget counts from here: what drawing cost before the run does not slow it.
        self._chart_work_seen = self._chart_work()
        self._redraw_cost = None
        self._paced_redraw.interval = self._fastest_redraw
        self.runs.forget_other_project(info.project_name)
        for chart in self.charts:
            chart.set_current_run(info.run_id)
        self.samples.start_run(info.run_id)
        self._health_said.clear()
        self.mistake_samples.validation_predictions = None  # the last run's would not match the new data
        self._run_start_time = None
        self.runs.add(info)
        self.log.add_line("info", f"{info.label} started: {info.project_name}")

    def _on_iterations(self, events: list) -> None:
        run = self.bridge.run_id
        columns: dict[str, tuple[list, list]] = collections.defaultdict(lambda: ([], []))
        for e in events:
            for name, value in e.metrics.items():
                if value is None:
                    continue
                xs, ys = columns[name]
                xs.append(e.iteration)
                ys.append(value)
        for name, (xs, ys) in columns.items():
            if name == "learning_rate":
                self.lr_chart.append(name, xs, ys, run=run, label="learning rate")
            elif name == "samples_per_second":
                self.speed_chart.append(name, xs, ys, run=run, label="samples / s")
            elif name not in _SPECIAL:
                self.loss_chart.append(name, xs, ys, run=run)
        self.iteration_points += len(events)

    def _on_epochs(self, events: list) -> None:
        run = self.bridge.run_id
        for e in events:
            main = _main_epoch_metrics(e.metrics)
            for name, value in e.metrics.items():
                if value is None or name in _SPECIAL:
                    continue
                self.metrics_chart.append(name, [e.epoch], [value], run=run, symbol="o")
                if name in main:  # the headline chart stays readable: loss and one metric, train and val
                    self.epoch_chart.append(name, [e.epoch], [value], run=run, symbol="o")

    def _on_samples(self, events: list) -> None:
        self.samples.show_events(events, run=self.bridge.run_id)

    def _on_resources(self, events: list) -> None:
        run = self.bridge.run_id
        if self._run_start_time is None:
            self._run_start_time = events[0].time
        t = [e.time - self._run_start_time for e in events]
        self.cpu_chart.append("cpu", t, [e.cpu_percent for e in events], run=run, label="CPU %")
        self.memory_chart.append(
            "memory", t, [e.memory_bytes / 2**20 for e in events], run=run, label="resident"
        )
        gpu = [(ti, e.gpu_memory_bytes / 2**20) for ti, e in zip(t, events) if e.gpu_memory_bytes is not None]
        if gpu:
            self.memory_chart.append("gpu", [g[0] for g in gpu], [g[1] for g in gpu], run=run, label="GPU")

    @property
    def project(self):
        """The open project: sample edits go into it (see ``set_project``)."""
        return self.mistake_samples.project

    @property
    def validation_predictions(self):
        """The newest ValidationPredictions of the current run, or None."""
        return self.mistake_samples.validation_predictions

    @property
    def browser(self):
        """The open samples browser, or None."""
        return self.mistake_samples.browser

    def _on_health(self, reports: list) -> None:
        """Each new layer-health finding of the run, once, in the log (the builder shows them all)."""
        for report in reports:
            for f in report.findings:
                key = (f.layer, f.kind, f.severity)
                if key not in self._health_said:
                    self._health_said.add(key)
                    self.log.add_line(
                        "warning", f"health at iteration {report.iteration}: {f.message}", report.time
                    )

    def _on_histograms(self, events: list) -> None:
        e = events[-1]
        self.histograms.set_histograms(e.weights, e.gradients, f"epoch {e.epoch}, iteration {e.iteration}")

    def _on_checkpoints(self, events: list) -> None:
        for e in events:
            self.log.add_line("info", f"checkpoint saved ({e.reason or 'policy'}): {e.path}", e.time)


def _main_epoch_metrics(metrics: dict) -> set[str]:
    """Loss and the first other metric (accuracy, mae...), with their validation twins."""
    names = [n for n in metrics if not n.startswith("val_") and n not in _SPECIAL]
    main = {"loss"} | ({next(n for n in names if n != "loss")} if any(n != "loss" for n in names) else set())
    return main | {f"val_{n}" for n in main}
