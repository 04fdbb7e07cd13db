"""The run table: every recorded run of the project, what differed, how it did, its curves overlaid.

Reads the project's run folders (``<project>.runs/``, see :mod:`engine.runs`) through the same
:func:`engine.runs.run_table` that ``sigma runs`` prints. While the panel is shown, runs that appear
or change there without us (``sigma train`` in a terminal, another machine writing into a shared
folder) are noticed off the GUI thread (:mod:`studio.panels.runs_poll`) and can be watched live.
Reopening a project shows its runs again, with the newest one's curves drawn. Reading a run folder
costs a few small files and, for the chart, at most about 10,000 points per curve (the series'
downsampled levels), so even a run of a million iterations opens at once.
"""

from __future__ import annotations

import time

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from engine.runs import list_runs, lower_is_better, runs_dir
from engine.runs.table import SKIPPED_METRICS
from studio.panels.runs_actions import RunActions
from studio.panels.runs_model import SORT_ROLE, RunTableModel
from studio.panels.runs_poll import RunsFolderPoller
from studio.panels.runs_sweeps import SweepActions
from studio.sweep_runner import SweepRunner
from studio.widgets.parallel_coordinates import ParallelCoordinates

__all__ = ["RunsPanel"]

# Buttons, in two rows: (key, text, tooltip, method).
_ACTIONS = (
    (
        ("star", "Star", "Star or unstar the selected runs", "toggle_star"),
        ("rename", "Rename…", "Give the selected run a name", "rename_selected"),
        ("note", "Note…", "Write a note on the selected run", "note_selected"),
        ("delete", "Delete…", "Delete the selected runs and their folders", "delete_selected"),
        (
            "train",
            "Continue from here",
            "Train on from the selected run's latest checkpoint with the project's current settings and "
            "sample edits, as a new run: a resume when nothing changed, else a branch of that run",
            "train_from",
        ),
    ),
    (
        ("sweep", "Sweep…", "Train the project over a grid of settings, one run per trial", "new_sweep"),
        (
            "resume_sweep",
            "Resume sweep",
            "Run the trials of the last sweep that did not finish",
            "resume_sweep",
        ),
        ("stop_sweep", "Stop sweep", "Stop the sweep; it can be resumed later", "stop_sweep"),
        (
            "watch",
            "Watch",
            "Show the selected run live and steer it (a run trained elsewhere: sigma train, another "
            "machine, an MPI job)",
            "watch_selected",
        ),
        ("refresh", "Refresh", "Read the run folders again", "reload"),
    ),
)
_MAX_POINTS = 10_000  # per curve; levels keep every spike of longer series
_REFRESH_S = 2.0  # while a run is live, its row is re-read at most this often


