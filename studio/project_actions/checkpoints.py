"""Training > Save checkpoint now and Restore checkpoint… (``actions.checkpoints``).

Saving runs on the thread pool (the GUI never waits on the engine): ``checkpoint.save`` takes the
trainer's state at the next iteration boundary (training goes on; a paused run stays paused) and writes
it there. Restoring first reads the file on the pool, in a child process with a time and memory limit
(a damaged file can make HDF5 loop), then shows what the checkpoint holds, refuses one whose network
differs from the project's (saying what differs), and resumes training from it exactly: the restore
happens on the run's thread, after the run is built and before ``fit``. The GUI thread never reads a
checkpoint.

A checkpoint of another project (one inside ``other.sigma.runs/``) is restored by opening that project
in place of the open one: the question says so, and asks Save / Discard / Cancel first when the open
project has unsaved changes.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from .checkpoint_fit import checkpoint_owner, describe_checkpoint, network_difference
from .recovery import recovery_dir

__all__ = ["CheckpointCommands", "checkpoint_owner", "describe_checkpoint", "network_difference"]


class _SaveJob(QRunnable):
    """Writes a checkpoint on the pool while the run is paused (or over): the GUI never waits on it."""

    class Signals(QObject):
        sigDone = Signal(str, object)
        sigFailed = Signal(str)

    def __init__(self, trainer, path: str, template: bool = False):
        super().__init__()
        self.trainer, self.path, self.template = trainer, path, template
        self.signals = _SaveJob.Signals()
        self.done = threading.Event()

    def run(self) -> None:
        from engine import checkpoint

        try:
            written = checkpoint.save(self.trainer, self.path, template=self.template)
            summary = checkpoint.info(written)
        except Exception as exc:  # a full disk or a bad path becomes a message
            self.signals.sigFailed.emit(f"Could not save the checkpoint {self.path}: {exc}")
        else:
            self.signals.sigDone.emit(written, summary)
        finally:
            self.done.set()


class _ReadJob(QRunnable):
    """Reads a checkpoint's summary on the pool, in a guarded child process."""

    class Signals(QObject):
        sigRead = Signal(str, object)
        sigFailed = Signal(str, str)

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.signals = _ReadJob.Signals()

    def run(self) -> None:
        from engine import checkpoint_guard

        try:
            summary = checkpoint_guard.info(self.path)
        except Exception as exc:  # CheckpointError, or an OSError reading the folder
            self.signals.sigFailed.emit(self.path, f"Cannot read the checkpoint {self.path}: {exc}")
        else:
            self.signals.sigRead.emit(self.path, summary)


