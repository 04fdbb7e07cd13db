"""Where the classifier goes wrong, after each validation: the most confused pairs of classes, the
per-class scores and the most confidently wrong samples. Clicking a pair or a class asks for its samples
(the monitor opens the samples browser)."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from engine.hooks.validation import confusion_matrix, per_class_metrics
from engine.training.mistakes import confused_pairs, worst_samples
from studio.widgets.sample_grid import SampleGrid

__all__ = ["MistakesView"]

TOP_PAIRS = 10
WORST = 16


def _table(headers) -> QtWidgets.QTableWidget:
    table = QtWidgets.QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class MistakesView(QtWidgets.QWidget):
    """Most-confused pairs (top 10), per-class precision/recall, and the 16 most confidently wrong samples.

    Signals
    -------
    sigCellClicked(true, predicted)
        A pair was clicked.
    sigClassClicked(true)
        A class of the per-class table was clicked.
    sigWorstClicked()
        "Open in the samples browser" under the worst samples.
    sigContinueClicked()
        "Continue from here": train on from this run's latest checkpoint as a new run.
    """

    sigCellClicked = QtCore.Signal(int, int)
    sigClassClicked = QtCore.Signal(int)
    sigWorstClicked = QtCore.Signal()
    sigContinueClicked = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.caption = QtWidgets.QLabel(
            "Shown after a classifier's validation pass. Click a row to see its samples."
        )
        self.caption.setProperty("role", "caption")
        self.caption.setWordWrap(True)  # a one-line caption would set the whole monitor's minimum width
        self.pairs_table = _table(["true", "predicted as", "samples"])
        self.pairs_table.setToolTip(
            "The pairs of classes the network mixes up most (top 10); click for the samples"
        )
        self.class_table = _table(["class", "recall", "precision", "samples"])
        self.class_table.setToolTip("Per-class scores on the validation set; click a class for its samples")
        self.worst = SampleGrid(columns=8, rows=2, tile=44)
        self.worst.title.setText("Most confidently wrong: predicted class (confidence)")
        self.open_worst = QtWidgets.QPushButton("Open in the samples browser")
        self.open_worst.clicked.connect(self.sigWorstClicked)
        self.continue_button = QtWidgets.QPushButton("Continue from here")
        self.continue_button.setToolTip(
            "Train on from this run's latest checkpoint with the project's current sample edits and "
            "settings, as a new run that branches from this one (the data files are untouched)"
        )
        self.continue_button.clicked.connect(self.sigContinueClicked)
        self.pairs: list[tuple[int, int, int]] = []
        self.worst_rows = np.zeros(0, np.int64)
        self.pairs_table.cellClicked.connect(self._pair_clicked)
        self.class_table.cellClicked.connect(lambda row, _col: self.sigClassClicked.emit(row))
        tables = QtWidgets.QHBoxLayout()
        for title, table in (("Most confused pairs", self.pairs_table), ("Per class", self.class_table)):
            box = QtWidgets.QGroupBox(title)
            QtWidgets.QVBoxLayout(box).addWidget(table)
            tables.addWidget(box)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addLayout(tables, 1)
        layout.addWidget(self.worst)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.open_worst)
        buttons.addWidget(self.continue_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

    def set_predictions(self, inputs, probabilities, targets, classes) -> None:
        """Update from one validation pass: ``probabilities`` (N, C), ``targets`` (N,), ``inputs``
        (N, ...)."""
        probabilities = np.asarray(probabilities)
        targets = np.asarray(targets, dtype=np.int64)
        k = probabilities.shape[1]
        names = list(classes) if classes else [str(c) for c in range(k)]
        matrix = confusion_matrix(targets, probabilities.argmax(axis=1), k)
        self.pairs = confused_pairs(matrix, TOP_PAIRS)
        self.pairs_table.setRowCount(len(self.pairs))
        for r, (t, p, n) in enumerate(self.pairs):
            for c, text in enumerate((names[t], names[p], str(n))):
                self.pairs_table.setItem(r, c, QtWidgets.QTableWidgetItem(text))
        scores = per_class_metrics(matrix)
        self.class_table.setRowCount(k)
        for c in range(k):
            values = (
                names[c],
                f"{scores['recall'][c]:.1%}",
                f"{scores['precision'][c]:.1%}",
                str(int(scores["support"][c])),
            )
            for col, text in enumerate(values):
                self.class_table.setItem(c, col, QtWidgets.QTableWidgetItem(text))
        self.worst_rows = worst_samples(probabilities, targets, WORST)
        rows = self.worst_rows
        if len(rows):
            self.worst.set_samples(np.asarray(inputs)[rows], probabilities[rows], targets[rows], names)
        else:
            self.worst.set_samples(np.zeros((0, 1)), np.zeros((0, k)), None, names)
        self.open_worst.setEnabled(len(rows) > 0)
        wrong = int((probabilities.argmax(axis=1) != targets).sum())
        self.caption.setText(
            f"{wrong} of {len(targets)} validation samples wrong. Click a row to see its samples."
        )

    def _pair_clicked(self, row: int, _column: int) -> None:
        if 0 <= row < len(self.pairs):
            t, p, _n = self.pairs[row]
            self.sigCellClicked.emit(t, p)
