"""Autosave and crash recovery (``actions.recovery``).

Autosave writes ``autosave-<pid>-<id>.json`` in :func:`recovery_dir` whenever the project changed, on a
timer. It is deleted only when the project is saved or its changes are explicitly discarded: closing the
window with unsaved changes asks Save / Discard / Cancel first, and a close that was not asked (the
session ending, a scripted close) writes the autosave once more and keeps it. A file left by a process
that is no longer running (after a crash, or a quit with unsaved work) is offered back at the next
start. A project file that cannot be opened offers its newest autosave instead.
"""

from __future__ import annotations

import glob
import json
import os
import time
from pathlib import Path

import psutil
from PySide6.QtCore import QEvent, QObject, QStandardPaths
from PySide6.QtWidgets import QMessageBox

from engine.project import Project, ProjectError

__all__ = ["AutosaveRecovery", "recovery_dir", "AUTOSAVE_FORMAT"]

AUTOSAVE_FORMAT = "sigma.autosave/1"


def recovery_dir() -> Path:
    """Where autosaves go: ``$SIGMA_STUDIO_HOME/recovery`` if set (tests), else the app data folder."""
    home = os.environ.get("SIGMA_STUDIO_HOME")
    base = (
        Path(home)
        if home
        else Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    )
    return base / "recovery"