class CheckpointCommands(QObject):
    """Save checkpoint now, Restore checkpoint…, resume from a checkpoint.

    Attributes
    ----------
    save_job : QRunnable or None
        The checkpoint write in progress (closing the window waits for it).
    """

    def __init__(self, actions):
        super().__init__(actions)
        self.actions = actions
        self.window = actions.window
        self.save_job = None  # the checkpoint write in progress, if any
        self._read_job = None  # the checkpoint being read for a restore, if any

    # ---------------------------------------------------------------- checkpoints
    def checkpoint_folder(self) -> Path:
        """Where this project's checkpoints are written: the run's ``checkpoints`` folder (in
        ``<project>.runs/run-NNNN``) while a run of it exists, else the latest recorded run's, else a
        ``checkpoints`` folder beside the project file (or in the studio's home for an unsaved one)."""
        project = self.window.project
        run = getattr(getattr(self.window, "bridge", None), "run", None)
        if run is not None and self.actions.run_project is project:
            folder = getattr(run, "checkpoint_dir", None) or getattr(run, "folder", None)
            if folder is not None:
                return Path(folder)
        if project is not None and project.path:
            from engine.runs import list_runs

            runs = [r.path / "checkpoints" for r in list_runs(project.path)]
            made = [folder for folder in runs if folder.is_dir()]
            return made[-1] if made else project.path.parent / "checkpoints"
        return recovery_dir().parent / "checkpoints"

    def _default_checkpoint_path(self) -> str:
        """``<run>/checkpoints/digits-it{iteration:06d}.h5``: named after the project and the iteration,
        as ``sigma train`` and the run's own saver name theirs (:func:`engine.checkpoint.checkpoint_name`)."""
        from engine.checkpoint import checkpoint_name

        project = self.window.project
        name = checkpoint_name(project) if project is not None else "untitled-it{iteration:06d}.h5"
        return str(self.checkpoint_folder() / name)  # a template: filled in with the saved iteration

    def save_checkpoint(self, path=None) -> bool:
        """Training > Save checkpoint now: write the trainer's state in the background.

        During a run the state is taken at the next iteration boundary, so a save never fails for
        timing. Returns False (with a message) when there is nothing to save or a save is under way.
        """
        bridge = getattr(self.window, "bridge", None)
        if getattr(bridge, "watching", None) is not None:  # a run trained elsewhere writes its own
            return bridge.checkpoint_now()
        trainer = getattr(bridge, "trainer", None)
        if trainer is None:
            self.actions.message(
                "No training to save: start a run first (a checkpoint holds a trainer's state).", "info"
            )
            return False
        if self.save_job is not None:
            self.actions.message("A checkpoint is already being written.", "info")
            return False
        if path is not None:
            self._start_save(trainer, os.fspath(path))
        else:
            self._start_save(trainer, self._default_checkpoint_path(), template=True)
        return True

    def _start_save(self, trainer, target: str, template: bool = False) -> None:
        job = _SaveJob(trainer, target, template)
        job.setAutoDelete(False)
        job.signals.sigDone.connect(self._on_saved)
        job.signals.sigFailed.connect(self._on_save_failed)
        self.save_job = job
        QThreadPool.globalInstance().start(job)

    def _after_save(self) -> None:
        self.save_job = None

    def _on_saved(self, path: str, summary: dict) -> None:
        project = self.window.project
        if project is not None:
            project.last_checkpoint = path
        self.actions.message(
            f"Checkpoint saved: {path} (epoch {summary.get('epoch')}, iteration {summary.get('iteration')})",
            "info",
        )
        self._after_save()
        self.actions.sigCheckpointSaved.emit(path)

    def _on_save_failed(self, text: str) -> None:
        self.actions.message(text, "error")
        self._after_save()

    def restore_checkpoint(self, path=None) -> bool:
        """Training > Restore checkpoint…: read it in the background (``sigCheckpointRead(path, ok)``
        follows), show what it holds, refuse one that does not fit the project or cannot be read (one
        message; nothing changes), and on confirmation resume training from it exactly.

        Returns whether the read started."""
        if self.actions.busy():
            return False
        if path is None:
            dialog = self.actions.files.file_dialog(
                "Restore a checkpoint", QFileDialog.AcceptMode.AcceptOpen, self.restore_checkpoint
            )
            dialog.setNameFilter("Checkpoints (*.h5 *.hdf5);;All files (*)")
            if self.checkpoint_folder().is_dir():  # open where the checkpoints are written
                dialog.setDirectory(str(self.checkpoint_folder()))
            return False
        path = os.fspath(path)
        if self._read_job is not None:
            self.actions.message("A checkpoint is already being read.", "info")
            return False
        job = _ReadJob(path)
        job.setAutoDelete(False)  # kept (with its signals) until its answer arrives
        job.signals.sigRead.connect(self._on_checkpoint_read)
        job.signals.sigFailed.connect(self._on_checkpoint_unreadable)
        self._read_job = job
        QThreadPool.globalInstance().start(job)
        return True

    def _on_checkpoint_unreadable(self, path: str, text: str) -> None:
        self._read_job = None
        self.actions.message(text, "error")
        self.actions.sigCheckpointRead.emit(path, False)

    def _on_checkpoint_read(self, path: str, summary: dict) -> None:
        self._read_job = None
        owner = checkpoint_owner(path)
        current = self.window.project
        if owner is not None and (current is None or not _same_file(owner, current.path)):
            self._restore_other_project(path, summary, owner)
            return
        if current is None:
            self.actions.message(
                "Open the project this checkpoint belongs to first: the file does not say which it is.",
                "info",
            )
            self.actions.sigCheckpointRead.emit(path, False)
            return
        difference = network_difference(summary["network_spec"], current.network)
        if difference:
            self.actions.message(
                f"This checkpoint does not fit the project, so nothing was changed: {difference}.", "error"
            )
            self.actions.sigCheckpointRead.emit(path, False)
            return
        self.actions.ask(
            "Restore checkpoint",
            describe_checkpoint(summary) + "\n\nResume training from this checkpoint?",
            {
                "Resume training": QMessageBox.ButtonRole.AcceptRole,
                "Cancel": QMessageBox.ButtonRole.RejectRole,
            },
            lambda label: self.resume_from(path) if label == "Resume training" else None,
        )
        self.actions.sigCheckpointRead.emit(path, True)

    def _restore_other_project(self, path: str, summary: dict, owner: Path) -> None:
        """A checkpoint of another project: restoring it opens that project in place of the open one
        (Save / Discard / Cancel first when the open one has unsaved changes), then resumes from it."""
        from engine.project import Project, ProjectError

        try:
            other = Project.load(owner)
        except (ProjectError, OSError) as exc:
            self.actions.message(
                f"This checkpoint belongs to the project {owner}, which cannot be opened: {exc}", "error"
            )
            self.actions.sigCheckpointRead.emit(path, False)
            return
        difference = network_difference(summary["network_spec"], other.network)
        if difference:
            self.actions.message(
                f"This checkpoint does not fit its project {owner.name} any more, so nothing was changed: "
                f"{difference}.",
                "error",
            )
            self.actions.sigCheckpointRead.emit(path, False)
            return
        current = self.window.project
        here = _project_label(current)
        if current is None:
            what = f"Restoring it opens {owner.name} and resumes training from the checkpoint."
        else:
            what = (
                f"Restoring it closes {here}, opens {owner.name} in its place and resumes training "
                "from the checkpoint."
            )
        text = (
            describe_checkpoint(summary)
            + f"\n\nThis checkpoint belongs to the project {owner.name} (in {owner.parent}), "
            + ("not to the open project " + here + ". " if current is not None else "")
            + what
        )

        def restore():
            self.actions.files.adopt(other)
            self.actions.files.remember_recent(owner)
            self.actions.message(f"Opened {owner} (the checkpoint's project)", "success")
            self.resume_from(path)

        if current is not None and self.actions.dirty:
            buttons = {
                "Save, then restore": QMessageBox.ButtonRole.AcceptRole,
                "Discard changes, then restore": QMessageBox.ButtonRole.DestructiveRole,
                "Cancel": QMessageBox.ButtonRole.RejectRole,
            }
            text += f"\n\n{here} has unsaved changes: save them first, or discard them?"
        else:
            buttons = {
                f"Open {owner.name} and resume": QMessageBox.ButtonRole.AcceptRole,
                "Cancel": QMessageBox.ButtonRole.RejectRole,
            }

        def answered(label):
            if label == "Save, then restore":
                if self.actions.files.save_project():  # a Save As… dialog cancelled restores nothing
                    restore()
            elif label == "Discard changes, then restore":
                self.actions.discard_on_adopt = True  # the autosave goes with the discarded changes
                try:
                    restore()
                finally:
                    self.actions.discard_on_adopt = False
            elif label is not None and label != "Cancel":
                restore()

        self.actions.ask("Restore another project's checkpoint", text, buttons, answered)
        self.actions.sigCheckpointRead.emit(path, True)

    def resume_from(self, path: str) -> bool:
        """Start training the project from ``path`` (restored on the run's thread before ``fit``)."""
        bridge = self.window.bridge
        project = self.window.project
        project.last_checkpoint = path
        if not bridge.start(project, label=f"resumed from {Path(path).name}", resume_from=path):
            self.actions.message("A run is still busy; stop it first.", "info")
            return False
        self.actions.message(f"Resuming from {path}", "info")
        return True


def _same_file(a, b) -> bool:
    if b is None:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def _project_label(project) -> str:
    if project is None:
        return "no project"
    return Path(project.path).name if project.path else f"'{project.name}' (not saved yet)"
