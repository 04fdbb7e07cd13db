"""A screenshot of the studio watching an MPI run, for the README's cluster recipe.

    python tools/screenshots_watch.py [--out docs/screenshots]

Starts ``mpirun -n 2 sigma train digits.sigma --operator mpi`` in a scratch folder (the digits
classifier with a small batch, so it runs long enough), opens the studio at 1600x1000 with no project,
watches the run folder (File > Watch run folder… does the same), waits for a few epochs, and saves:

- ``watch_mpi.png``: the window watching the MPI run: title and status bar name the folder and its
  live state, the monitor shows its loss, samples and confusion matrix as for a local run, the training
  panel holds the run's settings (its learning rate box steers the run).

Then it stops the run from the studio (through the run folder's control file) and waits for mpirun to
end. Without a display it re-runs itself under Xvfb, as ``tools/screenshots.py`` does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from screenshots import _reexec_under_xvfb, _wait  # noqa: E402

WINDOW = (1600, 1000)


def _mpi_run(folder: Path) -> tuple[subprocess.Popen, Path]:
    from engine import templates
    from engine.testing.mpi import local_mpi_environment

    project = templates.digits_project()
    project.name = "digits"
    project.training.update({"epochs": 200, "batch_size": 16})
    path = project.save(folder / "digits.sigma")
    mpirun = shutil.which("mpirun") or shutil.which("mpiexec")
    if mpirun is None:
        raise SystemExit("mpirun is not installed (Debian: openmpi-bin libopenmpi-dev)")
    env = local_mpi_environment(dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    command = [mpirun, "-n", "2", "--oversubscribe", sys.executable, "-m", "engine.cli", "train", str(path)]
    command += ["--operator", "mpi", "--quiet"]
    child = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL)
    return child, path.with_name(path.name + ".runs") / "run-0001"


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
    scratch = Path(tempfile.mkdtemp(prefix="sigma-screenshots-watch-"))
    os.environ["SIGMA_STUDIO_HOME"] = str(scratch / "home")
    from PySide6 import QtCore

    from studio.app import create_application
    from studio.main_window import MainWindow

    QtCore.QSettings.setPath(
        QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope, str(scratch / "settings")
    )
    QtCore.QSettings.setDefaultFormat(QtCore.QSettings.Format.IniFormat)
    child, folder = _mpi_run(scratch)
    app = create_application()
    app.setQuitOnLastWindowClosed(False)
    window = MainWindow(restore_layout=False)
    window.remember_layout = False
    window.resize(*WINDOW)
    window.show()
    epochs = []
    window.bridge.sigEpochMetrics.connect(lambda events: epochs.extend(e.epoch for e in events))
    try:
        _wait(app, lambda: (folder / "run.json").is_file(), 60, "the run folder")
        window.watch_actions.watch(folder)
        _wait(app, lambda: len(epochs) >= 6 and window.bridge.state == "running", 120, "six epochs")
        _wait(app, lambda: window.monitor.confusion.matrix is not None, 30, "the confusion matrix")
        for _ in range(30):  # a few redraws at the monitor's pace
            app.processEvents()
            QtCore.QThread.msleep(20)
        window.monitor.refresh()
        path = out / "watch_mpi.png"
        window.grab().save(str(path))
        print(f"saved {path}: {window.windowTitle()}")
        window.bridge.stop()  # through the control file: the run writes its last checkpoint and ends
        _wait(app, lambda: not window.bridge.busy, 60, "the run to stop")
        print(f"the run ended: {window.bridge.state}; mpirun exit code {child.wait(60)}")
    finally:
        if child.poll() is None:
            child.kill()
        window.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
