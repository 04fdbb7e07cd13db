"""Look and feel: Qt style and palette, pyqtgraph defaults, the colours of chart series, icons.

One place for colours so a metric has the same colour in every chart and every run.
"""

from __future__ import annotations

import itertools

import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets

from studio import RESOURCES

__all__ = ["apply", "series_color", "icon", "ERROR_COLOR", "OK_COLOR", "STYLE_SHEET"]

ERROR_COLOR = "#c62828"
OK_COLOR = "#2e7d32"
WARNING_COLOR = "#ef6c00"

# Colour-blind-friendly palette (Okabe-Ito), fixed per name so "loss" is always the same colour.
_PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
_FIXED = {
    "loss": 0,
    "val_loss": 1,
    "accuracy": 2,
    "val_accuracy": 3,
    "learning_rate": 4,
    "samples_per_second": 5,
    "cpu": 0,
    "memory": 2,
    "gpu": 1,
    "error": 1,
}
_assigned: dict[str, int] = {}
_next = itertools.count(6)


def series_color(name: str) -> str:
    """The colour of a series by its name; validation series share their training colour's hue family."""
    if name in _FIXED:
        return _PALETTE[_FIXED[name]]
    if name not in _assigned:
        _assigned[name] = next(_next) % len(_PALETTE)
    return _PALETTE[_assigned[name]]


def _read_style_sheet() -> str:
    path = RESOURCES / "themes" / "light.qss"
    return path.read_text(encoding="utf-8") if path.exists() else ""


STYLE_SHEET = _read_style_sheet()

# White plots with dark text, set at import so every chart looks the same even before apply().
pg.setConfigOptions(background="w", foreground="#333333", antialias=False, imageAxisOrder="row-major")


def apply(app: QtWidgets.QApplication) -> None:
    """Fusion style (looks the same on every platform), our style sheet and pyqtgraph defaults."""
    app.setStyle("Fusion")
    app.setStyleSheet(STYLE_SHEET)
    app.setWindowIcon(icon("sigma"))


def icon(name: str) -> QtGui.QIcon:
    """An icon from ``resources/icons/<name>.svg``, or a null icon if it is missing."""
    path = RESOURCES / "icons" / f"{name}.svg"
    return QtGui.QIcon(str(path)) if path.exists() else QtGui.QIcon()
