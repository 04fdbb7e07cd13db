"""``sigma-studio``: start the desktop studio.

``sigma-studio [PROJECT]`` opens a project file (or, with none, the "Paint the cat" example).
``sigma-studio --watch FOLDER`` shows a run that trains elsewhere (``sigma train``, another machine, an
MPI job) from its run folder, live, with the run controls acting through the folder's control file.
``sigma-studio --smoke`` opens the main window offscreen, trains the cat project for a few iterations,
writes what happened to a log file (``--log``, else ``smoke.log`` in the user's log folder,
:func:`studio.locations.log_dir`) and exits 0 (1 if training did not work): a check that the installed
studio runs end to end, for CI and for the installer's test. It writes nothing in the current folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from engine import allocator

__all__ = ["main", "open_window", "create_application", "set_windows_identity", "APP_USER_MODEL_ID"]

# Windows groups taskbar buttons, pins and jump lists by this ID ("Company.Product", no spaces, at most
# 128 characters). Without it the studio shares python.exe's button and icon when run from a venv.
APP_USER_MODEL_ID = "Sigma.SigmaStudio"


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="sigma-studio", description="Sigma Studio: train networks, watch them learn."
    )
    parser.add_argument("project", nargs="?", help="a project file (.json) to open")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="open offscreen, train the cat project a few iterations, write a log, exit",
    )
    parser.add_argument("--iterations", type=int, default=20, help="iterations for --smoke (default 20)")
    parser.add_argument(
        "--log", default=None, help="log file for --smoke (default: smoke.log in the user's log folder)"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds --smoke may take")
    parser.add_argument(
        "--watch",
        metavar="FOLDER",
        default=None,
        help="watch the run that trains into this run folder (one holding run.json), live",
    )
    return parser.parse_args(argv)


def set_windows_identity() -> bool:
    """On Windows, give this process our taskbar identity (:data:`APP_USER_MODEL_ID`).

    Must run before the first window is shown. Returns whether it was set (False on other systems, or
    when the call is not available).
    """
    if sys.platform != "win32":
        return False
    import ctypes

    try:
        result = ctypes.windll.shell32.SetCurrentProcessExplicitAppUserModelID(APP_USER_MODEL_ID)
    except (AttributeError, OSError):  # Windows before 7, or a shell32 without the call
        return False
    return result == 0  # S_OK


def create_application(argv=None):
    """The QApplication with our names (QSettings location), style and icon.

    Before the first QApplication: the Windows taskbar identity, and the high-DPI rounding policy.
    Fractional scale factors pass through (PassThrough: 150 % stays 1.5, not rounded to 2): our
    layouts and charts are vector drawn and scale smoothly, and rounding up makes the window too
    large for a 1080p laptop screen at 150 %. ``QT_SCALE_FACTOR_ROUNDING_POLICY`` overrides it.
    """
    from PySide6 import QtCore, QtGui, QtWidgets

    from studio import theme

    if QtWidgets.QApplication.instance() is None:
        set_windows_identity()
        if "QT_SCALE_FACTOR_ROUNDING_POLICY" not in os.environ:
            QtGui.QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
                QtCore.Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
            )
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(list(argv or sys.argv[:1]))
    app.setOrganizationName("Sigma")
    app.setApplicationName("Sigma Studio")
    theme.apply(app, str(QtCore.QSettings("Sigma", "Sigma Studio").value("view/theme", "system")))
    return app


def _smoke(args) -> int:
    """Train a few iterations of the cat project in a real (offscreen) main window."""
    from PySide6 import QtCore

    from studio import locations
    from studio.main_window import MainWindow, default_project

    app = create_application()
    # The smoke run decides itself when to stop; closing its window must not also quit an application
    # that outlives it (a test's QApplication: a stray quit() makes later processEvents() return at once).
    quit_on_close = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)
    project = default_project()
    project.training["epochs"] = max(1, int(project.training.get("epochs", 1)))
    window = MainWindow(project=project, restore_layout=False)
    window.remember_layout = False  # an offscreen check must not replace the user's window layout
    window.show()
    report = {
        "project": project.name,
        "iterations_wanted": args.iterations,
        "losses": [],
        "errors": [],
        "frames": 0,
        "state": "idle",
    }
    started = time.perf_counter()

    def on_iterations(events):
        report["losses"].extend(float(e.metrics["loss"]) for e in events if "loss" in e.metrics)
        if events[-1].iteration >= args.iterations and window.bridge.state == "running":
            window.bridge.stop()

    window.bridge.sigIterationMetrics.connect(on_iterations)
    window.bridge.sigError.connect(lambda e: report["errors"].append(e.message))
    window.bridge.sigRunFinished.connect(lambda state: (report.update(state=state), app.quit()))
    deadline = QtCore.QTimer(window)
    deadline.setSingleShot(True)
    deadline.timeout.connect(app.quit)
    deadline.start(int(args.timeout * 1000))
    if not window.training.start():
        report["errors"].append("the run did not start: " + window.training.message.text())
    else:
        app.exec()
    deadline.stop()
    report["frames"] = window.monitor.samples.prediction.frames
    report["seconds"] = round(time.perf_counter() - started, 2)
    window.close()
    app.setQuitOnLastWindowClosed(quit_on_close)
    ok = (
        not report["errors"]
        and len(report["losses"]) >= min(args.iterations, 1)
        and report["state"] in ("stopped", "finished")
    )
    report["ok"] = ok
    log = Path(args.log) if args.log else locations.log_dir() / "smoke.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(
        f"sigma-studio --smoke: {'ok' if ok else 'FAILED'}; {len(report['losses'])} iterations, "
        f"state {report['state']}, log in {log}"
    )
    return 0 if ok else 1


def main(argv=None) -> int:
    """Entry point of ``sigma-studio``."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    allocator.tune()  # this process trains: keep each step's temporaries off fresh pages
    if args.smoke:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        return _smoke(args)
    app = create_application()
    window = open_window(args)
    window.show()
    return app.exec()


def open_window(args):
    """The main window for the command line's PROJECT and ``--watch FOLDER`` (not shown yet)."""
    from engine.project import Project, ProjectError
    from studio.main_window import MainWindow

    project, problem = None, ""
    if args.project:
        try:
            project = Project.load(args.project)
        except ProjectError as exc:
            problem = str(exc)
    window = MainWindow(project=project)
    if problem:
        window.banner.show_message(f"Could not open the project: {problem}")
    if args.watch:
        window.watch_actions.watch(os.path.abspath(args.watch))  # not a run folder: the banner says so
    return window


if __name__ == "__main__":
    sys.exit(main())
