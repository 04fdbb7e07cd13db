"""The layer-health record of the current (or last) run, observed by the builder's health overlay.

It keeps the :class:`~engine.events.LayerHealthReport` events of one run (bounded), says which layers
have which findings, and whether the run is still live. Views connect to :attr:`sigChanged`.
"""

from __future__ import annotations

import collections

import numpy as np
from PySide6 import QtCore

from engine.events import LayerHealthReport

__all__ = ["LayerHealthModel"]

_KEEP = 2000  # reports kept per run: at the default interval of 50, 100k iterations


class LayerHealthModel(QtCore.QObject):
    """Layer health of the bridge's run.

    Parameters
    ----------
    bridge : studio.bridge.Bridge, optional
        Its ``sigLayerHealth``, ``sigRunStarted`` and ``sigRunFinished`` feed the model.

    Attributes
    ----------
    active : bool
        A run is live (the overlay shows itself while it is).
    run_label : str
        The run the reports belong to ("Run 3").

    Signals
    -------
    sigChanged()
        New reports, a new run, or the run ended.
    """

    sigChanged = QtCore.Signal()

    def __init__(self, bridge=None, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.reports: collections.deque[LayerHealthReport] = collections.deque(maxlen=_KEEP)
        self.active = False
        self.run_label = ""
        if bridge is not None:
            bridge.sigLayerHealth.connect(self.add_reports)
            bridge.sigRunStarted.connect(self.run_started)
            bridge.sigRunFinished.connect(self.run_finished)

    # ------------------------------------------------------------------ feeding
    def run_started(self, info) -> None:
        self.reports.clear()
        self.active = True
        self.run_label = getattr(info, "label", "") or ""
        self.sigChanged.emit()

    def run_finished(self, _state: str = "") -> None:
        self.active = False
        self.sigChanged.emit()

    def add_reports(self, reports: list) -> None:
        self.reports.extend(r for r in reports if isinstance(r, LayerHealthReport))
        self.sigChanged.emit()

    # ------------------------------------------------------------------ reading
    @property
    def latest(self) -> LayerHealthReport | None:
        return self.reports[-1] if self.reports else None

    @property
    def has_data(self) -> bool:
        return bool(self.reports)

    def severity(self, layer: str) -> str | None:
        """``ok``, ``warning`` or ``problem`` at the latest report; None when the layer was not measured."""
        latest = self.latest
        if latest is None or layer not in latest.layers:
            return None
        return latest.severity_of(layer)

    def findings(self, layer: str) -> list:
        """The latest report's findings about ``layer``, worst first."""
        latest = self.latest
        return [] if latest is None else [f for f in latest.findings if f.layer == layer]

    def figures(self, layer: str) -> dict:
        """The latest figures of ``layer`` (``{}`` when none)."""
        latest = self.latest
        return {} if latest is None else dict(latest.layers.get(layer, {}))

    def series(self, layer: str, figure: str) -> tuple[np.ndarray, np.ndarray]:
        """(iterations, values) of one figure of one layer over the run."""
        points = [
            (r.iteration, r.layers[layer][figure]) for r in self.reports if figure in r.layers.get(layer, {})
        ]
        if not points:
            return np.zeros(0), np.zeros(0)
        xs, ys = zip(*points)
        return np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)

    def figure_names(self, layer: str) -> list[str]:
        """The figures measured for ``layer`` at any time in the run, in a stable order."""
        names: dict[str, None] = {}
        for r in self.reports:
            names.update(dict.fromkeys(r.layers.get(layer, {})))
        return list(names)
