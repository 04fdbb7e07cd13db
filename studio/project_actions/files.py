"""File menu commands: new, open, open recent, save, save as, import data (a mixin of ProjectActions)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
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


class FileCommands:
    """File > New, Open…, Open recent, Save, Save As…, Import data…"""

    # ---------------------------------------------------------------- File menu
    def new_project(self) -> None:
        """Replace the project by an empty one (after asking about unsaved changes)."""
        if not self._busy():
            self._then_if_discarded(lambda: self._adopt(blank_project()))

    def open_project(self, path=None) -> None:
        """Open a project file (a non-modal file dialog when ``path`` is None)."""
        if self._busy():
            return
        if path is None:
            self._file_dialog("Open a project", QFileDialog.AcceptMode.AcceptOpen, self.open_project)
            return
        self._then_if_discarded(lambda: self._open_now(Path(path)))

    def _open_now(self, path: Path) -> bool:
        try:
            project = Project.load(path)
        except ProjectError as exc:
            self._offer_autosave_for(path, str(exc))
            return False
        self._adopt(project)
        self._remember_recent(path)
        self.message(f"Opened {path}", "success")
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
            self._file_dialog("Save the project as", QFileDialog.AcceptMode.AcceptSave, self.save_project_as)
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
            self.message(f"Could not save {path}: {exc}", "error")
            return False
        self._saved_json = self._autosaved_json = self._json(project)
        self._discard_autosave()  # nothing unsaved is left to recover
        self._remember_recent(path)
        self.message(f"Saved {path}", "success")
        self.refresh_modified()
        if self._close_after_save:  # "Save" was the answer to closing the window
            self._close_after_save = False
            self._close_answered = True
            self.window.close()
        return True

    def import_data(self) -> None:
        """File > Import data…: the dataset panel's file dialog."""
        if hasattr(self.window, "import_data"):
            self.window.import_data()
            return
        panel = getattr(self.window, "dataset_panel", None)
        if panel is None:
            self.message("The dataset panel is not available.", "error")
            return
        dock = self.window.panel("dataset") if hasattr(self.window, "panel") else None
        if dock is not None:
            dock.show()
            dock.raise_()
        panel.open_import_dialog()

    def _file_dialog(self, title, mode, then) -> QFileDialog:
        dialog = QFileDialog(self.window, title)
        dialog.setAcceptMode(mode)
        dialog.setNameFilter(_FILTER)
        dialog.fileSelected.connect(lambda chosen: then(chosen) if chosen else None)
        self.question_dialog = dialog
        dialog.open()
        return dialog

    def _adopt(self, project) -> None:
        if self._discard_on_adopt:  # the user discarded the old project's changes: nothing to recover
            self._discard_autosave()
        self._saved_json = self._json(project)
        self.window.set_project(project)
        self._saved_json = self._json(self.window.project)

    # ---------------------------------------------------------------- recent projects
    def _settings(self) -> QSettings:
        return QSettings("Sigma", "Sigma Studio")

    def recent_projects(self) -> list[str]:
        value = self._settings().value("recent/projects", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _remember_recent(self, path) -> None:
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_projects() if p != path]
        settings = self._settings()
        settings.setValue("recent/projects", recent[:_MAX_RECENT])
        settings.sync()
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_projects()
        for i, path in enumerate(recent):
            action = self.recent_menu.addAction(f"&{i + 1} {Path(path).name}  —  {Path(path).parent}")
            action.setToolTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_project(p))
        if not recent:
            self.recent_menu.addAction("(no recent projects)").setEnabled(False)
