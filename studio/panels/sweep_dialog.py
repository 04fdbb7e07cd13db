"""The sweep dialog: parameters and their values (a grid, or a random sample of it), trials at once.

Keys offered: the training settings worth sweeping and every numeric argument of the project's layers
(``network.<layer>.<argument>``); any dotted key or layer pattern (``network.fc*.units``) can be typed.
The sweep is checked (every trial applied to a copy of the project) before the dialog closes.
"""

from __future__ import annotations

import os

from PySide6 import QtWidgets

__all__ = ["SweepDialog", "suggested_keys"]

_TRAINING_KEYS = {
    "optimiser.learning_rate": "1e-3, 3e-3",
    "batch_size": "32, 64",
    "optimiser.type": "adam, sgd",
    "seed": "0, 1, 2",
    "epochs": "10, 20",
}


def suggested_keys(project) -> dict[str, str]:
    """Sweepable keys with example values: training settings, then each layer's numeric arguments."""
    keys = dict(_TRAINING_KEYS)
    for node in (getattr(project, "network", None) or {}).get("nodes", []):
        for argument, value in node.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                keys[f"network.{node.get('name')}.{argument}"] = f"{value}, {value * 2}"
    return keys


class SweepDialog(QtWidgets.QDialog):
    """Choose the axes of a sweep. After ``exec()`` returns Accepted, :attr:`sweep_path` is the new
    sweep file and :attr:`trials_at_once` the number of trials at once."""

    def __init__(self, project, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("New sweep")
        self.project = project
        self.sweep_path = None
        self.keys = suggested_keys(project)
        self.axes = QtWidgets.QTableWidget(0, 2)
        self.axes.setHorizontalHeaderLabels(["Parameter", "Values (comma-separated)"])
        self.axes.horizontalHeader().setStretchLastSection(True)
        self.axes.verticalHeader().hide()
        add = QtWidgets.QPushButton("Add parameter")
        add.clicked.connect(lambda: self.add_axis())
        remove = QtWidgets.QPushButton("Remove")
        remove.clicked.connect(self._remove_axis)
        self.random = QtWidgets.QCheckBox("Random sample of the grid:")
        self.count = QtWidgets.QSpinBox()
        self.count.setRange(1, 100_000)
        self.count.setValue(8)
        self.count.setSuffix(" trials")
        self.count.setEnabled(False)
        self.random.toggled.connect(self.count.setEnabled)
        self.parallel = QtWidgets.QSpinBox()
        cores = os.cpu_count() or 1
        self.parallel.setRange(1, max(1, cores))
        self.parallel.setValue(1)
        self.parallel.setToolTip(f"Trials training at once; each gets {cores} cores / this many BLAS threads")
        self.trials = QtWidgets.QLabel("")
        self.error = QtWidgets.QLabel("")
        self.error.setProperty("role", "field-error")
        self.error.setWordWrap(True)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok).setText("Start sweep")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        form = QtWidgets.QFormLayout()
        sample = QtWidgets.QHBoxLayout()
        sample.addWidget(self.random)
        sample.addWidget(self.count)
        sample.addStretch(1)
        form.addRow(sample)
        form.addRow("Trials at once", self.parallel)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.axes)
        layout.addLayout(row)
        layout.addLayout(form)
        layout.addWidget(self.trials)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.axes.itemChanged.connect(lambda _: self._count_trials())
        self.random.toggled.connect(lambda _: self._count_trials())
        self.count.valueChanged.connect(lambda _: self._count_trials())
        self.add_axis("optimiser.learning_rate", _TRAINING_KEYS["optimiser.learning_rate"])
        self.resize(560, 360)

    def add_axis(self, key: str = "batch_size", values: str | None = None) -> None:
        """Add a row: a parameter (editable list of suggestions) and its values."""
        row = self.axes.rowCount()
        self.axes.insertRow(row)
        combo = QtWidgets.QComboBox()
        combo.setEditable(True)
        combo.addItems(list(self.keys))
        combo.setCurrentText(key)
        combo.currentTextChanged.connect(lambda text, r=row: self._key_changed(r, text))
        self.axes.setCellWidget(row, 0, combo)
        self.axes.setItem(row, 1, QtWidgets.QTableWidgetItem(values or self.keys.get(key, "")))
        self._count_trials()

    def _key_changed(self, row: int, key: str) -> None:
        item = self.axes.item(row, 1)
        if item is not None and key in self.keys:
            item.setText(self.keys[key])

    def _remove_axis(self) -> None:
        row = self.axes.currentRow()
        if row >= 0:
            self.axes.removeRow(row)
        self._count_trials()

    def axis_texts(self) -> list[str]:
        """The rows as ``KEY=V1,V2`` (what ``sigma sweep --grid`` takes)."""
        texts = []
        for row in range(self.axes.rowCount()):
            combo = self.axes.cellWidget(row, 0)
            item = self.axes.item(row, 1)
            key = combo.currentText().strip() if combo is not None else ""
            values = item.text().replace(" ", "") if item is not None else ""
            if key:
                texts.append(f"{key}={values}")
        return texts

    def _count_trials(self) -> None:
        from engine.runs.sweep import SweepError, parse_axis

        total = 1
        try:
            for text in self.axis_texts():
                total *= len(parse_axis(text)[1])
        except SweepError:
            self.trials.setText("")
            return
        if self.random.isChecked():
            total = min(total, self.count.value())
        self.trials.setText(f"{total} trial(s)")

    def accept(self) -> None:
        """Check the axes and write the sweep file; stay open with the error otherwise."""
        from engine.runs.sweep import SweepError, create_sweep, parse_axis

        try:
            axes = [parse_axis(text) for text in self.axis_texts()]
            count = self.count.value() if self.random.isChecked() else None
            self.sweep_path = create_sweep(self.project, axes, random_count=count)
        except SweepError as exc:
            self.error.setText(str(exc))
            return
        super().accept()

    @property
    def trials_at_once(self) -> int:
        return int(self.parallel.value())
