"""What training the current project will cost: memory by part and by layer, time per epoch, and the
largest batch that fits a memory budget.

The estimate (:func:`engine.estimate.estimate_cost`) and the batch finder
(:func:`engine.estimate.largest_batch`, real training steps) run on a pool thread: building the network
and loading the data can take longer than a frame. Results come back as queued signals.
"""

from __future__ import annotations

import copy

from PySide6 import QtCore, QtWidgets

__all__ = ["CostView"]


class _Signals(QtCore.QObject):
    sigEstimate = QtCore.Signal(int, object)  # (request number, CostEstimate or error text)
    sigLargest = QtCore.Signal(object)  # (batch, probes) or error text


class _Task(QtCore.QRunnable):
    def __init__(self, work, done):
        super().__init__()
        self.setAutoDelete(True)
        self._work, self._done = work, done

    def run(self) -> None:  # pool thread
        try:
            result = self._work()
        except Exception as exc:  # shown in the view, never a crash
            result = f"{type(exc).__name__}: {exc}".splitlines()[0]
        self._done(result)


_data_sizes: dict[str, tuple[int, int]] = {}  # dataset spec -> (bytes, training samples)


def _estimate(project):
    """The estimate for a project snapshot (pool thread)."""
    import json

    from engine.estimate import estimate_cost
    from engine.network import Network
    from engine.run import load_project_data

    network = Network.from_spec(project.network)
    key = json.dumps(project.dataset, sort_keys=True, default=str) + str(project.path)
    if key not in _data_sizes:
        try:
            data = load_project_data(project)
            nbytes = sum(int(getattr(data[name], "nbytes", 0)) for name in data.section_names)
            fraction = float((project.dataset or {}).get("validation_split") or 0.0)
            _data_sizes[key] = (nbytes, int(round(len(data) * (1 - fraction))))
        except Exception:
            _data_sizes[key] = (0, 0)
    data_bytes, samples = _data_sizes[key]
    t = project.training
    classes = None
    if network.loss_head is None:
        shape = next(iter(network.output_shapes.values()), (1,))
        classes = int(shape[-1]) if shape else 1
    return estimate_cost(
        network,
        int(t.batch_size),
        t.optimiser,
        data_bytes=data_bytes,
        samples_per_epoch=samples or None,
        loss_classes=classes,
    )


