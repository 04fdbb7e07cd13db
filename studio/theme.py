"""Look and feel: Qt style and palette, pyqtgraph defaults, the colours of chart series, icons.

One place for colours so a metric has the same colour in every chart and every run.
"""

from __future__ import annotations

import itertools

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from studio import RESOURCES

__all__ = ["apply", "series_color", "icon", "is_dark", "ERROR_COLOR", "OK_COLOR", "STYLE_SHEET", "THEMES"]

#: The theme choices of View > Theme: follow the system's light or dark setting, or force one.
THEMES = ("system", "light", "dark")

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


def _read_style_sheet(name: str = "light") -> str:
    path = RESOURCES / "themes" / f"{name}.qss"
    return path.read_text(encoding="utf-8") if path.exists() else ""


STYLE_SHEET = _read_style_sheet()
_CHART_COLOURS = {False: ("w", "#333333"), True: ("#1e1e1e", "#dddddd")}  # background, text and axes

# White plots with dark text, set at import so every chart looks the same even before apply().
pg.setConfigOptions(background="w", foreground="#333333", antialias=False, imageAxisOrder="row-major")


def is_dark(app: QtWidgets.QApplication, choice: str = "system") -> bool:
    """Whether ``choice`` ("system", "light" or "dark") means dark here (system: the OS setting)."""
    if choice in ("light", "dark"):
        return choice == "dark"
    return app.styleHints().colorScheme() == QtCore.Qt.ColorScheme.Dark


def _dark_palette() -> QtGui.QPalette:
    p = QtGui.QPalette()
    role, group = QtGui.QPalette.ColorRole, QtGui.QPalette.ColorGroup
    colours = {
        role.Window: "#2b2b2b",
        role.WindowText: "#e8e8e8",
        role.Base: "#1e1e1e",
        role.AlternateBase: "#262626",
        role.ToolTipBase: "#3a3a3a",
        role.ToolTipText: "#f0f0f0",
        role.Text: "#e8e8e8",
        role.Button: "#353535",
        role.ButtonText: "#e8e8e8",
        role.BrightText: "#ff6e6e",
        role.Link: "#56B4E9",
        role.Highlight: "#0072B2",
        role.HighlightedText: "#ffffff",
        role.PlaceholderText: "#9e9e9e",
    }
    for r, c in colours.items():
        p.setColor(r, QtGui.QColor(c))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, QtGui.QColor("#7a7a7a"))
    return p


def apply(app: QtWidgets.QApplication, choice: str = "system") -> bool:
    """Fusion style (looks the same on every platform), the palette and style sheet of the light or
    dark theme (``choice``: "system" follows the OS), and the charts' colours; returns whether dark.
    Charts already shown are recoloured too."""
    dark = is_dark(app, choice)
    app.setStyle("Fusion")
    app.setPalette(_dark_palette() if dark else app.style().standardPalette())
    app.setStyleSheet(_read_style_sheet("dark" if dark else "light"))
    app.setWindowIcon(icon("sigma"))
    background, foreground = _CHART_COLOURS[dark]
    pg.setConfigOptions(background=background, foreground=foreground)
    for widget in app.allWidgets():
        if isinstance(widget, pg.PlotWidget):
            _recolour(widget, background, foreground)
    return dark


def _recolour(plot: pg.PlotWidget, background: str, foreground: str) -> None:
    plot.setBackground(background)
    item = plot.getPlotItem()
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setPen(foreground)
        axis.setTextPen(foreground)
    title = item.titleLabel
    if title.text:
        title.setText(title.text, color=foreground)


def icon(name: str) -> QtGui.QIcon:
    """An icon from ``resources/icons/<name>.svg``, or a null icon if it is missing."""
    path = RESOURCES / "icons" / f"{name}.svg"
    return QtGui.QIcon(str(path)) if path.exists() else QtGui.QIcon()
