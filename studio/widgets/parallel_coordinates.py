"""A parallel-coordinates view: one vertical axis per parameter and a last one for a metric; each run is
a line through its values, coloured by the metric, so the settings of the good runs stand out.

Numeric axes are scaled to their range (on a log scale when all values are positive and span more than
a factor of 10, as learning rates do); text axes (an optimiser's name) place their values evenly.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

__all__ = ["ParallelCoordinates"]


def _scale(values: list) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """Values -> positions in [0, 1] and a few (position, label) ticks. None stays NaN."""
    present = [v for v in values if v is not None]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present)
    if present and numeric:
        x = np.array([np.nan if v is None else float(v) for v in values])
        low, high = np.nanmin(x), np.nanmax(x)
        log = low > 0 and high / low > 10
        t = np.log10(x) if log else x
        lo, hi = (math.log10(low), math.log10(high)) if log else (low, high)
        span = hi - lo
        pos = (t - lo) / span if span > 0 else np.full_like(t, 0.5)
        ticks = sorted({(float(p), f"{v:.3g}") for p, v in zip(pos, x) if np.isfinite(p)})
        return pos, ticks
    labels = sorted({str(v) for v in present})
    where = {label: (i / (len(labels) - 1) if len(labels) > 1 else 0.5) for i, label in enumerate(labels)}
    pos = np.array([np.nan if v is None else where[str(v)] for v in values])
    return pos, [(p, label) for label, p in where.items()]


class ParallelCoordinates(QtWidgets.QWidget):
    """Axes and lines, redrawn by :meth:`set_data`."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.item = self.plot.getPlotItem()
        self.item.hideAxis("left")
        self.item.hideAxis("bottom")
        self.item.setMouseEnabled(x=False, y=False)
        self.item.hideButtons()
        self.plot.setMinimumHeight(160)
        self.empty = QtWidgets.QLabel("Runs whose settings differ show here, one line per run.")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        layout.addWidget(self.empty)
        self.lines: dict[str, pg.PlotDataItem] = {}
        self.axes: list[str] = []

    def set_data(self, axes: list[str], rows: dict[str, list], metric: str, higher_is_better: bool) -> None:
        """Draw ``rows`` (run name -> one value per axis, the metric last) across ``axes``."""
        self.item.clear()
        self.lines = {}
        self.axes = list(axes)
        usable = {name: values for name, values in rows.items() if values and values[-1] is not None}
        self.empty.setVisible(len(axes) < 2 or not usable)
        if len(axes) < 2 or not usable:
            return
        names = list(usable)
        columns = [_scale([usable[n][k] for n in names]) for k in range(len(axes))]
        metric_pos = columns[-1][0]
        quality = metric_pos if higher_is_better else 1 - metric_pos
        colours = pg.colormap.get("viridis")
        xs = np.arange(len(axes), dtype=float)
        for i, name in enumerate(names):
            ys = np.array([columns[k][0][i] for k in range(len(axes))])
            q = float(quality[i]) if np.isfinite(quality[i]) else 0.0
            pen = pg.mkPen(colours.map(q, mode="qcolor"), width=3 if q >= 0.999 else 1.5)
            self.lines[name] = self.item.plot(xs, ys, pen=pen, connect="finite")
        for k, axis in enumerate(axes):
            self.item.addItem(pg.InfiniteLine(pos=k, angle=90, pen=pg.mkPen("#888888")))
            title = pg.TextItem(axis, anchor=(0.5, 1.0), color="#333333")
            title.setPos(k, 1.08)
            self.item.addItem(title)
            for p, label in columns[k][1][:8]:
                tick = pg.TextItem(label, anchor=(0, 0.5), color="#555555")
                tick.setPos(k + 0.03, p)
                self.item.addItem(tick)
        self.item.setXRange(-0.3, len(axes) - 0.5, padding=0)
        self.item.setYRange(-0.08, 1.15, padding=0)