class CostView(QtWidgets.QWidget):
    """Memory and time before training, for the current batch size; the batch finder.

    Call :meth:`refresh` when the project's network or settings change.
    ``sigUseBatch(int)`` asks the owner to set the batch size to the finder's answer.
    """

    sigUseBatch = QtCore.Signal(int)
    sigUpdated = QtCore.Signal()

    def __init__(self, compact: bool = False, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.project = None
        self.estimate = None
        self.largest = None
        self._request = 0
        self._pool = QtCore.QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.sigEstimate.connect(self._show_estimate)
        self._signals.sigLargest.connect(self._show_largest)
        self.summary = QtWidgets.QLabel("No project")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layers = QtWidgets.QTableWidget(0, 4)
        self.layers.setHorizontalHeaderLabels(["Layer", "Output", "Forward", "Backward"])
        self.layers.verticalHeader().hide()
        self.layers.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.layers.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.layers.setVisible(not compact)
        self.layers.setMinimumHeight(120)
        self.budget = QtWidgets.QSpinBox()
        self.budget.setRange(1, 10_000_000)
        self.budget.setSuffix(" MiB")
        self.budget.setToolTip("The memory the run may use (default: 80 % of the RAM available now)")
        self.find = QtWidgets.QPushButton("Largest batch that fits")
        self.find.setToolTip("Measure real training steps at growing batch sizes until the budget is reached")
        self.find.clicked.connect(self.find_largest)
        self.use = QtWidgets.QPushButton("Use it")
        self.use.setToolTip("Set the batch size to the largest one measured to fit in memory.")
        self.use.setEnabled(False)
        self.use.clicked.connect(lambda: self.largest and self.sigUseBatch.emit(self.largest[0]))
        self.answer = QtWidgets.QLabel("")
        self.answer.setWordWrap(True)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Budget"))
        row.addWidget(self.budget)
        # Compact (the training panel's narrow column): the buttons get a row of their own, so the
        # panel never grows wider than its column (a horizontal scroll bar and clipped text).
        buttons = QtWidgets.QHBoxLayout() if compact else row
        buttons.addWidget(self.find)
        buttons.addWidget(self.use)
        row.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.layers)
        layout.addLayout(row)
        if compact:
            buttons.addStretch(1)
            layout.addLayout(buttons)
        layout.addWidget(self.answer)
        self._running = False  # an estimate is on the pool thread
        self._dirty = False  # settings changed since it started: estimate again when it is back
        try:
            from engine.estimate import memory_budget

            self.budget.setValue(max(1, memory_budget() >> 20))
        except Exception:
            self.budget.setValue(4096)

    def set_project(self, project) -> None:
        """Estimate ``project``; the estimate follows every change of its training settings."""
        if self.project is not None:
            self.project.training.unsubscribe(self._setting_changed)
        self.project = project
        if project is not None:
            project.training.subscribe(self._setting_changed)
        self.largest = None
        self.use.setEnabled(False)
        self.answer.setText("")
        self.refresh()

    def _setting_changed(self, _key: str, _value) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Estimate again, off the GUI thread. Edits come in bursts: while one estimate runs, further
        calls only ask for one more when it is back. A hidden view waits until it is shown."""
        if not self.isVisible():
            self._dirty = True
            return
        if self._running:
            self._dirty = True
            return
        self._start_estimate()

    def showEvent(self, event) -> None:  # Qt's name
        super().showEvent(event)
        if self._dirty or self.estimate is None:
            self._dirty = False
            self.refresh()

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the pool's work is done (tests, and closing)."""
        return self._pool.waitForDone(msecs)

    def _start_estimate(self) -> None:
        if self.project is None or not (self.project.network or {}).get("nodes"):
            self.summary.setText("No network yet")
            return
        self._request += 1
        self._running = True
        number, snapshot, signals = self._request, copy.deepcopy(self.project), self._signals
        self._pool.start(_Task(lambda: _estimate(snapshot), lambda r: signals.sigEstimate.emit(number, r)))

    def _show_estimate(self, number: int, result) -> None:
        self._running = False
        if self._dirty and self.isVisible():
            self._dirty = False
            self._start_estimate()
            return
        if number != self._request:
            return  # an older request finished after a newer one started
        if isinstance(result, str):
            self.estimate = None
            self.summary.setText(f"Cannot estimate: {result}")
            self.sigUpdated.emit()
            return
        self.estimate = result
        self.summary.setText("\n".join(result.lines()))
        self.layers.setRowCount(0)
        for layer in result.layers:
            r = self.layers.rowCount()
            self.layers.insertRow(r)
            cells = (
                f"{layer.name} ({layer.type})",
                str(layer.output_shape),
                f"{layer.forward_bytes / 2**20:.2f} MiB",
                f"{layer.backward_bytes / 2**20:.2f} MiB",
            )
            for c, text in enumerate(cells):
                self.layers.setItem(r, c, QtWidgets.QTableWidgetItem(text))
        self.sigUpdated.emit()

    def find_largest(self) -> None:
        """Run the batch finder for the current project and budget (on the pool thread)."""
        if self.project is None:
            return
        from engine.estimate import largest_batch
        from engine.run import build_run

        snapshot = copy.deepcopy(self.project)
        budget = int(self.budget.value()) << 20

        def make(batch):
            project = copy.deepcopy(snapshot)
            project.training["batch_size"] = int(batch)
            return build_run(project, record=False)

        self.find.setEnabled(False)
        self.answer.setText("Measuring…")
        signals = self._signals
        self._pool.start(_Task(lambda: largest_batch(make, budget), signals.sigLargest.emit))

    def _show_largest(self, result) -> None:
        self.find.setEnabled(True)
        if isinstance(result, str):
            self.largest = None
            self.answer.setText(f"Could not measure: {result}")
        else:
            batch, probes = result
            self.largest = result
            tried = ", ".join(f"{b} ({p / 2**20:.0f} MiB)" for b, p in probes)
            self.answer.setText(
                f"Largest batch that fits in {self.budget.value():,} MiB: {batch} (measured: {tried})"
                if batch
                else f"Not even batch 1 fits in {self.budget.value():,} MiB (measured: {tried})"
            )
        self.use.setEnabled(bool(self.largest and self.largest[0]))
        self.sigUpdated.emit()
