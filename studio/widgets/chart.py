"""A live line chart: named series, appended in batches, redrawn at most once per refresh.

pyqtgraph's rules for fast live plots are followed: one curve per series created once and updated with
``setData``; long histories are peak-downsampled to the screen width and clipped to the view; data lives
in growing numpy buffers (amortised doubling, :mod:`studio.widgets.series_buffer`), never in Python lists
re-converted on every frame. Several runs can be overlaid: a series is keyed by ``(run, name)``; older
runs are drawn thinner and dashed in the same colour.

Ranges follow the data in steps (:mod:`studio.widgets.chart_ranges`) rather than pyqtgraph's autorange on
every redraw: the x axis doubles its span when the data reaches its end, the y axis changes only when the
data leaves it (then with room to travel on) or fills less than a third of it; non-negative data within
half its maximum of zero (a falling loss) is shown from zero, which then holds. Axes are drawn from a
cached pixmap while their range holds, so a redraw mostly paints the curves; re-rendering an axis was
most of the GUI's painting cost during training (python -m bench gui). A chart out of sight (another
tab) does no work. Zooming or panning by hand stops the following; the plot's "A" button (auto range)
starts it again.

Under the plot, :class:`~studio.widgets.chart_tools.ChartTools` offers smoothing (charts made with
``smoothing=True``), export as PNG or CSV and a readout of the values under the mouse. Validation
series (``val_*``) have their own colour, a dashed line and "(validation)" in the legend.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from studio import theme
from studio.widgets.chart_legend import LegendPlacer
from studio.widgets.chart_ranges import data_bounds, stepped_ranges
from studio.widgets.chart_tools import ChartTools, EmaBuffer, write_csv
from studio.widgets.series_buffer import SeriesBuffer

__all__ = ["LiveChart", "SeriesBuffer"]


class _PlotWidget(pg.PlotWidget):
    """A PlotWidget that adds up the CPU time its paints take (the monitor budgets its redraws)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.paint_seconds = 0.0

    def paintEvent(self, event) -> None:  # Qt's name
        start = time.thread_time()
        super().paintEvent(event)
        self.paint_seconds += time.thread_time() - start


