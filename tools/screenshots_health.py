"""Screenshots of "see inside the network" for the README (issue 16).

    python tools/screenshots_health.py [--out docs/screenshots]

Under Xvfb like ``tools/screenshots.py`` (whose helpers it uses). Saved:

- ``health_overlay.png``: a digits MLP whose ``fc2`` has a bias of -50 (every ReLU unit dead), mid-run:
  the builder's nodes coloured by their worst health finding with gradient-norm sparklines, and the
  history dialog of ``fc2`` with what to try;
- ``samples_browser.png``: after a short digits run, the validation samples behind the most confused
  cell of the confusion matrix, with a relabel and an exclusion in the project's edit list.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import screenshots as base  # noqa: E402 - tools/screenshots.py: Xvfb re-exec and the wait helper


def _digits_project(broken: bool, epochs: int):
    from engine.templates import digits_project, mlp

    project = digits_project()
    project.network = mlp(inputs=64, hidden=(64, 32), classes=10)
    for node in project.network["nodes"]:
        if node["name"] == "fc1":
            node["name"] = "dense1"
        elif node["name"] == "fc2":
            node["name"] = "dense2"
            if broken:
                node["init"] = {"bias": {"type": "constant", "value": -50.0}}
        node["inputs"] = [{"fc1": "dense1", "fc2": "dense2"}.get(i, i) for i in node.get("inputs", [])]
    project.name = "Digits, dense2 broken on purpose" if broken else "Digits classifier"
    project.training.update({"epochs": epochs})
    return project


def _save(image, path: Path) -> None:
    if not image.save(str(path)):
        raise OSError(f"could not write {path}")
    print(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def _overlay(app, window, out: Path) -> None:
    from PySide6 import QtCore, QtGui

    from engine.hooks import LayerHealth, TimeStep

    window.set_project(_digits_project(broken=True, epochs=200))
    window._docks["network_builder"].raise_()
    bridge, model, panel = window.bridge, window.health, window.network_panel
    assert bridge.start(window.project)
    base._wait(app, lambda: bridge.trainer is not None, 60, "the run to start")
    hook = next(h for h in bridge.trainer.hooks if isinstance(h, LayerHealth))
    hook.timestep = TimeStep(10)
    base._wait(app, lambda: len(model.reports) >= 12, 300, "twelve health reports")
    panel.view.fit()
    panel.scene.select("dense2")
    dialog = window.health_overlay.dialog
    dialog.resize(520, 470)
    base._wait(app, lambda: dialog.isVisible(), 10, "the history dialog")
    shot = window.grab().toImage()
    painter = QtGui.QPainter(shot)
    side = dialog.grab().toImage()
    painter.drawImage(
        QtCore.QPoint(shot.width() - side.width() - 30, shot.height() - side.height() - 60), side
    )
    painter.setPen(QtGui.QPen(QtGui.QColor("#37474f"), 2))
    painter.drawRect(
        shot.width() - side.width() - 30, shot.height() - side.height() - 60, side.width(), side.height()
    )
    painter.end()
    _save(shot, out / "health_overlay.png")
    bridge.stop()
    base._wait(app, lambda: not bridge.busy, 60, "the run to stop")
    dialog.close()


def _browser(app, window, out: Path) -> None:
    import numpy as np

    window.set_project(_digits_project(broken=False, epochs=3))
    bridge, monitor = window.bridge, window.monitor
    assert bridge.start(window.project)
    base._wait(app, lambda: not bridge.busy, 300, "a three-epoch digits run")
    matrix = np.asarray(monitor.confusion.matrix)
    off = matrix - np.diag(np.diag(matrix))
    true, predicted = np.unravel_index(int(off.argmax()), off.shape)
    browser = monitor.open_cell(int(true), int(predicted))
    browser.resize(900, 640)
    browser.apply_edit([int(browser.rows[0])], "relabel", str(predicted))
    if len(browser.rows) > 1:
        browser.apply_edit([int(browser.rows[1])], "exclude")
    browser.table.selectRow(0)
    base._wait(app, lambda: browser.isVisible(), 10, "the samples browser")
    _save(browser.grab().toImage(), out / "samples_browser.png")
    browser.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        if os.environ.get("SIGMA_SCREENSHOTS_UNDER_XVFB"):
            print("xvfb-run gave no display", file=sys.stderr)
            return 2
        return base._reexec_under_xvfb()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="sigma-screenshots-")
    os.environ["SIGMA_STUDIO_HOME"] = scratch
    from PySide6 import QtCore

    from studio.app import create_application
    from studio.main_window import MainWindow

    QtCore.QSettings.setPath(
        QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope, str(Path(scratch) / "settings")
    )
    QtCore.QSettings.setDefaultFormat(QtCore.QSettings.Format.IniFormat)
    app = create_application()
    app.setQuitOnLastWindowClosed(False)
    window = MainWindow(restore_layout=False)
    window.resize(*base.SIZE)
    window.show()
    base._wait(app, lambda: window.isVisible(), 10, "the window")
    try:
        _overlay(app, window, out)
        _browser(app, window, out)
    finally:
        window.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