class RunsPanel(RunActions, SweepActions, QtWidgets.QWidget):
    """Run table with filter, star/rename/note/delete, and a chart of the checked runs' curves.

    Parameters
    ----------
    bridge : studio.bridge.Bridge
        Its run states refresh the table; "Train from this run" starts through it.
    """

    sigMessage = QtCore.Signal(str)
    sigWatch = QtCore.Signal(object)  # a run folder the user wants to watch (Path)

    def __init__(self, bridge, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.project = None
        self.model = RunTableModel(self)
        self.proxy = QtCore.QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(QtCore.Qt.CaseSensitivity.CaseInsensitive)

        self.filter = QtWidgets.QLineEdit()
        self.filter.setPlaceholderText("Filter runs (any column: 'adam', 'finished', 'run 3'...)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QtWidgets.QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, QtCore.Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.view.verticalHeader().hide()
        self.view.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)

        self.metric_choice = QtWidgets.QComboBox()
        self.metric_choice.setToolTip("The metric drawn for every checked run")
        self.metric_choice.currentTextChanged.connect(lambda _: self.redraw())
        self.plot = pg.PlotWidget()
        self.plot_item = self.plot.getPlotItem()
        self.plot_item.showGrid(x=True, y=True, alpha=0.25)
        self.plot_item.getAxis("left").enableAutoSIPrefix(False)  # "0.95", not "950 (x0.001)"
        self.plot_item.setDownsampling(auto=True, mode="peak")
        self.plot_item.setClipToView(True)
        self.plot_item.addLegend(offset=(-10, 10))
        self.plot.setMinimumHeight(160)
        self.curves: dict[str, pg.PlotDataItem] = {}  # run name -> curve of the chosen metric

        self.actions: dict[str, QtWidgets.QPushButton] = {}
        button_rows = []
        for group in _ACTIONS:
            buttons = QtWidgets.QHBoxLayout()
            for key, text, tip, method in group:
                button = QtWidgets.QPushButton(text)
                button.setToolTip(tip)
                button.clicked.connect(lambda _=False, m=method: getattr(self, m)())
                buttons.addWidget(button)
                self.actions[key] = button
            buttons.addStretch(1)
            button_rows.append(buttons)
        self.where = QtWidgets.QLabel("")
        self.where.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)

        table_box = QtWidgets.QWidget()
        table_layout = QtWidgets.QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addWidget(self.filter)
        table_layout.addWidget(self.view)
        for buttons in button_rows:
            table_layout.addLayout(buttons)
        table_layout.addWidget(self.where)
        chart_box = QtWidgets.QWidget()
        chart_layout = QtWidgets.QVBoxLayout(chart_box)
        chart_layout.setContentsMargins(0, 0, 0, 0)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Compare checked runs:"))
        row.addWidget(self.metric_choice, 1)
        chart_layout.addLayout(row)
        chart_layout.addWidget(self.plot)
        self.parallel = ParallelCoordinates()
        self.parallel_metric = QtWidgets.QComboBox()
        self.parallel_metric.setToolTip("The metric on the last axis (and the lines' colour: yellow is best)")
        self.parallel_metric.currentTextChanged.connect(lambda _: self.draw_parallel())
        parallel_box = QtWidgets.QWidget()
        parallel_layout = QtWidgets.QVBoxLayout(parallel_box)
        parallel_layout.setContentsMargins(0, 0, 0, 0)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Settings that differ against:"))
        row.addWidget(self.parallel_metric, 1)
        parallel_layout.addLayout(row)
        parallel_layout.addWidget(self.parallel)
        self.views = QtWidgets.QTabWidget()
        self.views.addTab(chart_box, "Curves")
        self.views.addTab(parallel_box, "Parallel coordinates")
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(table_box)
        split.addWidget(self.views)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        self.view.verticalHeader().setDefaultSectionSize(self.view.fontMetrics().height() + 8)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(split)

        self.model.sigCheckedChanged.connect(self.redraw)
        self.proxy.layoutChanged.connect(self.draw_parallel)
        self.proxy.rowsInserted.connect(lambda *_: self.draw_parallel())
        self.proxy.rowsRemoved.connect(lambda *_: self.draw_parallel())
        self.sweeps = SweepRunner(self)
        self.sweeps.sigTrial.connect(self._trial)
        self.sweeps.sigFinished.connect(self._sweep_finished)
        self._reloaded_at = 0.0  # time.monotonic() of the last reload
        self._check_child_of: str | None = None  # a run being continued: check its child when it appears
        self._children_seen: set[str] = set()
        bridge.sigStateChanged.connect(self._state_changed)
        bridge.sigEpochMetrics.connect(self._live_epoch)
        self.poller = RunsFolderPoller(parent=self)
        self.poller.sigChanged.connect(self._polled)

    # ------------------------------------------------------------------ project
    def set_project(self, project) -> None:
        """Show ``project``'s runs; the newest run is checked so its curves show at once."""
        self.project = project
        self.poller.set_project_path(self.project_path())
        self.model.checked.clear()
        self.reload()
        if self.model.table.records:
            self.model.set_checked(self.model.table.records[-1].name, True)
        else:
            self.redraw()

    def project_path(self):
        return getattr(self.project, "path", None)

    def reload(self) -> None:
        """Read the run folders again (the table keeps its sort, filter and checks)."""
        path = self.project_path()
        self._show_records(list_runs(path) if path is not None else [])

    def _show_records(self, records) -> None:
        self._reloaded_at = time.monotonic()
        path = self.project_path()
        self.model.set_records(records)
        self._check_new_children(records)
        if path is None:
            self.where.setText("Runs are recorded once the project is saved (File > Save).")
        else:
            self.where.setText(f"{len(records)} run(s) in {runs_dir(path)}")
        self._fill_metrics()
        self.redraw()
        self.draw_parallel()
        self._show_sweep_state()

    def _check_new_children(self, records) -> None:
        """Check the run continued from ``_check_child_of`` once its folder appears, beside its parent
        (whoever continued it: this panel, the Mistakes tab or the samples browser)."""
        parent_name = self._check_child_of
        if parent_name is None:
            return
        for record in records:
            parent = record.parent or {}
            if parent.get("run") == parent_name and record.name not in self._children_seen:
                self._children_seen.add(record.name)
                self._check_child_of = None
                self.model.set_checked(parent_name, True)
                self.model.set_checked(record.name, True)

    def follow_continuation(self, parent_name: str) -> None:
        """The next run continued from ``parent_name`` is checked with it when it appears."""
        self._children_seen = {r.name for r in self.model.table.records}
        self._check_child_of = parent_name

    # ------------------------------------------------------------------ chart
    def _fill_metrics(self) -> None:
        names: list[str] = []
        for record in self.model.table.records:
            for series in record.series().names():
                level, metric = series.split("/", 1)
                if metric not in SKIPPED_METRICS and series not in names:
                    names.append(series)
        names.sort(key=lambda n: (not n.startswith("epoch/"), n.split("/", 1)[1].startswith("val_"), n))
        _refill(self.metric_choice, names)
        results = [c for c in self.model.table.columns if c.startswith(("best ", "final "))]
        results.sort(key=lambda c: (not c.startswith("best "), not c.endswith(" val_loss"), c))
        _refill(self.parallel_metric, results)

    def redraw(self) -> None:
        """Draw the chosen metric of every checked run (one colour per run)."""
        for curve in self.curves.values():
            self.plot_item.removeItem(curve)
        self.curves.clear()
        series = self.metric_choice.currentText()
        if not series:
            return
        level = series.split("/", 1)[0]
        self.plot_item.setLabel("bottom", level)
        self.plot_item.setLabel("left", series.split("/", 1)[1])
        records = self.model.table.records
        for i, record in enumerate(records):
            if record.name not in self.model.checked:
                continue
            x, y = record.series().read(series, max_points=_MAX_POINTS)
            if not len(x):
                continue
            pen = pg.mkPen(pg.intColor(i, hues=max(len(records), 6)), width=2)
            symbol = "o" if level == "epoch" else None
            self.curves[record.name] = self.plot_item.plot(
                x, y, pen=pen, name=record.label, symbol=symbol, symbolSize=5, symbolBrush=pen.color()
            )
        self.plot_item.enableAutoRange()

    def draw_parallel(self) -> None:
        """Settings that differ between the shown (filtered) runs, against the chosen metric."""
        metric = self.parallel_metric.currentText()
        table = self.model.table
        axes = list(table.setting_columns)
        rows = {}
        for r in range(self.proxy.rowCount()):
            row = self.proxy.mapToSource(self.proxy.index(r, 0)).row()
            values = table.rows[row]
            rows[table.records[row].name] = [values.get(a) for a in axes] + [values.get(metric)]
        name = metric.split(" ", 1)[-1]
        self.parallel.set_data(axes + [metric], rows, metric, not lower_is_better(name))

    # ------------------------------------------------------------------ live updates
    def _state_changed(self, state: str) -> None:
        # A new run's folder appears once it is built; a finished one has its final metrics.
        if state in ("running", "finished", "stopped", "error", "idle"):
            self.reload()

    def _polled(self, path, records) -> None:
        """The poller read the runs folder afresh because something there changed."""
        if path == self.project_path():
            selected = [self.model.record(r).name for r in self.selected_rows()]
            self._show_records(records)
            for name in selected[:1]:  # a table refilled under the user keeps their selection
                self.select(name)

    def showEvent(self, event) -> None:  # Qt's name
        super().showEvent(event)
        self.poller.start()  # only while the table can be seen: a hidden tab costs nothing
        self.poller.check()

    def hideEvent(self, event) -> None:  # Qt's name
        super().hideEvent(event)
        self.poller.stop()

    def _live_epoch(self, _events) -> None:
        # At most every _REFRESH_S, and no timer: the run's end reloads anyway (a state change).
        if time.monotonic() - self._reloaded_at >= _REFRESH_S:
            self.reload()

    # ------------------------------------------------------------------ actions
    def selected_rows(self) -> list[int]:
        """Model rows of the selected runs."""
        rows = {self.proxy.mapToSource(i).row() for i in self.view.selectionModel().selectedRows()}
        return sorted(rows)

    def select(self, name: str) -> None:
        row = self.model.row_of(name)
        if row is not None:
            self.view.selectRow(self.proxy.mapFromSource(self.model.index(row, 0)).row())


def _refill(combo: QtWidgets.QComboBox, items: list[str]) -> None:
    """Replace a combo box's items, keeping its choice when it is still there (no signal on the way)."""
    current = combo.currentText()
    combo.blockSignals(True)
    combo.clear()
    combo.addItems(items)
    if current in items:
        combo.setCurrentText(current)
    combo.blockSignals(False)
