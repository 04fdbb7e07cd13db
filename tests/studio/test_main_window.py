"""The main window: first launch, panels and menus, layout memory, errors as messages, clean close."""

from __future__ import annotations

import json
import threading
import time

import pytest
from PySide6 import QtCore

from studio.main_window import MainWindow


def test_first_launch_shows_the_start_page_and_an_example_opens_with_every_panel(qtbot):
    from engine.templates import EXAMPLES

    w = MainWindow(restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    assert w.project is None and w.start_page.isVisible() and w.windowTitle() == "Sigma Studio"
    assert not w.panel("monitor").isVisible() and not w.panel("training").isVisible()
    # Every bundled example is on the page with its thumbnail and its sentence.
    assert list(w.start_page.example_cards) == [e.key for e in EXAMPLES]
    for e in EXAMPLES:
        card = w.start_page.example_cards[e.key]
        assert not card.thumbnail.pixmap().isNull() and e.description in card.text_label.text()
    assert set(w.example_actions) == {e.title for e in EXAMPLES}  # the toolbar and menu offer them too
    qtbot.mouseClick(w.start_page.example_cards["cat"], QtCore.Qt.MouseButton.LeftButton)
    assert w.project.name == "Paint the cat" and w.project.task == "image"
    assert not w.start_page.isVisible() and w.panel("monitor").isVisible()
    assert "Paint the cat" in w.windowTitle()
    for name in ("training", "monitor"):
        assert w.panel(name) is not None and w.panel(name).objectName() == name
    for name in ("File", "Training", "View", "Help"):
        assert w.menu(name).actions(), f"menu {name} is empty"
    assert "backend: cpu" in w.status_backend.text()
    assert w.status_state.text() == "State: idle"
    assert w.training.project is w.project


def test_digits_classifier_is_one_click_away(qtbot, window):
    with qtbot.waitSignal(window.sigProjectChanged) as changed:
        window.example_actions["Digits classifier"].trigger()
    assert changed.args[0].name == "Digits classifier"
    assert window.training.batch_size.value() == window.project.training["batch_size"]
    assert window.project.task == "classification"


def test_panels_are_docks_and_the_layout_is_remembered(qtbot, cat_project, build_run):
    first = MainWindow(project=cat_project, build_run=build_run, restore_layout=False)
    qtbot.addWidget(first)
    first.show()
    first.panel("training").setFloating(True)
    first.panel("monitor").hide()
    first.close()
    second = MainWindow(project=cat_project, build_run=build_run, restore_layout=True)
    qtbot.addWidget(second)
    second.show()
    assert second.panel("training").isFloating()
    assert second.panel("monitor").isHidden()
    second.menu("View").actions()[0]  # the panels' toggle actions live in View


def test_an_engine_error_is_a_message_and_the_project_is_intact(qtbot, window):
    before = window.project.to_dict()
    window.training.start()
    qtbot.waitUntil(lambda: window.bridge.state == "running", timeout=20000)
    window.bridge.set_value("optimiser.learning_rate", float("inf"))  # the parameters go non-finite
    qtbot.waitUntil(lambda: window.bridge.state == "error" and not window.bridge.busy, timeout=20000)
    text = window.banner.text()
    assert text.startswith("Training stopped on an error") and "Traceback" not in text
    assert window.banner.isVisible()
    assert window.project.to_dict() == before
    assert window.training.buttons["start"].isEnabled()
    assert any(level == "error" for level, _ in window.monitor.log.lines)
    # The next start clears the message.
    window.training.start()
    qtbot.waitUntil(lambda: window.banner.text() == "", timeout=5000)
    window.bridge.stop()
    qtbot.waitUntil(lambda: not window.bridge.busy, timeout=10000)


def test_closing_the_window_while_training_stops_the_workers_within_two_seconds(qtbot, window):
    baseline = set(threading.enumerate())
    window.training.backend.setCurrentText("auto")
    assert window.project.training["backend"] == "auto"
    window.training.start()
    qtbot.waitUntil(lambda: window.bridge.state == "running", timeout=20000)
    assert window.status_backend.text().startswith(f"backend: {window.bridge.trainer.backend.name}")
    t0 = time.perf_counter()
    window.close()
    qtbot.waitUntil(
        lambda: (
            window.bridge.pool.activeThreadCount() == 0
            and not [
                t
                for t in threading.enumerate()
                if t not in baseline and t.is_alive() and not isinstance(t, threading._DummyThread)
            ]
        ),
        timeout=2000,
    )
    assert time.perf_counter() - t0 < 2.0
    assert window.bridge.state == "stopped"


def test_closing_while_checkpoints_are_written_leaves_only_whole_checkpoints(
    qtbot, cat_project, build_run, tmp_path
):
    from engine import checkpoint

    folder = tmp_path / "checkpoints"
    cat_project.training["checkpoint"] = {
        "every_epochs": 1,
        "best_only": False,
        "keep": 3,
        "directory": str(folder),
        "min_seconds": 0,  # every epoch: a save is under way when the window closes
    }
    w = MainWindow(project=cat_project, build_run=build_run, restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.bridge.sigCheckpointSaved, timeout=30000):
        w.training.start()
    w.close()  # at once: the next checkpoint may be half-written now; closing must let it finish
    assert w.bridge.pool.activeThreadCount() == 0
    files = sorted(folder.iterdir())
    assert files and all(f.suffix == ".h5" for f in files), [f.name for f in files]  # no temporaries
    for f in files:
        assert checkpoint.info(f)["iteration"] > 0


def test_smoke_flag_trains_and_writes_a_log(qtbot, tmp_path):
    from studio.app import main

    log = tmp_path / "smoke.json"
    assert main(["--smoke", "--iterations", "3", "--log", str(log)]) == 0
    report = json.loads(log.read_text())
    assert report["ok"] and report["state"] in ("stopped", "finished") and len(report["losses"]) >= 3


def test_bad_project_file_is_reported_not_fatal(qtbot, tmp_path):
    from engine.project import Project, ProjectError

    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    with pytest.raises(ProjectError) as err:
        Project.load(bad)
    assert "broken.json" in str(err.value)
    QtCore.QCoreApplication.processEvents()
