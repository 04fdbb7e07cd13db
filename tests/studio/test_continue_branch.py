"""Issue 16: after sample edits, "Continue from here" trains on from the run's latest checkpoint as a
new run that branches from it, drawn from the parent's iteration beside the parent's line; a real digits
run in the real main window, the data file untouched."""

from __future__ import annotations

import hashlib

import pytest
from PySide6 import QtCore

from engine.data.samples import resource_path
from engine.runs import list_runs


@pytest.fixture
def window(qtbot, tmp_path):
    from engine.templates import digits_project, mlp
    from studio.main_window import MainWindow

    project = digits_project()
    project.network = mlp(inputs=64, hidden=(16,), classes=10)
    project.training.update({"epochs": 1, "batch_size": 64})
    project.save(tmp_path / "digits.sigma")
    w = MainWindow(project=project, restore_layout=False)  # the studio's own run builder (records runs)
    qtbot.addWidget(w)
    w.show()
    return w


def test_continue_from_here_after_edits_is_a_branch_from_the_parents_iteration(qtbot, window, tmp_path):
    monitor, runs = window.monitor, window.runs
    source = resource_path("digits.csv.gz")
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    assert window.bridge.start(window.project)
    qtbot.waitUntil(lambda: not window.bridge.busy, timeout=60000)
    parent = window.bridge.run
    left = parent.trainer.iteration
    parent_id = window.bridge.run_id

    # relabel two samples and exclude one in the samples browser, with its buttons
    browser = monitor.open_worst()
    assert browser is not None and browser.table.rowCount() >= 3
    for row in (0, 1):
        browser.table.clearSelection()
        browser.table.selectRow(row)
        browser.relabel_to.setCurrentText(browser.table.item(row, 3).text())  # what the network said
        qtbot.mouseClick(browser.relabel_button, QtCore.Qt.MouseButton.LeftButton)
    browser.table.clearSelection()
    browser.table.selectRow(2)
    qtbot.mouseClick(browser.exclude_button, QtCore.Qt.MouseButton.LeftButton)
    assert [e["action"] for e in window.project.dataset["edits"]] == ["relabel", "relabel", "exclude"]

    with qtbot.waitSignal(window.bridge.sigRunFinished, timeout=60000) as finished:
        qtbot.mouseClick(browser.continue_button, QtCore.Qt.MouseButton.LeftButton)
    assert finished.args == ["finished"]
    child = window.bridge.run
    assert child is not parent and child.trainer.epoch == 2  # the project's 1 epoch again, on top
    assert len(child.validation_data) == len(parent.validation_data) - 1

    # the run store: a branch of run-0001 at its iteration, said in the log
    records = {r.name: r for r in list_runs(window.project.path)}
    assert sorted(records) == ["run-0001", "run-0002"]
    lineage = records["run-0002"].parent
    assert lineage["run"] == "run-0001" and lineage["kind"] == "branch"
    assert lineage["iteration"] == left and lineage["exact"] is False
    assert f"branch of run-0001 from iteration {left}" in lineage["note"]
    assert any(lineage["note"] in message for _level, message in monitor.log.lines)

    # the monitor draws the branch from where the parent left, the parent's line kept
    child_x, _ = monitor.loss_chart.series("loss", window.bridge.run_id)
    parent_x, _ = monitor.loss_chart.series("loss", parent_id)
    assert parent_x[-1] == left and child_x[0] == left + 1
    # both runs in the run list, the branch's parent named, both curves drawn
    qtbot.waitUntil(lambda: runs.model.rowCount() == 2, timeout=5000)
    cells = [runs.model.table.text(i, "parent") for i in range(2)]
    assert cells == ["-", "branch of run-0001"]
    qtbot.waitUntil(lambda: {"run-0001", "run-0002"} <= set(runs.curves), timeout=5000)
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before  # the data file is untouched
    browser.close()

    # another project opened since: its runs are not continued from this one's checkpoint
    other = window.project.__class__.load(window.project.path)
    other.path = tmp_path / "other.sigma"
    other.save(other.path)
    monitor.set_project(other)
    assert not monitor.continue_from_here()
    assert "run-0002 is a run of another project" in monitor.log.lines[-1][1]
    assert sorted(r.name for r in list_runs(window.project.path)) == ["run-0001", "run-0002"]
