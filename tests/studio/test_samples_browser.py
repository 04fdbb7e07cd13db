"""Confusion cell -> the samples behind it, on a real digits run; edits change the next run's data only."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PySide6 import QtCore

from engine.data.samples import resource_path


@pytest.fixture
def digits_project(tmp_path):
    from engine.templates import digits_project, mlp

    project = digits_project()
    project.network = mlp(inputs=64, hidden=(16,), classes=10)
    project.training.update({"epochs": 1, "batch_size": 64})
    project.save(tmp_path / "digits.sigma")
    return project


@pytest.fixture
def digits_window(qtbot, digits_project, build_run):
    from studio.main_window import MainWindow

    w = MainWindow(project=digits_project, build_run=build_run, restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    return w


def _train(qtbot, window):
    assert window.bridge.start(window.project)
    qtbot.waitUntil(lambda: not window.bridge.busy, timeout=60000)
    assert window.monitor.validation_predictions is not None
    return window.bridge.run


def _click_cell(qtbot, view, true, predicted):
    """A real left click in the middle of cell [true, predicted] of the confusion heat map."""
    vb = view.item.getViewBox()
    scene = vb.mapViewToScene(QtCore.QPointF(predicted + 0.5, true + 0.5))
    pos = view.plot.mapFromScene(scene)
    qtbot.mouseClick(view.plot.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)


def test_cell_lists_exactly_its_samples_and_edits_change_the_next_run(qtbot, digits_window, build_run):
    window, monitor = digits_window, digits_window.monitor
    source = resource_path("digits.csv.gz")
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    run = _train(qtbot, window)
    # The engine's own predictions on the validation set, independently of the event.
    predicted = run.trainer.predict(run.validation_data["inputs"]).argmax(axis=1)
    targets = np.asarray(run.validation_data["targets"])
    matrix = np.asarray(monitor.confusion.matrix, dtype=int)
    off = [(t, p) for t in range(10) for p in range(10) if t != p and matrix[t, p] > 0]
    true, pred = max(off, key=lambda c: matrix[c])
    monitor.confusion.resize(500, 500)
    qtbot.waitUntil(lambda: monitor.confusion.plot.isVisible(), timeout=5000)
    _click_cell(qtbot, monitor.confusion, true, pred)
    qtbot.waitUntil(lambda: monitor.browser is not None and monitor.browser.isVisible(), timeout=5000)
    browser = monitor.browser
    expected = np.flatnonzero((targets == true) & (predicted == pred))
    assert sorted(browser.rows) == list(expected) and browser.table.rowCount() == len(expected)
    probs = browser.data.probabilities
    confidence = probs[browser.rows].max(axis=1)
    assert list(confidence) == sorted(confidence, reverse=True)  # most confident first
    first = browser.rows[0]
    assert browser.table.item(0, 2).text() == str(true) and browser.table.item(0, 3).text() == str(pred)
    assert browser.table.item(0, 1).text() == f"digits.csv.gz, row {run.validation_records[first] + 1}"
    assert not browser.table.item(0, 0).icon().isNull()  # a thumbnail of the 8x8 digit

    # relabel two samples of the cell as what the network said, exclude one correctly classified sample
    relabel = [int(k) for k in np.flatnonzero(targets != predicted)[:2]]
    keep_out = int(np.flatnonzero(targets == predicted)[0])
    browser.show_rows(relabel + [keep_out], "chosen")
    for row in (0, 1):
        browser.table.clearSelection()
        browser.table.selectRow(row)
        browser.relabel_to.setCurrentText(str(predicted[relabel[row]]))
        qtbot.mouseClick(browser.relabel_button, QtCore.Qt.MouseButton.LeftButton)
    browser.table.clearSelection()
    browser.table.selectRow(2)
    qtbot.mouseClick(browser.exclude_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.mouseClick(browser.check_button, QtCore.Qt.MouseButton.LeftButton)  # same record: check later too
    assert browser.edit_list.count() == 4
    browser.edit_list.setCurrentRow(3)
    qtbot.mouseClick(browser.undo_button, QtCore.Qt.MouseButton.LeftButton)  # take "check later" back
    edits = window.project.dataset["edits"]
    records = run.validation_records
    assert [(e["record"], e["action"]) for e in edits] == [
        (int(records[relabel[0]]), "relabel"),
        (int(records[relabel[1]]), "relabel"),
        (int(records[keep_out]), "exclude"),
    ]

    # the next run (the engine's run builder, as the studio and sigma train use it) sees the edits
    nxt = build_run(window.project)
    assert len(nxt.validation_data) == len(run.validation_data) - 1
    assert int(records[keep_out]) not in set(nxt.validation_records)
    new_targets = dict(
        zip(nxt.validation_records.tolist(), np.asarray(nxt.validation_data["targets"]).tolist())
    )
    for k in relabel:
        assert new_targets[int(records[k])] == predicted[k]
    unchanged = [r for r in records if r not in (records[relabel[0]], records[relabel[1]], records[keep_out])]
    old_targets = dict(zip(records.tolist(), targets.tolist()))
    assert all(new_targets[r] == old_targets[r] for r in unchanged)
    assert len(nxt.train_data) == len(run.train_data)
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before  # the data file is untouched
    browser.close()

    # Training > Sample edits… lists them without a run, and undoes them
    dialog = window.show_sample_edits()
    assert [dialog.list.item(k).text().split(": ")[-1] for k in range(3)] == [
        f"relabel as {predicted[relabel[0]]}",
        f"relabel as {predicted[relabel[1]]}",
        "exclude",
    ]
    dialog.list.item(2).setSelected(True)
    qtbot.mouseClick(dialog.undo_button, QtCore.Qt.MouseButton.LeftButton)
    assert [e["action"] for e in window.project.dataset["edits"]] == ["relabel", "relabel"]
    qtbot.mouseClick(dialog.clear_button, QtCore.Qt.MouseButton.LeftButton)
    assert "edits" not in window.project.dataset and dialog.list.count() == 0
    dialog.close()


def test_mistakes_tab_lists_pairs_classes_and_worst_samples(qtbot, digits_window):
    window, monitor = digits_window, digits_window.monitor
    run = _train(qtbot, window)
    event = monitor.validation_predictions
    wrong = np.flatnonzero(event.probabilities.argmax(axis=1) != event.targets)
    view = monitor.mistakes
    assert view.pairs and view.pairs == sorted(view.pairs, key=lambda c: -c[2])[: len(view.pairs)]
    assert view.class_table.rowCount() == 10
    assert set(view.worst_rows) <= set(wrong) and len(view.worst_rows) == min(16, len(wrong))
    assert len(view.worst.captions()) == len(view.worst_rows)
    view.class_table.cellClicked.emit(3, 0)
    browser = monitor.browser
    assert browser is not None and browser.title.text().startswith("All validation samples of class 3")
    assert browser.table.rowCount() == int((np.asarray(run.validation_data["targets"]) == 3).sum())
    browser.close()
