"""The health overlay on the builder: while a run is live, each node (graph view) and row (stack view)
shows its layer's worst health finding in colour (ok / warning / problem), with a sparkline of the
gradient norm and the figures on hover; clicking a node opens its history and what to try.

The overlay leaves when the run ends; "Show last run's health" brings it back for the last run. Layers
are matched by name, so a layer added after the run started simply shows nothing.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from engine.hooks.health_rules import FIGURES

__all__ = ["HealthOverlay"]

_SPARK_POINTS = 30


def _tip(figures: dict, findings: list) -> str:
    lines = [f"{FIGURES.get(k, k)}: {v:.3g}" for k, v in figures.items() if k != "nonfinite"]
    lines += [f"{f.severity}: {f.message}" for f in findings]
    return "health:\n" + "\n".join(lines) + "\n(click for the history and what to try)"


class HealthOverlay(QtCore.QObject):
    """Draws a :class:`studio.health_model.LayerHealthModel` over a network builder panel.

    Parameters
    ----------
    panel : studio.panels.network_builder.NetworkBuilderPanel
    model : studio.health_model.LayerHealthModel

    Attributes
    ----------
    shown : bool
        Whether the overlay is on the canvas now.
    dialog : HealthDialog or None
        The history dialog, once a node was clicked.
    """

    def __init__(self, panel, model, parent: QtCore.QObject | None = None):
        super().__init__(parent or panel)
        self.panel, self.model = panel, model
        self.shown = False
        self.recalled = False  # the user asked to see the last run's health after it ended
        self.dialog = None
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        self.recall = QtWidgets.QPushButton("Show last run's health")
        self.recall.setCheckable(True)
        self.recall.setToolTip("Colour the layers by the health measured during the last run")
        self.recall.setEnabled(False)
        self.recall.toggled.connect(self._recall_toggled)
        self.bar = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(self.bar)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.status, 1)
        row.addWidget(self.recall)
        page = panel.view.parentWidget()
        if page is not None and page.layout() is not None:
            page.layout().addWidget(self.bar)
        model.sigChanged.connect(self.refresh)
        panel.scene.sigNodeSelected.connect(self._node_selected)
        panel.scene.sigSpecChanged.connect(lambda _spec: self.refresh())
        self.refresh()

    # ------------------------------------------------------------------ drawing
    def refresh(self) -> None:
        model = self.model
        if model.active:
            self.recalled = False
        want = model.has_data and (model.active or self.recalled)
        self.recall.setEnabled(model.has_data and not model.active)
        self.recall.blockSignals(True)
        self.recall.setChecked(self.recalled and not model.active)
        self.recall.blockSignals(False)
        if want:
            self._show()
        elif self.shown:
            self._hide()
        if model.active and not model.has_data:
            self.status.setText("Layer health appears after the first measurement of this run.")
        elif not want:
            self.status.setText("")

    def _health_of(self, name: str) -> dict | None:
        severity = self.model.severity(name)
        if severity is None:
            return None
        _xs, grads = self.model.series(name, "grad_norm")
        return {
            "severity": severity,
            "sparkline": [float(v) for v in grads[-_SPARK_POINTS:]],
            "tip": _tip(self.model.figures(name), self.model.findings(name)),
        }

    def _show(self) -> None:
        self.shown = True
        nodes = self.panel.scene.nodes()
        rows = {}
        for node in nodes:
            health = self._health_of(node.name)
            node.set_health(health)
            if health is not None:
                found = self.model.findings(node.name)
                rows[node.name] = (health["severity"], found[0].message if found else "ok", health["tip"])
        self.panel.stack.show_health(rows, nodes)
        latest = self.model.latest
        problems = sum(1 for f in latest.findings if f.severity == "problem")
        warnings = sum(1 for f in latest.findings if f.severity == "warning")
        when = "live" if self.model.active else "last run"
        self.status.setText(
            f"Layer health ({when}, iteration {latest.iteration}): {problems} problem(s), "
            f"{warnings} warning(s). "
            "Click a layer for its history and what to try."
        )

    def _hide(self) -> None:
        self.shown = False
        nodes = self.panel.scene.nodes()
        for node in nodes:
            node.set_health(None)
        self.panel.stack.show_health(None, nodes)

    def _recall_toggled(self, on: bool) -> None:
        self.recalled = bool(on)
        self.refresh()

    # ------------------------------------------------------------------ history
    def _node_selected(self, node) -> None:
        if node is not None and self.shown and self.model.severity(node.name) is not None:
            self.open_history(node.name)

    def open_history(self, layer: str):
        """Open (or reuse) the history dialog on ``layer``; returns it."""
        from studio.widgets.health_dialog import HealthDialog  # pyqtgraph on first use

        if self.dialog is None:
            self.dialog = HealthDialog(self.model, self.panel)
        self.dialog.show_layer(layer)
        self.dialog.show()
        return self.dialog
