"""One layer's health over a run: every figure as a curve over iterations, and what its findings mean
with what to try (the explanations of :data:`engine.hooks.health_rules.ADVICE`)."""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6 import QtWidgets

from engine.hooks.health_rules import ADVICE, FIGURES

__all__ = ["HealthDialog"]

_LOG_FIGURES = {"grad_norm", "update_ratio", "weight_norm"}  # span decades: drawn on a log axis


class HealthDialog(QtWidgets.QDialog):
    """History and advice for one layer of a :class:`studio.health_model.LayerHealthModel`."""

    def __init__(self, model, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.layer: str | None = None
        self.resize(560, 520)
        self.figure_choice = QtWidgets.QComboBox()
        self.figure_choice.currentIndexChanged.connect(lambda _i: self._plot())
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "iteration")
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#1e88e5", width=2), symbol="o", symbolSize=4)
        self.advice = QtWidgets.QTextBrowser()
        self.advice.setMaximumHeight(190)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Figure:"))
        row.addWidget(self.figure_choice, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.advice)
        model.sigChanged.connect(self.refresh)

    def show_layer(self, layer: str) -> None:
        """Show ``layer``'s history (the first figure with a finding, else the gradient norm)."""
        self.layer = layer
        self.setWindowTitle(
            f"Health of {layer}" + (f" ({self.model.run_label})" if self.model.run_label else "")
        )
        names = self.model.figure_names(layer)
        self.figure_choice.blockSignals(True)
        self.figure_choice.clear()
        for name in names:
            self.figure_choice.addItem(FIGURES.get(name, name), name)
        wanted = {"dead_units": "dead_fraction", "saturation": "saturation", "tiny_update": "update_ratio"}
        wanted.update({"large_update": "update_ratio", "nonfinite": "nonfinite"})
        found = self.model.findings(layer)
        first = wanted.get(found[0].kind, "grad_norm") if found else "grad_norm"
        index = self.figure_choice.findData(first)
        self.figure_choice.setCurrentIndex(max(index, 0))
        self.figure_choice.blockSignals(False)
        self.refresh()

    @property
    def figure(self) -> str | None:
        return self.figure_choice.currentData()

    def refresh(self) -> None:
        if self.layer is None:
            return
        self._plot()
        self.advice.setHtml(self._advice_html())

    def _plot(self) -> None:
        figure = self.figure
        if figure is None:
            self.curve.setData([], [])
            return
        xs, ys = self.model.series(self.layer, figure)
        log = figure in _LOG_FIGURES and len(ys) and (ys > 0).all()
        self.plot.setLogMode(y=bool(log))
        self.plot.setLabel("left", FIGURES.get(figure, figure))
        self.curve.setData(xs.copy(), ys.copy())

    def _advice_html(self) -> str:
        found = self.model.findings(self.layer)
        figures = self.model.figures(self.layer)
        parts = []
        if not found:
            parts.append("<p><b>No finding</b> at the latest measurement.</p>")
        for f in found:
            meaning, remedy = ADVICE.get(f.kind, ("", ""))
            parts.append(
                f"<p><b>{html.escape(f.severity)}: {html.escape(f.message)}</b><br>{html.escape(meaning)}"
                f"<br><i>What to try:</i> {html.escape(remedy)}</p>"
            )
        if figures:
            rows = "".join(
                f"<tr><td>{html.escape(FIGURES.get(k, k))}</td><td>{v:.4g}</td></tr>"
                for k, v in figures.items()
            )
            parts.append(f"<table>{rows}</table>")
        return "".join(parts)
