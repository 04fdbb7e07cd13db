"""Weight and gradient histograms per parameter: pick a layer's parameter, see both distributions."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from studio import theme

__all__ = ["HistogramView"]


class HistogramView(QtWidgets.QWidget):
    """Two step plots (weights, gradients) for the parameter chosen in the combo box."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.choice = QtWidgets.QComboBox()
        self.choice.setToolTip("Which layer parameter to show")
        self.choice.currentTextChanged.connect(self._redraw)
        self.caption = QtWidgets.QLabel("Shown when the run reports histograms.")
        self.caption.setProperty("role", "caption")
        self.plots = pg.GraphicsLayoutWidget()
        self.weights_plot = self.plots.addPlot(title="weights")  # side by side: the tab is wide, not tall
        self.gradients_plot = self.plots.addPlot(title="gradients")
        self.weights_curve = self.weights_plot.plot(
            stepMode="center", fillLevel=0, brush=theme.series_color("loss"), pen=None
        )
        self.gradients_curve = self.gradients_plot.plot(
            stepMode="center", fillLevel=0, brush=theme.series_color("val_loss"), pen=None
        )
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("Parameter:"))
        top.addWidget(self.choice, 1)
        top.addWidget(self.caption)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.plots, 1)
        self._weights: dict = {}
        self._gradients: dict = {}
        self._stale = False  # histograms arrived while the view was out of sight (another tab)

    def set_histograms(self, weights: dict, gradients: dict, caption: str = "") -> None:
        """``{"fc1.weights": (counts (B,), edges (B+1,))}`` for weights and gradients."""
        self._weights, self._gradients = dict(weights), dict(gradients)
        names = sorted(set(self._weights) | set(self._gradients))
        if names != [self.choice.itemText(i) for i in range(self.choice.count())]:
            current = self.choice.currentText()
            self.choice.blockSignals(True)
            self.choice.clear()
            self.choice.addItems(names)
            if current in names:
                self.choice.setCurrentText(current)
            elif names:  # start on the first layer's weights, the most telling distribution
                self.choice.setCurrentText(next((n for n in names if n.endswith("weights")), names[0]))
            self.choice.blockSignals(False)
        self.caption.setText(caption)
        self._redraw()

    def showEvent(self, event) -> None:  # Qt's name
        super().showEvent(event)
        if self._stale:
            self._redraw()

    def _redraw(self, *_):
        if not self.isVisible():  # drawing a tab nobody looks at would only take the training's time
            self._stale = True
            return
        self._stale = False
        name = self.choice.currentText()
        for data, curve in ((self._weights, self.weights_curve), (self._gradients, self.gradients_curve)):
            if name in data:
                counts, edges = (np.array(a, dtype=np.float64, copy=True) for a in data[name])
                curve.setData(edges, counts)
            else:
                curve.setData([], [])
