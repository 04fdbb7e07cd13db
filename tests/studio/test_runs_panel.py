"""The run table in the studio: persisted runs, the same cells as ``sigma runs``, annotate, delete, chart."""

from __future__ import annotations

import contextlib
import io
import time

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from engine import templates
from engine.cli import main as sigma_main
from engine.project import Project
from engine.run import build_run
from engine.runs import SeriesWriter, create_run, list_runs
from engine.runs.recorder import RunRecorder
from studio.bridge import Bridge
from studio.panels.runs import RunsPanel


def _project(folder, **training):
    project = templates.digits_project()
    project.network = templates.mlp(inputs=64, hidden=(16,), classes=10)
    project.training.update({"epochs": 1, "batch_size": 128, **training})
    project.save(folder / "tiny.sigma")
    return project


@pytest.fixture
def bridge(qtbot):
    b = Bridge()
    yield b
    b.shutdown(5000)


@pytest.fixture
def panel(qtbot, bridge):
    widget = RunsPanel(bridge)
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()


def _cells(panel) -> list[list[str]]:
    model = panel.model
    rows = []
    for r in range(model.rowCount()):
        rows.append([model.data(model.index(r, c)) for c in range(model.columnCount())])
    return rows


def _cli_cells(path) -> tuple[list[str], list[list[str]]]:
    """``sigma runs`` output cut at the header's column starts."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert sigma_main(["runs", str(path)]) == 0
    lines = out.getvalue().splitlines()
    header = lines[0]
    titles = header.split("  ")
    titles = [t.strip() for t in titles if t.strip()]
    starts = [header.index(t) for t in titles]
    ends = starts[1:] + [None]
    return titles, [[line[a:b].strip() for a, b in zip(starts, ends)] for line in lines[1:]]


def test_runs_survive_reopening_and_match_the_cli(qtbot, tmp_path, bridge):
    project = _project(tmp_path)
    build_run(project).fit()
    project.training["optimiser"] = {"type": "adam", "learning_rate": 0.01}
    project.save()
    build_run(project).fit()

    first = RunsPanel(bridge)
    qtbot.addWidget(first)
    first.set_project(project)
    assert first.model.rowCount() == 2
    assert "optimiser.learning_rate" in first.model.table.setting_columns
    first.metric_choice.setCurrentText("epoch/val_loss")
    first.model.set_checked("run-0001", True)
    before_cells = _cells(first)
    before_curves = {name: [a.tolist() for a in c.getData()] for name, c in first.curves.items()}
    assert set(before_curves) == {"run-0001", "run-0002"}
    first.close()

    again = RunsPanel(bridge)  # as after closing the studio and opening the project again
    qtbot.addWidget(again)
    again.set_project(Project.load(tmp_path / "tiny.sigma"))
    assert again.model.checked == {"run-0002"}  # the newest run's curves show at once
    again.metric_choice.setCurrentText("epoch/val_loss")
    again.model.set_checked("run-0001", True)
    assert _cells(again) == before_cells
    assert {name: [a.tolist() for a in c.getData()] for name, c in again.curves.items()} == before_curves

    titles, cli = _cli_cells(tmp_path / "tiny.sigma")
    assert titles == again.model.table.columns
    assert cli == before_cells


def test_star_rename_note_filter_sort_and_delete(qtbot, tmp_path, panel, monkeypatch):
    project = _project(tmp_path)
    for rate in (0.003, 0.03, 0.01):
        project.training["optimiser"] = {"type": "adam", "learning_rate": rate}
        build_run(project).fit()
    panel.set_project(project)
    panel.select("run-0002")
    panel.toggle_star()
    panel.rename_selected("fast")
    panel.note_selected("diverges early")
    panel.reload()  # what was written is what is read back
    record = panel.model.record(panel.model.row_of("run-0002"))
    assert (record.label, record.starred, record.note) == ("fast", True, "diverges early")
    row = panel.model.row_of("run-0002")
    column = panel.model.table.columns.index("label")
    assert panel.model.setData(panel.model.index(row, column), "quick")  # edited in the table
    assert list_runs(project.path)[1].label == "quick"

    panel.filter.setText("0.03")
    assert panel.proxy.rowCount() == 1
    panel.filter.setText("")
    column = panel.model.table.columns.index("optimiser.learning_rate")
    panel.view.sortByColumn(column, QtCore.Qt.SortOrder.DescendingOrder)
    shown = [panel.proxy.index(r, 0).data() for r in range(panel.proxy.rowCount())]
    assert shown == ["run-0002", "run-0003", "run-0001"]  # 0.03, 0.01, 0.003: numbers, not text

    answers = iter([QtWidgets.QMessageBox.StandardButton.No, QtWidgets.QMessageBox.StandardButton.Yes])
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", lambda *a, **k: next(answers))
    panel.select("run-0001")
    assert panel.delete_selected() == 0 and (tmp_path / "tiny.sigma.runs" / "run-0001").exists()
    panel.select("run-0001")
    assert panel.delete_selected() == 1
    assert not (tmp_path / "tiny.sigma.runs" / "run-0001").exists()
    assert [r.name for r in panel.model.table.records] == ["run-0002", "run-0003"]


def test_a_studio_run_is_recorded_and_can_be_continued(qtbot, tmp_path, panel, bridge):
    project = _project(tmp_path)
    panel.set_project(project)
    assert panel.model.rowCount() == 0
    assert bridge.start(project)
    qtbot.waitUntil(lambda: not bridge.busy, timeout=60000)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=5000)
    assert panel.model.record(0).status["state"] == "finished"
    assert panel.model.record(0).meta["origin"] == "studio"

    project.training["epochs"] = 2
    panel.select("run-0001")
    assert panel.train_from()
    qtbot.waitUntil(lambda: not bridge.busy, timeout=60000)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2, timeout=5000)
    child = panel.model.record(1)
    assert child.parent["run"] == "run-0001" and child.parent["kind"] == "resume"
    assert child.status["epoch"] == 2


def test_a_million_iteration_run_opens_in_under_a_second(qtbot, tmp_path, panel):
    project = _project(tmp_path)
    folder = create_run(project)
    writer = SeriesWriter(folder / "series")
    n = 1_000_000
    x = np.arange(1, n + 1, dtype=np.float64)
    for start in range(0, n, 200_000):
        chunk = x[start : start + 200_000]
        writer.extend("iteration/loss", np.stack([chunk, 1.0 / np.sqrt(chunk)], 1))
        writer.extend("iteration/learning_rate", np.stack([chunk, np.full_like(chunk, 1e-3)], 1))
        writer.commit()
    writer.extend("epoch/loss", np.stack([np.arange(1.0, 101.0), np.linspace(1, 0.1, 100)], 1))
    writer.commit()
    RunRecorder(folder).commit()  # a status.json as a run leaves it

    start = time.perf_counter()
    panel.set_project(project)
    panel.metric_choice.setCurrentText("iteration/loss")
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"opening took {elapsed:.2f} s"
    xs, _ = panel.curves["run-0001"].getData()
    assert len(xs) <= 10_000 and xs[-1] == n


def _sweep_project(folder):
    project = _project(folder)
    project.training["checkpoint"]["every_epochs"] = 0
    project.save()
    return project


def test_a_sweep_from_the_dialog_fills_the_table_and_the_parallel_view(qtbot, tmp_path, panel):
    from studio.panels.sweep_dialog import SweepDialog

    project = _sweep_project(tmp_path)
    panel.set_project(project)
    dialog = SweepDialog(project, panel)
    assert "network.fc1.units" in dialog.keys  # numeric layer arguments are offered
    dialog.axes.item(0, 1).setText("1e-3, 1e-2")
    dialog.add_axis("batch_size", "32, 64")
    dialog.random.setChecked(True)
    dialog.count.setValue(3)
    assert dialog.trials.text() == "3 trial(s)"
    dialog.parallel.setValue(2)
    dialog.accept()
    assert panel.new_sweep(dialog)
    assert panel.actions["stop_sweep"].isVisibleTo(panel)
    qtbot.waitUntil(lambda: not panel.sweeps.busy, timeout=120000)
    assert panel.model.rowCount() == 3
    assert {"optimiser.learning_rate", "batch_size"} <= set(panel.model.table.setting_columns)
    assert all(record.status["state"] == "finished" for record in panel.model.table.records)
    assert panel.model.table.text(0, "sweep").startswith("sweep-0001 #")
    assert set(panel.parallel.lines) == {r.name for r in panel.model.table.records}
    assert panel.parallel.axes[-1] == panel.parallel_metric.currentText() == "best val_loss"
    panel.filter.setText("sweep-0001 #1")
    assert len(panel.parallel.lines) == 1  # the view follows the filter


@pytest.mark.slow
def test_a_killed_sweep_is_offered_again_and_resumes(qtbot, tmp_path, panel):
    import signal
    import subprocess
    import sys
    from pathlib import Path

    project = _sweep_project(tmp_path)
    root = Path(__file__).resolve().parents[2]
    studio = f"""
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, {str(root)!r})
from PySide6 import QtWidgets
from engine.project import Project
from studio.bridge import Bridge
from studio.panels.runs import RunsPanel
from studio.panels.sweep_dialog import SweepDialog
app = QtWidgets.QApplication([])
project = Project.load({str(project.path)!r})
panel = RunsPanel(Bridge())
panel.set_project(project)
dialog = SweepDialog(project)
dialog.axes.cellWidget(0, 0).setCurrentText("seed")
dialog.axes.item(0, 1).setText("1, 2, 3")
dialog.accept()
assert panel.new_sweep(dialog)
app.exec()
"""
    # A studio running a sweep from its Runs panel, killed once a trial has finished.
    process = subprocess.Popen(
        [sys.executable, "-c", studio], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        qtbot.waitUntil(
            lambda: any(r.status.get("state") == "finished" for r in list_runs(project.path)), timeout=90000
        )
        process.send_signal(signal.SIGKILL)  # no clean-up at all
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    from tests.engine.test_sweep import wait_for_orphaned_trials

    wait_for_orphaned_trials()  # the orphaned trial notices and ends
    panel.set_project(Project.load(project.path))  # the project opened again
    sweep, left = panel.unfinished_sweep()
    assert sweep.stem == "sweep-0001" and 1 <= left <= 2
    assert panel.actions["resume_sweep"].isVisibleTo(panel) and "left" in panel.actions["resume_sweep"].text()
    panel.actions["resume_sweep"].click()
    qtbot.waitUntil(lambda: not panel.sweeps.busy, timeout=120000)
    assert panel.unfinished_sweep() is None
    finished = [r for r in panel.model.table.records if r.status["state"] == "finished"]
    assert sorted(r.meta["sweep"]["trial"] for r in finished) == [0, 1, 2]
    assert not panel.actions["resume_sweep"].isVisibleTo(panel)
