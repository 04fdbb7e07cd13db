"""File menu commands: new, open, open recent, save, save as, import data (``actions.files``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings
from PySide6.QtWidgets import QFileDialog

from engine.project import Project, ProjectError

__all__ = ["FileCommands", "blank_project"]

_MAX_RECENT = 8
_FILTER = "Sigma projects (*.sigma.json *.json);;All files (*)"


def blank_project() -> Project:
    """What File > New opens: "Untitled", with a small valid network (an MLP) that an import of data
    then fits in one click (see :mod:`studio.data_fit`), so the builder never starts with an error."""
    from engine import templates

    return Project(name="Untitled", network=templates.mlp())


class FileCommands(QObject):
    """File > New, Open…, Open recent, Save, Save As…, Import data…

    Parameters
    ----------
    actions : ProjectActions
        What the commands share (the window, messages, questions, unsaved state).
    """

    def __init__(self, actions):
        super().__init__(actions)
        self.actions = actions
        self.window = actions.window

    # ---------------------------------------------------------------- File menu
    def new_project(self) -> None:
        """Replace the project by an empty one (after asking about unsaved changes)."""
        if not self.actions.busy():
            self.actions.then_if_discarded(lambda: self.adopt(blank_project()))

    def open_project(self, path=None) -> None:
        """Open a project file (a non-modal file dialog when ``path`` is None)."""
        if self.actions.busy():
            return
        if path is None:
            self.file_dialog("Open a project", QFileDialog.AcceptMode.AcceptOpen, self.open_project)
            return
        self.actions.then_if_discarded(lambda: self.open_now(Path(path)))

    def open_now(self, path: Path) -> bool:
        """Open ``path`` without asking; a file that cannot be opened offers its autosave."""
        try:
            project = Project.load(path)
        except ProjectError as exc:
            self.actions.recovery.offer_autosave_for(path, str(exc))
            return False
        self.adopt(project)
        self.remember_recent(path)
        self.actions.message(f"Opened {path}", "success")
        return True

    def save_project(self) -> bool:
        """Save to the project's file (Save As… when it has none). Returns whether it was written."""
        project = self.window.project
        if project is None:
            return False
        if project.path is None:
            self.save_project_as()
            return False
        return self._save_to(project.path)

    def save_project_as(self, path=None) -> bool:
        """Save under a new name (a non-modal file dialog when ``path`` is None)."""
        if path is None:
            self.file_dialog("Save the project as", QFileDialog.AcceptMode.AcceptSave, self.save_project_as)
            return False
        path = Path(path)
        if not path.name.endswith(".json"):
            path = path.with_name(path.name + ".sigma.json")
        return self._save_to(path)

    def _save_to(self, path: Path) -> bool:
        project = self.window.project
        try:
            project.save(path)
        except OSError as exc:
            self.actions.message(f"Could not save {path}: {exc}", "error")
            return False
        actions = self.actions
        actions.saved_json = actions.autosaved_json = actions.json_of(project)
        actions.recovery.discard_autosave()  # nothing unsaved is left to recover
        self.remember_recent(path)
        actions.message(f"Saved {path}", "success")
        actions.refresh_modified()
        if actions.close_after_save:  # "Save" was the answer to closing the window
            actions.close_after_save = False
            actions.close_answered = True
            self.window.close()
        return True

    def import_data(self) -> None:
        """File > Import data…: the dataset panel's file dialog."""
        if hasattr(self.window, "import_data"):
            self.window.import_data()
            return
        panel = getattr(self.window, "dataset_panel", None)
        if panel is None:
            self.actions.message("The dataset panel is not available.", "error")
            return
        dock = self.window.panel("dataset") if hasattr(self.window, "panel") else None
        if dock is not None:
            dock.show()
            dock.raise_()
        panel.open_import_dialog()

    def file_dialog(self, title, mode, then) -> QFileDialog:
        """A non-modal project file dialog calling ``then(path)`` with the file chosen."""
        dialog = QFileDialog(self.window, title)
        dialog.setAcceptMode(mode)
        dialog.setNameFilter(_FILTER)
        dialog.fileSelected.connect(lambda chosen: then(chosen) if chosen else None)
        self.actions.question_dialog = dialog
        dialog.open()
        return dialog

    def adopt(self, project) -> None:
        """Show ``project`` in the window; it has no unsaved changes yet."""
        actions = self.actions
        if actions.discard_on_adopt:  # the user discarded the old project's changes: nothing to recover
            actions.recovery.discard_autosave()
        actions.saved_json = actions.json_of(project)
        self.window.set_project(project)
        actions.saved_json = actions.json_of(self.window.project)

    # ---------------------------------------------------------------- recent projects
    def _settings(self) -> QSettings:
        return QSettings("Sigma", "Sigma Studio")

    def recent_projects(self) -> list[str]:
        value = self._settings().value("recent/projects", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def remember_recent(self, path) -> None:
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_projects() if p != path]
        settings = self._settings()
        settings.setValue("recent/projects", recent[:_MAX_RECENT])
        settings.sync()
        self.fill_recent()

    def fill_recent(self) -> None:
        """File > Open recent's entries, newest first."""
        menu = self.actions.recent_menu
        menu.clear()
        recent = self.recent_projects()
        for i, path in enumerate(recent):
            action = menu.addAction(f"&{i + 1} {Path(path).name}  —  {Path(path).parent}")
            action.setToolTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_project(p))
        if not recent:
            menu.addAction("(no recent projects)").setEnabled(False)
