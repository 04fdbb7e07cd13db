"""Confusion-matrix heat map: rows are the true classes, columns the predicted ones, counts in the cells."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["ConfusionMatrixView"]

_MAX_LABELLED = 12  # above this many classes the cell numbers would be unreadable: colours only


class ConfusionMatrixView(QtWidgets.QWidget):
    """A heat map of ``matrix[true, predicted]`` normalised per row (recall), with counts in cells.

    Clicking a cell emits ``sigCellClicked(true, predicted)`` (the monitor opens its samples).
    """

    sigCellClicked = QtCore.Signal(int, int)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.item = self.plot.getPlotItem()
        self.item.setLabel("left", "true class")
        self.item.setLabel("bottom", "predicted class")
        self.item.setTitle("Confusion matrix (validation)")
        self.plot.setToolTip(
            "Rows: the true class; columns: the predicted class. Colour: the share of the true class.\n"
            "Hover a cell for its count and share."
        )
        self.item.getViewBox().invertY(True)
        self.item.getViewBox().setAspectLocked(True)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.item.addItem(self.image)
        self.empty_label = QtWidgets.QLabel("Shown once a classifier finishes a validation pass.")
        self.empty_label.setProperty("role", "caption")
        self.normalised = QtWidgets.QCheckBox("Shares")
        self.normalised.setToolTip("Show each cell as a percentage of its true class instead of a count.")
        self.normalised.toggled.connect(lambda _on: self._write_cells())
        self.readout = QtWidgets.QLabel("")
        self.readout.setProperty("role", "caption")
        self.readout.setToolTip("The cell under the mouse: true class, predicted class, count and share.")
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(self.readout, 1)
        bar.addWidget(self.normalised)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.plot)
        layout.addLayout(bar)
        self._names: list[str] = []
        self.plot.scene().sigMouseMoved.connect(self._hover)
        self._texts: list[pg.TextItem] = []
        self._n = 0
        self.matrix: np.ndarray | None = None
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self._tick_steps = (1, 1)  # every how many class names the axes show (see _thin_ticks)
        self.item.getViewBox().sigResized.connect(self._refit)
        self.item.getViewBox().sigRangeChanged.connect(self._fit_labels)

    def cell_at(self, scene_pos) -> tuple[int, int] | None:
        """The (true, predicted) cell under a scene position, or None outside the matrix."""
        if self.matrix is None:
            return None
        point = self.item.getViewBox().mapSceneToView(scene_pos)
        row, col = int(np.floor(point.y())), int(np.floor(point.x()))
        k = self.matrix.shape[0]
        return (row, col) if 0 <= row < k and 0 <= col < k else None

    def _clicked(self, event) -> None:
        cell = self.cell_at(event.scenePos())
        if cell is not None and event.button() == QtCore.Qt.MouseButton.LeftButton:
            self.sigCellClicked.emit(*cell)

    def _fit_labels(self, *_):
        """Cell numbers only where a cell is big enough to hold them (colours still tell the story)."""
        vb = self.item.getViewBox()
        cell = vb.mapViewToDevice(QtCore.QPointF(1, 1)) - vb.mapViewToDevice(QtCore.QPointF(0, 0))
        show = min(abs(cell.x()), abs(cell.y())) >= 20
        for text in self._texts:
            text.setVisible(show)
        self._thin_ticks(abs(cell.x()), abs(cell.y()))

    def _thin_ticks(self, cell_width: float, cell_height: float) -> None:
        """Every class name on the axes where the cells leave room, else every 2nd (3rd...) one: names
        written over each other are read by nobody (the readout names any cell on hover)."""
        if not self._names or cell_width <= 0 or cell_height <= 0:
            return
        metrics = QtGui.QFontMetrics(self.item.getAxis("bottom").font())
        wide = max(metrics.horizontalAdvance(name) for name in self._names) + 6
        steps = (math.ceil(wide / cell_width), math.ceil((metrics.height() + 2) / cell_height))
        if steps == self._tick_steps:
            return
        self._tick_steps = steps
        for axis, step in zip(("bottom", "left"), steps, strict=True):
            shown = range(0, len(self._names), max(1, step))
            self.item.getAxis(axis).setTicks([[(i + 0.5, self._names[i]) for i in shown]])

    def _refit(self, *_):
        # The view is aspect-locked: after a resize, show the whole matrix again (never a clipped edge).
        if self._n:
            self.item.getViewBox().autoRange(padding=0.02)
        self._fit_labels()

    def cell_text(self, i: int, j: int) -> str:
        """What the readout says about cell (true ``i``, predicted ``j``)."""
        m = self.matrix
        total = m[i].sum()
        share = m[i, j] / total if total else 0.0
        names = self._names or [str(c) for c in range(m.shape[0])]
        return f"true {names[i]}, predicted {names[j]}: {int(m[i, j])} of {int(total)} ({share:.0%})"

    def _hover(self, pos) -> None:
        if self.matrix is None:
            return
        point = self.item.getViewBox().mapSceneToView(pos)
        i, j = int(np.floor(point.y())), int(np.floor(point.x()))
        k = self.matrix.shape[0]
        self.readout.setText(self.cell_text(i, j) if 0 <= i < k and 0 <= j < k else "")

    def clear(self) -> None:
        """Back to the empty state (another project: its matrix has other classes)."""
        self.matrix = None
        self.image.clear()
        for text in self._texts:
            self.item.removeItem(text)
        self._texts, self._n, self._names = [], 0, []
        self.readout.setText("")
        self.empty_label.show()

    def set_matrix(self, matrix, classes=None) -> None:
        """Show counts ``matrix[true, predicted]`` (int array (K, K))."""
        m = np.array(matrix, dtype=np.float64, copy=True)
        self.matrix = m
        self.empty_label.hide()
        rows = m.sum(axis=1, keepdims=True)
        share = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
        self.image.setImage(share, autoLevels=False, levels=(0.0, 1.0))
        self._share = share
        k = m.shape[0]
        if k != self._n:
            self._rebuild_labels(k, classes)
        self._write_cells()

    def _write_cells(self) -> None:
        """Counts (or shares, with the toggle) in the cells, dark on light colours and light on dark."""
        if self.matrix is None or self._n > _MAX_LABELLED:
            return
        m, share, k = self.matrix, self._share, self._n
        for i in range(k):
            for j in range(k):
                text = self._texts[i * k + j]
                text.setText(f"{share[i, j]:.0%}" if self.normalised.isChecked() else f"{int(m[i, j])}")
                text.setColor("w" if share[i, j] < 0.6 else "k")

    def _rebuild_labels(self, k: int, classes) -> None:
        for text in self._texts:
            self.item.removeItem(text)
        self._texts = []
        self._n = k
        names = [str(c) for c in classes] if classes is not None else [str(i) for i in range(k)]
        self._names = names
        ticks = [[(i + 0.5, names[i]) for i in range(k)]]
        self.item.getAxis("bottom").setTicks(ticks)
        self.item.getAxis("left").setTicks(ticks)
        self._tick_steps = (1, 1)
        if k <= _MAX_LABELLED:  # created once per class count, updated in place
            for i in range(k):
                for j in range(k):
                    text = pg.TextItem("", anchor=(0.5, 0.5))
                    text.setPos(j + 0.5, i + 0.5)
                    self.item.addItem(text)
                    self._texts.append(text)
        self.item.getViewBox().autoRange(padding=0.02)
        self._fit_labels()
