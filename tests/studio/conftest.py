"""Fixtures for the studio's tests: offscreen Qt, isolated settings, and a leak check on every test.

The leak check (after napari's conftest, written afresh): a test fails if it leaves behind Python
threads that were not there before it, work running on a QThreadPool, an active QTimer, or a visible
top-level widget. Threads that the Qt pool parks are not Python threads; Python only keeps a stale
``_DummyThread`` record for them (never removed before 3.13), so those records are ignored and the
pool itself is checked instead.
"""

from __future__ import annotations

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import threading
import weakref

import pytest
import shiboken6
from PySide6 import QtCore, QtWidgets

_live_timers: weakref.WeakSet = weakref.WeakSet()
_pending_single_shots = [0]
_OriginalTimer = QtCore.QTimer


class _TrackedTimer(_OriginalTimer):
    """QTimer that remembers itself when started, so a test can be failed for leaving it running."""

    def start(self, *args):
        _live_timers.add(self)
        super().start(*args)

    @staticmethod
    def singleShot(msec, *args):
        # Count pending single shots by wrapping the callback (only the callable form is used by us).
        callback = args[-1]
        if callable(callback) and not isinstance(callback, QtCore.SignalInstance):
            _pending_single_shots[0] += 1

            def fire(cb=callback):
                _pending_single_shots[0] -= 1
                cb()

            args = (*args[:-1], fire)
        _OriginalTimer.singleShot(msec, *args)


QtCore.QTimer = _TrackedTimer  # our code and pyqtgraph look QTimer up on QtCore at call time


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    """QSettings in a fresh folder per test, so window layouts never leak between tests or into $HOME."""
    QtCore.QSettings.setDefaultFormat(QtCore.QSettings.Format.IniFormat)
    # QSettings("Sigma", "Sigma Studio") uses the native format whatever the default: redirect both.
    for fmt in (QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Format.NativeFormat):
        QtCore.QSettings.setPath(fmt, QtCore.QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("SIGMA_STUDIO_HOME", str(tmp_path / "home"))


def _extra_threads(baseline):
    return [
        t
        for t in threading.enumerate()
        if t not in baseline and t.is_alive() and not isinstance(t, threading._DummyThread)
    ]


def _busy_pools():
    from studio.bridge import Bridge

    pools = [QtCore.QThreadPool.globalInstance(), *Bridge.live_pools()]
    return [p for p in pools if shiboken6.isValid(p) and p.activeThreadCount() > 0]  # skips deleted pools


@pytest.fixture(autouse=True)
def _close_without_asking(monkeypatch):
    """Windows close without the unsaved-changes question (whose own tests turn it back on): qtbot
    closes every window after a test, and most tests edit their project. Unsaved work is then kept in
    the autosave, as for any close nobody was asked about."""
    from studio.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "confirm_close", False)


@pytest.fixture(autouse=True)
def _no_leaks(qapp):
    """Fail the test if it leaves threads, pool work, running timers or visible windows behind."""
    baseline = set(threading.enumerate())
    widgets_before = _top_level_addresses()
    yield
    # qtbot (set up after this autouse fixture) has already closed the widgets registered with it.
    # Give finishing work a bounded moment, processing events so queued signals can land.
    deadline = QtCore.QDeadlineTimer(3000)
    while (_extra_threads(baseline) or _busy_pools()) and not deadline.hasExpired():
        QtWidgets.QApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
        QtCore.QThread.msleep(10)
    QtWidgets.QApplication.processEvents()
    problems = []
    threads = _extra_threads(baseline)
    if threads:
        problems.append(f"threads left running: {[t.name for t in threads]}")
    if _busy_pools():
        problems.append("QThreadPool work left running")
    timers = [t for t in list(_live_timers) if _safe_active(t)]
    if timers:
        problems.append(f"{len(timers)} QTimer(s) left running: {[_timer_owner(t) for t in timers]}")
        for t in timers:
            t.stop()
    if _pending_single_shots[0] > 0:
        problems.append(f"{_pending_single_shots[0]} single-shot timer(s) pending")
        _pending_single_shots[0] = 0
    gc.collect()  # see _top_level_addresses
    windows = [
        type(w).__name__
        for w in QtWidgets.QApplication.topLevelWidgets()
        if shiboken6.getCppPointer(w)[0] not in widgets_before and w.isVisible()
    ]
    if windows:
        problems.append(f"top-level widgets left open: {windows}")
    if problems:
        pytest.fail("; ".join(problems))


def _top_level_addresses() -> set[int]:
    """The top-level widgets as C++ addresses, not Python wrappers: Qt creates and deletes some of them
    on its own (tooltips, combo-box popups), and a wrapper kept across a test would outlive its widget;
    a later widget at the same address would then be handed that stale wrapper (a segfault)."""
    gc.collect()  # a widget freed by the cycle collector mid-listing would be a dangling pointer
    return {shiboken6.getCppPointer(w)[0] for w in QtWidgets.QApplication.topLevelWidgets()}


def _safe_active(timer) -> bool:
    try:
        return timer.isActive()
    except RuntimeError:  # the C++ object is gone: not running
        return False


def _timer_owner(timer) -> str:
    try:
        parent = timer.parent()
    except RuntimeError:
        return "deleted"
    return f"{type(parent).__name__ if parent is not None else 'no parent'}:{timer.objectName() or '?'}"


# ---------------------------------------------------------------------------------------------- panels
class PanelHost(QtWidgets.QMainWindow):
    """The part of the main window's contract a panel uses on its own: ``project`` and
    ``sigProjectChanged(project)`` (the real window is tested in test_main_window.py)."""

    sigProjectChanged = QtCore.Signal(object)

    def __init__(self):
        super().__init__()
        from engine.project import Project

        self.project = Project(name="test")

    def set_project(self, project):
        self.project = project
        self.sigProjectChanged.emit(project)


@pytest.fixture
def panel_host(qtbot):
    """A :class:`PanelHost` on a fresh project (closed after the test); put the panel in it with
    ``setCentralWidget``."""
    host = PanelHost()
    qtbot.addWidget(host)
    return host


# ---------------------------------------------------------------------------------------------- runs
@pytest.fixture
def build_run():
    """The engine's run builder: what the studio uses outside tests too."""
    from engine.run import build_run as real

    return real


@pytest.fixture
def cat_project():
    """The "Paint the cat" project, set to train long enough that tests stop it themselves."""
    from engine.templates import cat_painter
    from engine.templates import cat_project as make

    project = make()
    # The real project with a narrower painter: iterations of tens of milliseconds on a loaded 2-core
    # machine, so the GUI sees many iterations (and a painting per epoch) within a short test.
    project.network = cat_painter(hidden=(64, 64))
    project.training["epochs"] = max(int(project.training.get("epochs", 1)), 50)
    project.training["optimiser"] = {"type": "adam", "learning_rate": 0.01}
    return project


@pytest.fixture
def window(qtbot, cat_project, build_run):
    """A shown main window on the cat project; closed (training stopped) after the test."""
    from studio.main_window import MainWindow

    w = MainWindow(project=cat_project, build_run=build_run, restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    return w
