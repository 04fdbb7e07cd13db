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

__all__ = ["MonitorPanel"]

_SPECIAL = ("learning_rate", "samples_per_second", "seconds", "time", "iteration_time")
_KEEP_RUNS = 5  # runs kept for comparison; older ones are forgotten


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
        self.runs = QtWidgets.QListWidget()
        self.runs.setToolTip("Tick runs to overlay them on the charts (dotted lines are earlier runs)")
        self.runs.itemChanged.connect(self._run_toggled)
        self.charts = [
            self.loss_chart,
            self.epoch_chart,
            self.lr_chart,
            self.speed_chart,
            self.cpu_chart,
            self.memory_chart,
            self.samples.error_chart,
        ]

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
        self._run_order: collections.deque = collections.deque()
        self._last_state = "idle"
        self._run_projects: list[str] = []
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
        bridge.sigValidationPredictions.connect(self._on_validation_predictions)
        bridge.sigLayerHealth.connect(self._on_health)
        self._health_said: set = set()  # (layer, kind, severity) logged in this run
        self.confusion.sigCellClicked.connect(self.open_cell)
        self.mistakes.sigCellClicked.connect(self.open_cell)
        self.mistakes.sigClassClicked.connect(self.open_class)
        self.mistakes.sigWorstClicked.connect(self.open_worst)
        self.mistakes.sigContinueClicked.connect(self.continue_from_here)
        self.project = None  # the open project: sample edits go into it (see set_project)
        self.validation_predictions = None  # the newest ValidationPredictions of the current run
        self.browser = None
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
        for i in range(self.runs.count()):
            self.runs.item(i).setCheckState(QtCore.Qt.CheckState.Unchecked)  # hides its curves
        self.samples.clear()
        self.confusion.clear()
        self.refresh()

    def _on_run_started(self, info: RunInfo) -> None:
        # The redraw budget counts from here: what drawing cost before the run does not slow it.
        self._chart_work_seen = self._chart_work()
        self._redraw_cost = None
        self._paced_redraw.interval = self._fastest_redraw
        if self._run_projects and self._run_projects[-1] != info.project_name:
            self._forget_runs()  # curves of another project (other metrics, other scales) only confuse
        self._run_projects.append(info.project_name)
        for chart in self.charts:
            chart.set_current_run(info.run_id)
        self.samples.start_run(info.run_id)
        self._health_said.clear()
        self.validation_predictions = None  # the last run's would not match the new run's data
        self._run_start_time = None
        self._run_order.append(info.run_id)
        while len(self._run_order) > _KEEP_RUNS:
            old = self._run_order.popleft()
            for chart in self.charts:
                chart.remove_run(old)
            self.runs.takeItem(self.runs.count() - 1)
        item = QtWidgets.QListWidgetItem(f"{info.label}: {info.project_name}")
        item.setData(QtCore.Qt.ItemDataRole.UserRole, info.run_id)
        item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(QtCore.Qt.CheckState.Checked)
        self.runs.insertItem(0, item)
        self.log.add_line("info", f"{info.label} started: {info.project_name}")

    def _forget_runs(self) -> None:
        for run in self._run_order:
            for chart in self.charts:
                chart.remove_run(run)
        self._run_order.clear()
        self._run_projects.clear()
        self.runs.clear()

    def _run_toggled(self, item: QtWidgets.QListWidgetItem) -> None:
        run = item.data(QtCore.Qt.ItemDataRole.UserRole)
        visible = item.checkState() == QtCore.Qt.CheckState.Checked
        for chart in self.charts:
            chart.set_run_visible(run, visible)

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

    # ------------------------------------------------------------------ samples behind the mistakes
    def set_project(self, project) -> None:
        """The project sample edits are written to (the window's open project)."""
        self.project = project

    def _on_validation_predictions(self, events: list) -> None:
        e = self.validation_predictions = events[-1]
        run = self.bridge.run
        if run is not None and getattr(run, "validation_data", None) is not None:
            self.mistakes.set_predictions(
                run.validation_data["inputs"], e.probabilities, e.targets, e.classes
            )

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

    def _browser(self):
        """A samples browser on the newest validation predictions, or None (with a log line) when none."""
        run, event = self.bridge.run, self.validation_predictions
        if run is None or event is None or getattr(run, "validation_data", None) is None:
            self.log.add_line("info", "The samples appear after a classifier's first validation pass.")
            return None
        from engine.data.edits import DatasetEdits, EditError  # only when browsing
        from studio.widgets.samples_browser import BrowserData, SamplesBrowser

        try:
            edits = DatasetEdits.from_list(
                (self.project.dataset or {}).get("edits") if self.project else None
            )
        except EditError as exc:
            self.log.add_line("error", f"the project's sample edits cannot be read: {exc}")
            return None
        if self.browser is not None:
            self.browser.close()
            self.browser.deleteLater()
        self.browser = SamplesBrowser(BrowserData.from_run(run, event), edits, self)
        self.browser.sigEditsChanged.connect(self._edits_changed)
        self.browser.sigContinueClicked.connect(self.continue_from_here)
        self.browser.show()
        return self.browser

    def open_cell(self, true: int, predicted: int):
        """Open the samples of confusion cell ``[true, predicted]``; returns the browser (or None)."""
        browser = self._browser()
        if browser is not None:
            browser.show_cell(true, predicted)
        return browser

    def open_class(self, true: int):
        """Open the samples of class ``true``; returns the browser (or None)."""
        browser = self._browser()
        if browser is not None:
            browser.show_class(true)
        return browser

    def open_worst(self):
        """Open the most confidently wrong samples; returns the browser (or None)."""
        browser = self._browser()
        if browser is not None:
            browser.show_rows(self.mistakes.worst_rows, "Most confidently wrong samples")
        return browser

    def _edits_changed(self, edits: list) -> None:
        if self.project is None:
            return
        dataset = dict(self.project.dataset or {})
        if edits:
            dataset["edits"] = edits
        else:
            dataset.pop("edits", None)
        self.project.dataset = dataset
        self.log.add_line("info", f"sample edits: {len(edits)} (the next run trains on the edited data)")

    def continue_from_here(self) -> bool:
        """Train on from the latest checkpoint of the run on screen with the project as it is now
        (its sample edits, its settings), as a new run: a branch of that run, drawn from its iteration
        beside its line. Returns whether the run started (else a log line says why)."""
        from engine.runs.continuation import continued_project, latest_checkpoint

        run = self.bridge.run
        folder = getattr(run, "folder", None)
        if self.bridge.busy:
            self.log.add_line(
                "info", "Stop the run first (Training > Stop): then continue from its checkpoint."
            )
            return False
        if self.project is None or run is None:
            self.log.add_line("info", "Train a run first: Continue from here trains on from its checkpoint.")
            return False
        if folder is None:
            self.log.add_line(
                "info", "Save the project first: runs (and their checkpoints) are recorded then."
            )
            return False
        if getattr(run.project, "path", None) != self.project.path:  # another project opened since
            self.log.add_line(
                "info", f"{folder.name} is a run of another project: open that project to continue it."
            )
            return False
        checkpoint = latest_checkpoint(folder)
        if checkpoint is None:
            self.log.add_line("info", f"{folder.name} wrote no checkpoint to continue from.")
            return False
        project, total = continued_project(self.project, folder)
        if total is not None:
            self.log.add_line(
                "info", f"{folder.name} reached the project's epochs: continuing to epoch {total}"
            )
        self.sigContinuing.emit(folder.name)  # the runs panel checks the parent and its branch
        return bool(self.bridge.start(project, label=f"from {folder.name}", resume_from=checkpoint))

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