class LiveChart(QtWidgets.QWidget):
    """A titled plot of named series, with an optional log-scale toggle.

    Parameters
    ----------
    title : str
        Shown above the plot.
    x_label, y_label : str
        Axis labels (say the unit: "iteration", "samples / s").
    log_toggle : bool
        Show a "log scale" check box (for losses).
    smoothing : bool
        Show a smoothing slider (exponential moving average, raw values faint behind).
    min_x_span : float
        The x axis starts this wide (in x units: 100 iterations, 10 epochs) so the first points do not
        move it at every redraw; it doubles from there as the data reaches its end.
    """

    sigLogScaleChanged = QtCore.Signal(bool)

    def __init__(
        self,
        title: str,
        x_label: str = "iteration",
        y_label: str = "",
        log_toggle: bool = False,
        parent: QtWidgets.QWidget | None = None,
        min_x_span: float = 1.0,
        smoothing: bool = False,
    ):
        super().__init__(parent)
        self.min_x_span = float(min_x_span)
        self.plot_widget = _PlotWidget()
        self.plot_item = self.plot_widget.getPlotItem()
        self.plot_item.setTitle(title)
        self.plot_item.setLabel("bottom", x_label)
        if y_label:
            self.plot_item.setLabel("left", y_label)
        self.plot_item.showGrid(x=True, y=True, alpha=0.25)
        self.plot_item.getAxis("left").enableAutoSIPrefix(False)  # "0.05", not "50" under "(x0.001)"
        self.plot_item.setDownsampling(auto=True, mode="peak")
        self.plot_item.setClipToView(True)
        for side in ("left", "bottom"):
            self.plot_item.getAxis(side).setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.view_box = self.plot_item.getViewBox()
        self.view_box.disableAutoRange()
        self.following = True  # ranges follow the data (in steps) until the user zooms or pans
        self.view_box.sigRangeChangedManually.connect(self._stop_following)
        self.plot_item.autoBtn.clicked.connect(self.follow)
        # Compact and see-through; placed in the corner the data leaves free (chart_legend), movable.
        self.legend = self.plot_item.addLegend(
            offset=(-10, 10), brush=pg.mkBrush(255, 255, 255, 150), labelTextSize="8pt", verSpacing=-4
        )
        self.plot_widget.setMinimumHeight(120)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.plot_widget)
        self.legend_placer = LegendPlacer(self)
        self.tools = ChartTools(self, smoothing, log_toggle)
        self.log_box = self.tools.log_box
        layout.addWidget(self.tools)
        self.plot_widget.scene().sigMouseMoved.connect(self._hover)
        self.smoothing = 0.0
        self._smoothed: dict[tuple, tuple] = {}  # key -> (EmaBuffer, curve) while smoothing is on
        self._buffers: dict[tuple, SeriesBuffer] = {}
        self._curves: dict[tuple, pg.PlotDataItem] = {}
        self._dirty: set[tuple] = set()
        self._current_run = None
        self._hidden_runs: set = set()
        self._legend_names: dict = {}  # (run, series) -> its legend name while the run is hidden
        self._refresh_seconds = 0.0

    # ----------------------------------------------------------------- data
    def append(
        self, name: str, xs, ys, run=None, label: str | None = None, symbol: str | None = None
    ) -> None:
        """Add points to a series (created on first use). Drawn at the next :meth:`refresh`."""
        key = (run, name)
        if key not in self._buffers:
            self._buffers[key] = SeriesBuffer()
            self._curves[key] = self._make_curve(key, label or name, symbol)
        self._buffers[key].append(xs, ys)
        if key in self._smoothed:
            self._smoothed[key][0].extend(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
        elif self.smoothing > 0:
            self._smooth(key)
        self._dirty.add(key)

    def _make_curve(self, key, label, symbol):
        run, name = key
        color = theme.series_color(name)  # validation series have colours of their own
        validation = name.startswith("val_")
        style = QtCore.Qt.PenStyle.DashLine if validation else QtCore.Qt.PenStyle.SolidLine
        if validation and label == name:
            label = f"{name.removeprefix('val_')} (validation)"
        current = run == self._current_run
        pen = pg.mkPen(
            color, width=2 if current else 1, style=style if current else QtCore.Qt.PenStyle.DotLine
        )
        name_in_legend = label if current or run is None else f"{label} ({run})"
        curve = self.plot_item.plot(
            name=name_in_legend, pen=pen, symbol=symbol, symbolSize=6, symbolBrush=color, symbolPen=None
        )
        if run in self._hidden_runs:
            self._show_curve(key, curve, False)
        return curve

    def _show_curve(self, key, curve, visible: bool) -> None:
        """Show or hide one series, and its legend entry with it (a hidden run is not in the legend)."""
        curve.setVisible(visible)
        if key in self._smoothed:
            self._smoothed[key][1].setVisible(visible)
        if not visible:
            for sample, label in list(self.legend.items):
                if sample.item is curve:
                    self._legend_names[key] = label.text
                    self.legend.removeItem(curve)
        elif key in self._legend_names:
            self.legend.addItem(curve, self._legend_names.pop(key))

    def set_current_run(self, run) -> None:
        """Series of this run are drawn bold; earlier runs thin and dotted (for comparison)."""
        self._current_run = run
        for (r, name), curve in self._curves.items():
            if r != run and curve.opts["pen"].style() != QtCore.Qt.PenStyle.DotLine:
                curve.setPen(pg.mkPen(curve.opts["pen"].color(), width=1, style=QtCore.Qt.PenStyle.DotLine))
                old_name = f"{curve.name() or name} (run {r})"
                if (r, name) in self._legend_names:  # hidden: named so when it is shown again
                    self._legend_names[(r, name)] = old_name
                else:
                    self.legend.removeItem(curve)
                    self.legend.addItem(curve, old_name)

    def set_run_visible(self, run, visible: bool) -> None:
        """Show or hide every series of one run (the monitor's run list drives this)."""
        if visible:
            self._hidden_runs.discard(run)
        else:
            self._hidden_runs.add(run)
        for key, curve in self._curves.items():
            if key[0] == run:
                self._show_curve(key, curve, visible)
        self._fit(force=True)
        self.legend_placer.place()

    def remove_run(self, run) -> None:
        """Forget every series of one run."""
        for key in [k for k in self._curves if k[0] == run]:
            if key in self._smoothed:
                self.plot_item.removeItem(self._smoothed.pop(key)[1])
            self.plot_item.removeItem(self._curves.pop(key))
            self._legend_names.pop(key, None)
            self._buffers.pop(key)
            self._dirty.discard(key)

    def refresh(self) -> None:
        """Push changed series to their curves (one ``setData`` per changed series).

        A chart out of sight (another tab) keeps its changes until it is shown: nobody sees the work.
        """
        if not self._dirty or not self.isVisible():
            return
        start = time.thread_time()
        for key in self._dirty:
            buf = self._buffers[key]
            y = buf.y
            if self.plot_item.ctrl.logYCheck.isChecked():
                y = np.where(y > 0, y, np.nan)  # log of 0 or a negative loss has no place on a log axis
            self._curves[key].setData(buf.x.copy(), y.copy())
            if key in self._smoothed:
                ema, curve = self._smoothed[key]
                sy = (
                    ema.y
                    if not self.plot_item.ctrl.logYCheck.isChecked()
                    else np.where(ema.y > 0, ema.y, np.nan)
                )
                curve.setData(ema.x.copy(), sy.copy())
        self._fit()
        self.legend_placer.place()
        self._dirty.clear()
        self._refresh_seconds += time.thread_time() - start

    @property
    def work_seconds(self) -> float:
        """CPU seconds this chart's GUI thread work has taken so far: refreshes and paints."""
        return self._refresh_seconds + self.plot_widget.paint_seconds

    def showEvent(self, event) -> None:  # Qt's name
        super().showEvent(event)
        self.refresh()  # what arrived while the chart was out of sight

    # ----------------------------------------------------------------- ranges
    def follow(self, *_) -> None:
        """Let the ranges follow the data again (after a manual zoom) and fit them now."""
        self.view_box.disableAutoRange()  # the "A" button turned pyqtgraph's own on: ours does it
        self.following = True
        self._fit(force=True)
        self.legend_placer.reset()

    def _stop_following(self, *_):
        self.following = False

    def _fit(self, force: bool = False) -> None:
        """Move the ranges in steps so most redraws keep them (and the cached axes) unchanged (see
        :func:`~studio.widgets.chart_ranges.stepped_ranges`); ``force``: fit them to the data now."""
        if not self.following:
            return
        log_y = self.plot_item.ctrl.logYCheck.isChecked()
        bounds = data_bounds(self._buffers, self._hidden_runs, log_y)
        if bounds is None:
            return
        x_range, y_range = stepped_ranges(bounds, self.view_box.viewRange(), self.min_x_span, log_y, force)
        if x_range is not None:
            self.view_box.setXRange(*x_range, padding=0.02)
        if y_range is not None:
            self.view_box.setYRange(*y_range, padding=0)

    def set_log_y(self, on: bool) -> None:
        """Logarithmic y axis (losses spanning decades)."""
        self.plot_item.setLogMode(y=on)
        self._dirty.update(self._buffers)
        self.refresh()
        self._fit(force=True)  # the y range is in log10 units now (or back in plain ones)
        if self.log_box is not None and self.log_box.isChecked() != on:
            self.log_box.setChecked(on)
        self.sigLogScaleChanged.emit(on)

    # ----------------------------------------------------------------- smoothing, readout, export
    def set_smoothing(self, weight: float) -> None:
        """Exponential moving average with ``weight`` in [0, 0.99] (0: off); raw curves go faint."""
        self.smoothing = min(max(float(weight), 0.0), 0.99)
        for key, (_ema, curve) in list(self._smoothed.items()):
            self.plot_item.removeItem(curve)
            del self._smoothed[key]
        for key, curve in self._curves.items():
            if self.smoothing > 0:
                self._smooth(key)
            else:
                curve.setPen(_with_alpha(curve.opts["pen"], 255))
        self._dirty.update(self._buffers)
        self.refresh()

    def _smooth(self, key) -> None:
        """Give series ``key`` a smoothed curve (bold) over its raw one (faint)."""
        raw = self._curves[key]
        ema = EmaBuffer(self.smoothing)
        ema.extend(self._buffers[key].x, self._buffers[key].y)
        curve = self.plot_item.plot(pen=_with_alpha(raw.opts["pen"], 255))  # the raw curve is in the legend
        curve.setVisible(raw.isVisible())
        raw.setPen(_with_alpha(raw.opts["pen"], 70))
        self._smoothed[key] = (ema, curve)

    def readout_at(self, x: float) -> str:
        """The value of each shown series of the current run at the point nearest ``x``."""
        parts = []
        for (run, name), buf in sorted(self._buffers.items(), key=lambda kv: kv[0][1]):
            if run != self._current_run or buf.size == 0 or not self._curves[(run, name)].isVisible():
                continue
            i = int(np.clip(np.searchsorted(buf.x, x), 0, buf.size - 1))
            if i > 0 and abs(buf.x[i - 1] - x) < abs(buf.x[i] - x):
                i -= 1
            parts.append(f"{name} {buf.y[i]:.4g}")
            at = buf.x[i]
        if not parts:
            return ""
        label = self.plot_item.getAxis("bottom").labelText or "x"
        return f"{label} {at:g}: " + ", ".join(parts)

    def _hover(self, pos) -> None:
        if not self._buffers or not self.plot_item.sceneBoundingRect().contains(pos):
            return
        self.tools.readout.setText(self.readout_at(self.view_box.mapSceneToView(pos).x()))

    def export_png(self, path) -> None:
        """Save the chart as it is shown (title, axes, legend, curves) as a PNG picture."""
        if not self.plot_widget.grab().save(str(path), "PNG"):
            raise OSError(f"could not write {path}")

    def export_csv(self, path) -> None:
        """Save every point of every series (all runs) as ``run,series,x,y`` rows."""
        write_csv(
            path,
            ((run, name, x, y) for (run, name), buf in self._buffers.items() for x, y in zip(buf.x, buf.y)),
        )

    def series(self, name: str, run=None) -> tuple[np.ndarray, np.ndarray]:
        """The points of one series (copies), e.g. for tests and export."""
        buf = self._buffers.get((run if run is not None else self._current_run, name))
        if buf is None:
            return np.empty(0), np.empty(0)
        return buf.x.copy(), buf.y.copy()

    def point_count(self, name: str | None = None) -> int:
        """How many points the chart holds (of one series, or of all)."""
        return sum(b.size for (r, n), b in self._buffers.items() if name is None or n == name)

    def series_names(self) -> list[str]:
        return sorted({n for _, n in self._buffers})


def _with_alpha(pen, alpha: int):
    """A copy of ``pen`` with its colour's opacity set to ``alpha`` (0-255)."""
    pen = pg.mkPen(pen)
    color = pen.color()
    color.setAlpha(alpha)
    pen.setColor(color)
    return pen
