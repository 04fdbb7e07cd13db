"""The Runs panel's actions on the selected runs: star, rename, note, delete, continue from here (train
on from a run's checkpoint) and watch, and the table's context menu that offers them.

A mixin of :class:`studio.panels.runs.RunsPanel` (kept apart so each file stays readable, like
:mod:`studio.panels.runs_sweeps`); it uses the panel's ``bridge``, ``project``, ``model``, ``view``,
``actions``, ``selected_rows``, ``follow_continuation`` (and its ``_check_child_of``), ``reload``,
``sigMessage`` and ``sigWatch``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets

from engine.runs import delete_run

__all__ = ["RunActions"]


class RunActions:
    """Buttons and context menu of the Runs panel that act on the selected runs."""

    def _need_selection(self) -> list[int]:
        rows = self.selected_rows()
        if not rows:
            self.sigMessage.emit("Select a run in the table first.")
        return rows

    def toggle_star(self) -> None:
        rows = self._need_selection()
        star = not all(self.model.record(r).starred for r in rows)
        for row in rows:
            self.model.annotate(row, starred=star)

    def rename_selected(self, text: str | None = None) -> None:
        rows = self._need_selection()[:1]
        if not rows:
            return
        record = self.model.record(rows[0])
        if text is None:
            text, ok = QtWidgets.QInputDialog.getText(self, "Rename run", "Name:", text=record.label)
            if not ok:
                return
        self.model.annotate(rows[0], label=text)

    def note_selected(self, text: str | None = None) -> None:
        rows = self._need_selection()[:1]
        if not rows:
            return
        record = self.model.record(rows[0])
        if text is None:
            text, ok = QtWidgets.QInputDialog.getMultiLineText(self, "Note", record.label, record.note)
            if not ok:
                return
        self.model.annotate(rows[0], note=text)

    def _live_folder(self):
        """The run folder being written for the monitor now: our run's, or the watched one's."""
        watching = getattr(self.bridge, "watching", None)
        if watching is not None:
            return _resolved(watching)
        run = self.bridge.run if self.bridge.busy else None
        folder = getattr(run, "folder", None)
        return None if folder is None else _resolved(folder)

    def delete_selected(self, confirm: bool = True) -> int:
        """Delete the selected runs' folders after asking; the live run is never deleted."""
        rows = self._need_selection()
        records = [self.model.record(r) for r in rows]
        live = self._live_folder()
        if live is not None and any(_resolved(r.path) == live for r in records):
            self.sigMessage.emit("The run that is training cannot be deleted; stop it first.")
            return 0
        if not records:
            return 0
        if confirm:
            names = ", ".join(r.label for r in records[:5]) + (" …" if len(records) > 5 else "")
            text = (
                f"Delete {len(records)} run(s) ({names}) with their checkpoints and metric history?\n"
                "This removes their folders and cannot be undone."
            )
            last = getattr(self.project, "last_checkpoint", None)
            if last and any(_inside(self.project.resolve(last), r.path) for r in records):
                text += "\nThe project's last checkpoint is in one of them: it goes too."
            answer = QtWidgets.QMessageBox.question(self, "Delete runs", text)
            if answer != QtWidgets.QMessageBox.StandardButton.Yes:
                return 0
        for record in records:
            delete_run(record.path)
        self.reload()
        return len(records)

    def train_from(self) -> bool:
        """Continue from here: start a run from the selected run's latest checkpoint with the project's
        current settings and sample edits (a resume when they equal the run's, else a branch: the new
        run records which). The parent's and the new run's curves are checked, so the chart shows the
        branch leaving the parent's line at the parent's iteration."""
        from engine.runs.continuation import continued_project, latest_checkpoint

        rows = self._need_selection()[:1]
        if not rows or self.project is None:
            return False
        record = self.model.record(rows[0])
        checkpoint = latest_checkpoint(record.path)
        if checkpoint is None:
            self.sigMessage.emit(f"{record.label} has no checkpoint to train from.")
            return False
        if self.bridge.busy:
            self.sigMessage.emit("Stop the current run before starting another.")
            return False
        self.follow_continuation(record.name)
        project, total = continued_project(self.project, record.path)
        if total is not None:
            self.sigMessage.emit(f"{record.label} reached the project's epochs: continuing to epoch {total}.")
        started = bool(self.bridge.start(project, label=f"from {record.name}", resume_from=checkpoint))
        if not started:
            self._check_child_of = None
        return started

    def watch_selected(self) -> bool:
        """Ask to watch the selected run (the window watches it: :mod:`studio.watch_actions`)."""
        rows = self._need_selection()[:1]
        if not rows:
            return False
        record = self.model.record(rows[0])
        if self.bridge.watching is None and _resolved(record.path) == self._live_folder():
            self.sigMessage.emit(f"{record.label} is the run training here: the monitor shows it already.")
            return False
        self.sigWatch.emit(record.path)
        return True

    def _context_menu(self, position) -> None:
        menu = QtWidgets.QMenu(self)
        for key in ("star", "rename", "note", "delete", "train", "watch"):
            button = self.actions[key]
            menu.addAction(button.text()).triggered.connect(button.click)
        menu.exec(self.view.viewport().mapToGlobal(position))


def _resolved(path) -> Path:
    try:
        return Path(path).resolve()
    except OSError:
        return Path(path)


def _inside(path, folder) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False
