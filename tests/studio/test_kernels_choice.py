"""The kernels choice in the studio: the training panel's control writes ``training.kernels`` (the window
marks the project unsaved, the saved file keeps it, a change made elsewhere shows); its tooltip says what
compiled kernels cost and buy and whether numba is installed; a run shows the kernels it uses in the
status line and, where numba cannot be imported, says why in the run's log."""

from __future__ import annotations

import sys

import pytest

import engine
from engine import templates
from engine.kernels import numba_status
from engine.ops import compiled
from engine.project import Project
from studio.main_window import MainWindow
from studio.panels.run_on import RunOnBox


@pytest.fixture
def no_process_choice(monkeypatch):
    """As if neither SIGMA_KERNELS nor set_kernels had chosen (the process's state comes back after)."""
    monkeypatch.setattr(compiled, "_chosen", None)
    monkeypatch.setattr(compiled, "_wanted", False)


@pytest.fixture
def cnn_window(qtbot, build_run, no_process_choice):
    """A shown main window on the digits CNN (2x2 max poolings), set to train until stopped."""
    project = templates.digits_cnn_project()
    project.training["epochs"] = 1000
    w = MainWindow(project=project, build_run=build_run, restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    return w


def test_the_control_writes_the_setting_and_the_saved_file_keeps_it(cnn_window, qtbot, tmp_path):
    w, panel = cnn_window, cnn_window.training
    assert panel.kernels.currentText() == "numpy" and not w.isWindowModified()
    panel.kernels.setCurrentText("compiled")
    assert w.project.training.kernels == "compiled"
    qtbot.waitUntil(w.isWindowModified, timeout=2000)
    assert w.status_backend.text() == "backend: cpu, workers: 1, compiled kernels"
    path = w.project.save(tmp_path / "cnn.sigma")
    assert Project.load(path).training.kernels == "compiled"
    w.project.training.kernels = "numpy"  # changed elsewhere: the control follows
    assert panel.kernels.currentText() == "numpy"
    assert w.status_backend.text() == "backend: cpu, workers: 1"


def test_the_tooltip_says_what_compiled_kernels_cost_and_buy_and_whether_numba_is_here(
    qtbot, no_process_choice
):
    box = RunOnBox()
    qtbot.addWidget(box)
    installed, words = numba_status()
    tip = box.kernels.toolTip()
    for said in ("105 MiB", "compile", "pooling", "same results", words):
        assert said in tip, said
    assert box.kernels_note.isHidden() == installed  # numba missing: said under the control too
    compiled.set_kernels("compiled")  # as SIGMA_KERNELS=compiled in the studio's environment would
    box = RunOnBox()
    qtbot.addWidget(box)
    assert not box.kernels_note.isHidden()
    assert "This process uses compiled kernels (SIGMA_KERNELS is set)" in box.kernels_note.text()


def _running(w, qtbot) -> None:
    assert w.training.start()
    qtbot.waitUntil(lambda: w.bridge.state == "running", timeout=30000)


def _stopped(w, qtbot) -> None:
    w.bridge.stop()
    qtbot.waitUntil(lambda: not w.bridge.busy, timeout=20000)


def test_a_run_shows_its_kernels_and_without_numba_says_why_once_in_the_log(cnn_window, qtbot, monkeypatch):
    pytest.importorskip("numba")
    w = cnn_window
    w.training.kernels.setCurrentText("compiled")
    _running(w, qtbot)
    assert w.status_backend.text() == "backend: cpu, workers: 1, compiled kernels"
    _stopped(w, qtbot)
    assert not any("compiled kernels were asked for" in m for _level, m in w.monitor.log.lines)

    # numba cannot be imported here now (as on a machine without the fast extra).
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.delitem(sys.modules, "engine.ops.compiled_kernels", raising=False)
    monkeypatch.delattr(engine.ops, "compiled_kernels", raising=False)
    monkeypatch.setattr(compiled, "_kernels", None)
    monkeypatch.setattr(compiled, "_reason", None)
    _running(w, qtbot)
    said = lambda: [(level, m) for level, m in w.monitor.log.lines if "compiled kernels were asked for" in m]  # noqa: E731
    qtbot.waitUntil(lambda: bool(said()), timeout=5000)
    assert w.status_backend.text() == "backend: cpu, workers: 1"  # numpy's kernels: what the run uses
    assert "numba cannot be imported" in w.status_backend.toolTip()
    qtbot.wait(300)  # more iterations, and flushes: still one warning
    _stopped(w, qtbot)
    (level, message), *more = said()
    assert not more and level == "warning"
    assert "numba cannot be imported" in message and 'pip install "sigma-studio[fast]"' in message
