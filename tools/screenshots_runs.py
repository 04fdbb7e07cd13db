"""Screenshots of the run table after a sweep, and of its parallel-coordinates view, for the README.

    python tools/screenshots_runs.py [--out docs/screenshots]

Trains a 3x2 sweep of the digits classifier (learning rate x hidden units, 2 trials at once) in a
scratch folder, opens the project in the studio and saves:

- ``runs_table_sweep.png``: the Runs panel with the sweep's six runs (the settings that differ, final
  and best metrics; the best run starred and named), the best and the slowest run's validation
  accuracy overlaid;
- ``runs_parallel.png``: the parallel-coordinates view of learning rate and units against the best
  validation loss.

Without a display it re-runs itself under Xvfb, as ``tools/screenshots.py`` does.
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

from screenshots import SIZE, _reexec_under_xvfb, _wait  # noqa: E402


def _sweep(folder: Path):
    from engine import templates
    from engine.runs import annotate, list_runs, run_table
    from engine.runs.sweep import create_sweep, parse_axis, run_sweep

    project = templates.digits_project()
    project.training["epochs"] = 8
    project.training["checkpoint"]["every_epochs"] = 0
    project.save(folder / "digits.sigma")
    axes = [parse_axis("optimiser.learning_rate=3e-4,1e-3,3e-3"), parse_axis("network.fc1.units=32,128")]
    run_sweep(create_sweep(project, axes), parallel=2)
    table = run_table(list_runs(project.path))
    best = max(range(len(table.rows)), key=lambda i: table.rows[i].get("best val_accuracy") or 0)
    note = "highest validation accuracy"
    annotate(table.records[best].path, label="best of sweep 1", starred=True, note=note)
    return project


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        if os.environ.get("SIGMA_SCREENSHOTS_UNDER_XVFB"):
            print("xvfb-run gave no display", file=sys.stderr)
            return 2
        return _reexec_under_xvfb()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="sigma-screenshots-runs-"))
    os.environ["SIGMA_STUDIO_HOME"] = str(scratch / "home")
    from PySide6 import QtCore

    from engine.project import Project
    from studio.app import create_application
    from studio.main_window import MainWindow

    QtCore.QSettings.setPath(
        QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope, str(scratch / "settings")
    )
    QtCore.QSettings.setDefaultFormat(QtCore.QSettings.Format.IniFormat)
    project = _sweep(scratch)
    app = create_application()
    app.setQuitOnLastWindowClosed(False)
    window = MainWindow(project=Project.load(project.path), restore_layout=False)
    window.resize(*SIZE)
    window.show()
    try:
        _wait(app, lambda: window.isVisible(), 10, "the window")
        runs = window.runs
        window.panel("runs").raise_()
        runs.metric.setCurrentText("epoch/val_accuracy")
        starred = next(r.name for r in runs.model.table.records if r.starred)
        runs.model.set_checked(starred, True)
        runs.model.set_checked("run-0001", True)  # the slowest learner, for contrast
        runs.select(starred)
        _wait(app, lambda: runs.isVisible(), 10, "the runs panel")
        path = out / "runs_table_sweep.png"
        window.grab().save(str(path))
        print(f"saved {path}")
        runs.views.setCurrentIndex(1)
        _wait(app, lambda: runs.parallel.isVisible(), 10, "the parallel view")
        path = out / "runs_parallel.png"
        window.panel("runs").grab().save(str(path))
        print(f"saved {path}")
    finally:
        window.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
