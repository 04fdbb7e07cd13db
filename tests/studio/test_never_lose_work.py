"""Issue 15, part 1: nothing replaces or closes an edited project without asking, and unsaved work
survives a quit in the autosave, which the next start offers back."""

from __future__ import annotations

import json
import os

import pytest

from engine.project import Project
from engine.templates import digits_project
from studio.main_window import MainWindow


@pytest.fixture
def asking_window(qtbot, monkeypatch):
    """A main window on the digits example that asks before closing, as the studio does for users."""
    monkeypatch.setattr(MainWindow, "confirm_close", True)
    w = MainWindow(project=digits_project(), build_run=lambda p: None, restore_layout=False)
    # qtbot closes windows after the test: answer the question that close asks, if the test left one.
    qtbot.addWidget(w, before_close_func=lambda win: setattr(win.project_actions, "close_answered", True))
    w.show()
    return w


def _edit(w, qtbot):
    assert w.training.epochs.set_text(
        str(w.training.epochs.value() + 3)
    )  # an edit made in a panel, as a user does
    qtbot.waitUntil(w.isWindowModified, timeout=2000)
    assert "[*]" in w.windowTitle() and "Digits classifier" in w.windowTitle()


def test_every_way_of_replacing_an_edited_project_asks_and_cancel_keeps_it(asking_window, qtbot, tmp_path):
    w = asking_window
    actions = w.project_actions
    other = tmp_path / "other.sigma.json"
    Project(name="other").save(other)
    _edit(w, qtbot)
    epochs = w.project.training["epochs"]
    replacements = [
        ("toolbar example", lambda: w.example_actions["Paint the cat"].trigger()),
        ("File > New", actions.new_action.trigger),
        ("File > Open", lambda: actions.open_project(other)),
        ("recent project", lambda: w.start_page.sigOpenRecent.emit(str(other))),
        ("File > Close project", w.close_project_action.trigger),
        ("quit", w.close),
    ]
    for what, do in replacements:
        do()
        assert actions.question is not None, f"{what} did not ask"
        assert "Save the changes to Digits classifier" in actions.question.text()
        assert {b.text() for b in actions.question.buttons()} == {"Save", "Discard changes", "Cancel"}
        actions.answer("Cancel")
        assert w.isVisible(), what
        assert w.project.name == "Digits classifier" and w.project.training["epochs"] == epochs, what
        assert w.isWindowModified(), what
    # The work was autosaved while the close question waited.
    assert json.loads(actions.autosave_path.read_text())["project"]["training"]["epochs"] == epochs
    # Discard opens the example, and only then is the autosave of the discarded work deleted.
    w.example_actions["Paint the cat"].trigger()
    actions.answer("Discard changes")
    assert w.project.name == "Paint the cat" and not w.isWindowModified()
    assert not actions.autosave_path.exists()


def test_quit_with_save_writes_the_project_then_closes(asking_window, qtbot, tmp_path):
    w = asking_window
    actions = w.project_actions
    path = tmp_path / "digits.sigma.json"
    assert actions.save_project_as(path)
    _edit(w, qtbot)
    w.close()
    assert w.isVisible() and actions.question is not None
    actions.answer("Save")
    assert not w.isVisible()
    assert Project.load(path).training["epochs"] == w.project.training["epochs"]
    assert not actions.autosave_path.exists()  # saved: nothing left to recover


def test_quit_with_discard_closes_and_leaves_nothing_to_recover(asking_window, qtbot):
    w = asking_window
    actions = w.project_actions
    _edit(w, qtbot)
    w.close()
    actions.answer("Discard changes")
    assert not w.isVisible() and not actions.autosave_path.exists()


def test_unsaved_work_survives_a_quit_and_is_offered_back(qtbot, monkeypatch):
    """A quit nobody answered (the session ending, a scripted close) keeps the autosave; the next
    start of the studio offers it back."""
    w = MainWindow(project=digits_project(), build_run=lambda p: None, restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    w.project.name = "my digits"
    assert w.training.epochs.set_text("7")
    w.close()
    auto = w.project_actions.autosave_path
    doc = json.loads(auto.read_text())
    assert doc["closed"] is True and doc["project"]["name"] == "my digits"
    # The process that wrote it has exited by the next start: give the file a pid that is not running.
    os.replace(auto, auto.with_name("autosave-999999998-quit.json"))
    monkeypatch.setattr(MainWindow, "confirm_close", True)
    again = MainWindow(build_run=lambda p: None, restore_layout=False)
    qtbot.addWidget(again, before_close_func=lambda win: setattr(win.project_actions, "close_answered", True))
    again.show()
    question = again.project_actions.question
    assert question is not None and "had unsaved changes when Sigma Studio was closed" in question.text()
    again.project_actions.answer("Recover")
    assert again.project.name == "my digits" and again.project.training["epochs"] == 7
    assert again.project_actions.dirty  # recovered work is unsaved until saved
    qtbot.waitUntil(again.isWindowModified, timeout=2000)