class AutosaveRecovery(QObject):
    """Autosave on a timer, recovery after a crash, the autosave offered for a damaged file, and the
    question before the window closes with unsaved changes (it filters the window's close event)."""

    def __init__(self, actions):
        super().__init__(actions)
        self.actions = actions
        self.window = actions.window

    # ---------------------------------------------------------------- autosave and recovery
    def autosave(self, closing: bool = False) -> bool:
        """Write the project to this session's recovery file if it changed since the last autosave.

        ``closing`` marks the file as left by a window closed with unsaved changes (the next start says
        so rather than speaking of a crash), and writes it even when it was already up to date.
        """
        actions = self.actions
        project = self.window.project
        current = actions.json_of(project)
        if project is None or (current == actions.autosaved_json and not closing):
            return False
        doc = {
            "format": AUTOSAVE_FORMAT,
            "project_path": str(project.path) if project.path else None,
            "saved_at": time.time(),
            "closed": closing,
            "project": project.to_dict(),
        }
        path = actions.autosave_path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(doc), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            actions.message(f"Autosave failed ({exc}); save your project with File > Save.", "error")
            return False
        actions.autosaved_json = current
        return True

    def discard_autosave(self) -> None:
        """Delete this window's autosave (saved or discarded work: nothing to recover)."""
        try:
            self.actions.autosave_path.unlink()
        except FileNotFoundError:
            pass

    @staticmethod
    def _read_autosave(path: Path) -> dict | None:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("format") != AUTOSAVE_FORMAT:
            return None
        return doc

    @staticmethod
    def _owner_alive(path: Path) -> bool:
        try:
            pid = int(Path(path).name.split("-")[1])
        except (IndexError, ValueError):
            return False
        return pid != os.getpid() and psutil.pid_exists(pid)

    def crashed_autosaves(self) -> list[Path]:
        """Autosaves left by sessions that are no longer running, newest first."""
        found = [Path(p) for p in glob.glob(str(recovery_dir() / "autosave-*.json"))]
        found = [p for p in found if p != self.actions.autosave_path and not self._owner_alive(p)]
        if any(p.name.startswith(f"autosave-{os.getpid()}-") for p in found):
            # Other windows of this process are alive or closed cleanly; only a dead process crashed.
            found = [p for p in found if not p.name.startswith(f"autosave-{os.getpid()}-")]
        return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)

    def offer_recovery(self) -> bool:
        """If an earlier session crashed, ask whether to recover its project. Returns whether asked."""
        for path in self.crashed_autosaves():
            doc = self._read_autosave(path)
            if doc is None:
                path.unlink(missing_ok=True)
                continue
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(doc.get("saved_at", 0)))
            name = (doc.get("project") or {}).get("name", "a project")
            why = (
                f'"{name}" had unsaved changes when Sigma Studio was closed.'
                if doc.get("closed")
                else f'Sigma Studio did not close properly last time; "{name}" had unsaved changes.'
            )
            self.actions.ask(
                "Recover unsaved work?",
                f"{why} Recover it as it was autosaved at {when}?",
                {
                    "Recover": QMessageBox.ButtonRole.AcceptRole,
                    "Discard": QMessageBox.ButtonRole.DestructiveRole,
                },
                lambda label, p=path, d=doc: (
                    self._recover(p, d) if label == "Recover" else p.unlink(missing_ok=True)
                ),
            )
            return True
        return False

    def _recover(self, path: Path, doc: dict) -> bool:
        try:
            project = Project.from_dict(doc["project"], doc.get("project_path"))
        except (ProjectError, KeyError) as exc:
            self.actions.message(f"The autosave {path} cannot be read: {exc}", "error")
            return False
        self.window.set_project(project)
        self.actions.saved_json = ""  # recovered work is unsaved until the user saves it
        path.unlink(missing_ok=True)
        self.actions.message(
            f'Recovered "{project.name}" from the autosave; save it with File > Save.', "info"
        )
        return True

    def offer_autosave_for(self, path: Path, reason: str) -> None:
        """A project file could not be opened: say why, and offer the newest autosave of it (or any)."""
        docs = []
        for p in glob.glob(str(recovery_dir() / "autosave-*.json")):
            doc = self._read_autosave(Path(p))
            if doc is not None:
                docs.append((Path(p), doc))
        same = [
            d
            for d in docs
            if d[1].get("project_path") and Path(d[1]["project_path"]).resolve() == path.resolve()
        ]
        candidates = sorted(same or docs, key=lambda d: d[1].get("saved_at", 0), reverse=True)
        if not candidates:
            self.actions.message(f"Could not open the project: {reason}. No autosave is available.", "error")
            return
        auto_path, doc = candidates[0]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(doc.get("saved_at", 0)))
        which = "of this project" if same else f'of "{doc["project"].get("name", "?")}"'
        self.actions.message(f"Could not open the project: {reason}", "error")
        self.actions.ask(
            "Project file damaged",
            f"Could not open the project: {reason}\n\nOpen the last autosave {which} (from {when}) instead?",
            {"Open autosave": QMessageBox.ButtonRole.AcceptRole, "Cancel": QMessageBox.ButtonRole.RejectRole},
            lambda label: self._recover_copy(auto_path, doc) if label == "Open autosave" else None,
        )

    def _recover_copy(self, path: Path, doc: dict) -> None:
        try:
            project = Project.from_dict(doc["project"], doc.get("project_path"))
        except (ProjectError, KeyError) as exc:
            self.actions.message(f"The autosave {path} cannot be read either: {exc}", "error")
            return
        self.window.set_project(project)
        self.actions.saved_json = ""
        self.actions.message(
            f'Opened the autosave of "{project.name}"; save it to replace the damaged file.', "info"
        )

    def eventFilter(self, obj, event) -> bool:
        actions = self.actions
        if obj is self.window and event.type() == QEvent.Type.Close:
            if self._ask_before_close():
                event.ignore()
                return True  # the window stays open (and keeps training) until the user answers
            actions.autosave_timer.stop()
            actions.modified_timer.stop()
            if self.window.project is not None and actions.dirty and not actions.close_answered:
                self.autosave(closing=True)  # unsaved work nobody was asked about: offered next time
            else:
                self.discard_autosave()  # saved, discarded or never changed: nothing to recover
            save_job = actions.checkpoints.save_job
            if save_job is not None:
                save_job.done.wait(30.0)
            actions.networks.finish()
        return False

    def _ask_before_close(self) -> bool:
        """Ask Save / Discard / Cancel when the window closes with unsaved changes; whether it asked."""
        actions = self.actions
        if (
            actions.close_answered
            or not getattr(self.window, "confirm_close", True)
            or self.window.project is None
            or not actions.dirty
        ):
            return False
        if actions.question is not None and actions.question.windowTitle() == "Unsaved changes":
            actions.question.raise_()  # Ctrl+Q twice: one question is enough
            return True
        self.autosave()  # the work is on disk while the question waits

        def answered(label):
            if label == "Save":
                actions.close_after_save = True
                if not actions.files.save_project():  # no file yet: Save As… closes once it is written
                    dialog = actions.question_dialog
                    if dialog is not None and dialog.isVisible():
                        dialog.rejected.connect(lambda: setattr(actions, "close_after_save", False))
                    else:
                        actions.close_after_save = False
            elif label == "Discard changes":
                actions.close_answered = True
                self.discard_autosave()
                self.window.close()

        name = self.window.project.name
        actions.ask(
            "Unsaved changes",
            f"Save the changes to {name} before closing?\n\nDiscarding loses them for good.",
            {
                "Save": QMessageBox.ButtonRole.AcceptRole,
                "Discard changes": QMessageBox.ButtonRole.DestructiveRole,
                "Cancel": QMessageBox.ButtonRole.RejectRole,
            },
            answered,
        )
        return True
