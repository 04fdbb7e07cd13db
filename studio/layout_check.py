"""How the main window shares its room: the loss chart's share of the width and whether anything is
larger than the screen. Used by the layout test and ``tools/screenshots.py``; ``python -m
studio.layout_check WIDTHxHEIGHT`` prints the figures as JSON (run it with ``QT_SCALE_FACTOR`` set to
check a scaled screen: the size is then in physical pixels)."""

from __future__ import annotations

import json
import sys

from PySide6 import QtCore, QtWidgets

__all__ = ["measure", "open_sized"]


def open_sized(width: int, height: int, project=None, build_run=None):
    """A main window on ``project`` (the digits example by default) at ``width`` x ``height`` logical
    pixels, shown and laid out as on a first launch (no remembered layout)."""
    from engine.templates import digits_project
    from studio.main_window import MainWindow

    window = MainWindow(
        project=project if project is not None else digits_project(),
        build_run=build_run,
        restore_layout=False,
    )
    window.resize(width, height)
    window.show()
    app = QtWidgets.QApplication.instance()
    deadline = QtCore.QDeadlineTimer(3000)
    while not window._sized and not deadline.hasExpired():  # the first show sizes the docks
        app.processEvents()
    for _ in range(20):
        app.processEvents()
    return window


def measure(window) -> dict:
    """Widths and heights that matter, in logical pixels."""
    chart = window.monitor.loss_chart
    hint = window.minimumSizeHint()
    too_big = []
    for name in ("monitor", "training"):
        dock = window.panel(name)
        if dock.isVisible() and (dock.width() > window.width() or dock.height() > window.height()):
            too_big.append(name)
    return {
        "window": [window.width(), window.height()],
        "minimum": [hint.width(), hint.height()],
        "loss_chart": [chart.width(), chart.height()],
        "loss_share": chart.width() / max(1, window.width()),
        "title_clipped": chart.plot_item.titleLabel.item.boundingRect().width() > chart.width(),
        "too_big": too_big,
        "stray_tab_bars": stray_tab_bars(window),
        "scrolls_sideways": scrolls_sideways(window),
        "clipped_chart_titles": clipped_chart_titles(window),
    }


def clipped_chart_titles(window) -> list[str]:
    """Titles of shown charts wider than their chart."""
    from studio.widgets.chart import LiveChart

    clipped = []
    for chart in window.findChildren(LiveChart):
        if chart.isVisible() and not chart.visibleRegion().isEmpty():
            label = chart.plot_item.titleLabel
            if label.isVisible() and label.item.boundingRect().width() > chart.width():
                clipped.append(label.text)
    return clipped


def scrolls_sideways(window) -> list[str]:
    """Shown panels wider than their column (they scroll sideways and clip text at the right edge)."""
    wide = []
    for dock in window.findChildren(QtWidgets.QDockWidget):
        if not dock.isVisible() or dock.visibleRegion().isEmpty():
            continue
        for area in dock.findChildren(QtWidgets.QScrollArea):
            bar = area.horizontalScrollBar()
            if area.isVisible() and bar.maximum() > 0 and area.widgetResizable():
                wide.append(dock.objectName())
                break
    return wide


def stray_tab_bars(window) -> list[list[str]]:
    """Tab bars shown over the window that belong to no group of tabbed panels, or repeat one.

    Each group of tabbed panels has exactly one tab bar, naming the group's panels; anything else is a
    leftover drawn over the panels (a Qt 6 quirk, see ``MainWindow._arrange_default_layout``).
    """
    groups = []
    for dock in window.findChildren(QtWidgets.QDockWidget):
        if dock.isVisible() and not dock.isFloating():
            tabbed = window.tabifiedDockWidgets(dock)
            if tabbed:
                groups.append(sorted(d.windowTitle() for d in [dock, *tabbed]))
    seen, stray = [], []
    inside = window.rect()
    for bar in window.findChildren(QtWidgets.QTabBar):
        if bar.parent() is not window or not bar.isVisible() or not bar.geometry().intersects(inside):
            continue
        tabs = [bar.tabText(i) for i in range(bar.count())]
        if sorted(tabs) not in groups or sorted(tabs) in seen:
            stray.append(tabs)
        seen.append(sorted(tabs))
    return stray


def main(argv=None) -> int:
    import os
    import tempfile

    from studio.app import create_application

    argv = sys.argv[1:] if argv is None else argv
    scratch = tempfile.mkdtemp(prefix="sigma-layout-")  # the window's settings and autosave stay here
    os.environ["SIGMA_STUDIO_HOME"] = scratch
    for fmt in (QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Format.NativeFormat):
        QtCore.QSettings.setPath(fmt, QtCore.QSettings.Scope.UserScope, scratch)
    width, height = (int(v) for v in argv[0].lower().split("x"))
    app = create_application()
    ratio = app.primaryScreen().devicePixelRatio()
    window = open_sized(round(width / ratio), round(height / ratio), build_run=lambda p: None)
    result = measure(window)
    result["device_pixel_ratio"] = ratio
    window.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
