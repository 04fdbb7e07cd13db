"""Issue 15, parts 2 and 3: the start page, and files dropped anywhere on the main window."""

from __future__ import annotations

import os

from PySide6 import QtCore, QtGui, QtWidgets

from engine.project import Project
from studio.main_window import MainWindow


def _csv(tmp_path):
    csv = tmp_path / "flowers.csv"
    rows = ["sepal,petal,species"] + [f"{i * 0.5},{i % 3 + 1.0},{'abc'[i % 3]}" for i in range(12)]
    csv.write_text("\n".join(rows) + "\n")
    return csv


def _mime(paths) -> QtCore.QMimeData:
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(os.fspath(p)) for p in paths])
    return mime


def _drag_enter(widget, paths) -> QtGui.QDragEnterEvent:
    mime = _mime(paths)  # the event does not own its data: keep it alive while the event is handled
    event = QtGui.QDragEnterEvent(
        QtCore.QPointF(widget.rect().center()),
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.LeftButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    QtWidgets.QApplication.sendEvent(widget, event)
    return event


def _drop(widget, paths) -> QtGui.QDropEvent:
    mime = _mime(paths)
    event = QtGui.QDropEvent(
        QtCore.QPointF(widget.rect().center()),
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.LeftButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    QtWidgets.QApplication.sendEvent(widget, event)
    return event


def test_a_csv_dropped_on_the_monitor_chart_is_imported_and_the_dataset_panel_shown(window, qtbot, tmp_path):
    csv = _csv(tmp_path)
    chart = window.monitor.loss_chart.plot_widget.viewport()  # a graphics view: it takes drops itself
    entered = _drag_enter(chart, [csv])
    assert entered.isAccepted()
    overlay = window.drop_anywhere.overlay
    assert overlay.isVisible() and "import flowers.csv as data" in overlay.text()
    with qtbot.waitSignal(window.dataset_panel.sigImported, timeout=20000):
        dropped = _drop(chart, [csv])
        assert dropped.isAccepted()
    assert not overlay.isVisible()
    assert window.panel("dataset").isVisible() and window.dataset_panel.isVisible()
    assert window.project.dataset["source"] == os.fspath(csv)
    assert window.dataset_panel.dataset.classes == ["a", "b", "c"]


def test_a_drop_on_the_training_panel_opens_a_project_file(window, qtbot, tmp_path):
    path = tmp_path / "saved.sigma.json"
    Project(name="saved one").save(path)
    target = window.training
    assert _drag_enter(target, [path]).isAccepted()
    assert "open the project saved.sigma.json" in window.drop_anywhere.overlay.text()
    with qtbot.waitSignal(window.sigProjectChanged, timeout=5000):
        _drop(target, [path])
    assert window.project.name == "saved one" and window.project.path == path


def test_start_page_offers_examples_recent_projects_and_import_and_takes_drops(qtbot, tmp_path):
    saved = tmp_path / "mine.sigma.json"
    first = MainWindow(project=Project(name="mine"), build_run=lambda p: None, restore_layout=False)
    qtbot.addWidget(first)
    assert first.project_actions.save_project_as(saved)
    first.close()

    w = MainWindow(build_run=lambda p: None, restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    page = w.start_page
    assert page.isVisible() and w.project is None
    texts = [page.recent.item(i).text() for i in range(page.recent.count())]
    assert texts and "mine.sigma.json" in texts[0]
    for control in (page.new_button, page.open_button, page.import_button, page.recent):
        assert control.toolTip(), control
    # A recent project opens on activation (Enter or double-click).
    page.recent.itemActivated.emit(page.recent.item(0))
    assert w.project.name == "mine" and not page.isVisible()
    # File > Close project goes back to the start page; a CSV dropped there starts a project with it.
    w.close_project_action.trigger()
    assert w.project is None and page.isVisible()
    csv = _csv(tmp_path)
    assert _drag_enter(page.drop_note, [csv]).isAccepted()
    with qtbot.waitSignal(w.dataset_panel.sigImported, timeout=20000):
        _drop(page.drop_note, [csv])
    assert w.project is not None and w.project.dataset["source"] == os.fspath(csv)
    assert not page.isVisible() and w.panel("dataset").isVisible()


def test_new_project_from_the_start_page_has_a_valid_network(qtbot):
    w = MainWindow(build_run=lambda p: None, restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.mouseClick(w.start_page.new_button, QtCore.Qt.MouseButton.LeftButton)
    assert w.project is not None and w.project.name == "Untitled"
    assert w.banner.text() == "" and w.network_panel.banner.text() == ""
    w.network_panel.flush()
    assert w.network_panel.valid and w.network_panel.scene.node("logits") is not None
