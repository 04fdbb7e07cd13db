"""What a chart offers besides its curves: smoothing, export and a hover readout (a strip under it).

- Smoothing is TensorBoard's: an exponential moving average with weight ``w`` (0 = off, up to 0.99),
  debiased at the start so the first points are not pulled towards zero; the raw curve stays, faint,
  behind the smoothed one. :class:`EmaBuffer` extends it point by point as data arrives, so a refresh
  costs only the new points.
- Export: the chart as a PNG picture, its data (every series of every run) as a CSV table.
- The readout names, at the mouse's x, the value of each shown series of the current run.
"""

from __future__ import annotations

import csv

import numpy as np
from PySide6 import QtCore, QtWidgets

from studio.widgets.series_buffer import SeriesBuffer

__all__ = ["EmaBuffer", "ChartTools", "write_csv"]


class EmaBuffer(SeriesBuffer):
    """The debiased exponential moving average of a series, extended incrementally."""

    def __init__(self, weight: float):
        super().__init__()
        self.weight = float(weight)
        self._last = 0.0  # the biased average so far
        self._count = 0

    def extend(self, xs: np.ndarray, ys: np.ndarray) -> None:
        """Smooth the new points ``ys`` (at ``xs``) on from where the series stopped."""
        w, last, n = self.weight, self._last, self._count
        out = np.empty(len(ys))
        for i, y in enumerate(ys):  # sequential by nature; only the points new since the last refresh
            if np.isfinite(y):
                last = w * last + (1.0 - w) * y
                n += 1
            out[i] = last / (1.0 - w**n) if n else np.nan
        self._last, self._count = last, n
        self.append(xs, out)


def write_csv(path, rows) -> None:
    """Write ``(run, series, x, y)`` rows under a header, as UTF-8 CSV."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["run", "series", "x", "y"])
        for run, name, x, y in rows:
            out.writerow(["" if run is None else run, name, repr(float(x)), repr(float(y))])


class ChartTools(QtWidgets.QWidget):
    """The strip under a :class:`~studio.widgets.chart.LiveChart`: readout, smoothing, export, log."""

    def __init__(self, chart, smoothing: bool, log_toggle: bool, parent=None):
        super().__init__(parent)
        self.chart = chart
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        self.readout = QtWidgets.QLabel("")
        self.readout.setProperty("role", "caption")
        self.readout.setToolTip("The values under the mouse pointer.")
        # Ignored width: a long readout must not widen the chart's column.
        self.readout.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        layout.addWidget(self.readout, 1)
        self.smoothing = None
        if smoothing:
            layout.addWidget(QtWidgets.QLabel("smoothing"))
            self.smoothing = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
            self.smoothing.setRange(0, 99)
            self.smoothing.setFixedWidth(90)
            self.smoothing.setToolTip(
                "Smoothing: exponential moving average of the curves, 0 (off) to 0.99; "
                "the raw values stay faint behind."
            )
            self.smoothing.valueChanged.connect(lambda v: chart.set_smoothing(v / 100.0))
            layout.addWidget(self.smoothing)
        self.log_box = None
        if log_toggle:
            self.log_box = QtWidgets.QCheckBox("log scale")
            self.log_box.setToolTip("Logarithmic y axis: for losses that fall over several decades.")
            self.log_box.toggled.connect(chart.set_log_y)
            layout.addWidget(self.log_box)
        self.export_button = QtWidgets.QToolButton()
        self.export_button.setText("Export")
        self.export_button.setToolTip("Save this chart as a PNG picture, or its data as a CSV table.")
        self.export_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QtWidgets.QMenu(self.export_button)
        menu.addAction("Picture (PNG)…", lambda: self._ask("png"))
        menu.addAction("Data (CSV)…", lambda: self._ask("csv"))
        self.export_button.setMenu(menu)
        layout.addWidget(self.export_button)

    def _ask(self, kind: str) -> QtWidgets.QFileDialog:
        dialog = QtWidgets.QFileDialog(self, "Export the chart" if kind == "png" else "Export the data")
        dialog.setAcceptMode(QtWidgets.QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("PNG pictures (*.png)" if kind == "png" else "CSV tables (*.csv)")
        dialog.setDefaultSuffix(kind)
        save = self.chart.export_png if kind == "png" else self.chart.export_csv
        dialog.fileSelected.connect(lambda path: self._save(save, path))
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _save(self, save, path: str) -> None:
        try:
            save(path)
        except OSError as exc:
            self.readout.setText(f"Could not save {path}: {exc}")
        else:
            self.readout.setText(f"Saved {path}")
