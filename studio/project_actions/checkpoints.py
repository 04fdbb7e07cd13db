"""Training > Save checkpoint now and Restore checkpoint… (a mixin of ProjectActions).

Saving pauses a running run, writes on the thread pool (the GUI never waits on the engine) and resumes.
Restoring shows what the checkpoint holds, refuses one whose network differs from the project's (saying
what differs), and resumes training from it exactly: the bridge's run builder is wrapped so the restore
happens on the run's thread, after the run is built and before ``fit``.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from .recovery import recovery_dir

__all__ = ["CheckpointCommands", "describe_checkpoint", "network_difference"]


class _SaveJob(QRunnable):
    """Writes a checkpoint on the pool while the run is paused (or over): the GUI never waits on it."""

    class Signals(QObject):
        sigDone = Signal(str, object)
        sigFailed = Signal(str)

    def __init__(self, trainer, path: str):
        super().__init__()
        self.trainer, self.path = trainer, path
        self.signals = _SaveJob.Signals()
        self.done = threading.Event()

    def run(self) -> None:
        from engine import checkpoint

        try:
            written = checkpoint.save(self.trainer, self.path)
            summary = checkpoint.info(written)
        except Exception as exc:  # a full disk or a bad path becomes a message
            self.signals.sigFailed.emit(f"Could not save the checkpoint {self.path}: {exc}")
        else:
            self.signals.sigDone.emit(written, summary)
        finally:
            self.done.set()


class CheckpointCommands:
    """Save checkpoint now, Restore checkpoint…, resume from a checkpoint."""

    # ---------------------------------------------------------------- checkpoints
    def _checkpoint_folder(self) -> Path:
        """Where this project's checkpoints are written (beside its file, else in the studio's home)."""
        project = self.window.project
        if project is not None and project.path:
            return project.path.parent / "checkpoints"
        return recovery_dir().parent / "checkpoints"

    def _default_checkpoint_path(self, trainer) -> str:
        project = self.window.project
        folder = self._checkpoint_folder()
        stem = project.path.name.split(".")[0] if project is not None and project.path else "untitled"
        return str(folder / f"{stem}-epoch{trainer.epoch}-iter{trainer.iteration}.h5")

    def save_checkpoint(self, path=None) -> bool:
        """Training > Save checkpoint now: pause a running run, write in the background, resume.

        Returns False (with a message) when there is nothing to save or a save is already under way.
        """
        bridge = getattr(self.window, "bridge", None)
        trainer = getattr(bridge, "trainer", None)
        if trainer is None:
            self.message(
                "No training to save: start a run first (a checkpoint holds a trainer's state).", "info"
            )
            return False
        if self._save_job is not None or self._pending_save_path is not None:
            self.message("A checkpoint is already being written.", "info")
            return False
        target = os.fspath(path) if path is not None else self._default_checkpoint_path(trainer)
        if bridge.busy and bridge.state in ("starting", "running"):
            # Only a paused (or finished) trainer is between iterations; pause, then save on "paused".
            self._pending_save_path = target
            self._resume_after_save = True
            bridge.pause()
            return True
        self._start_save(trainer, target)
        return True

    def _on_run_state(self, state: str) -> None:
        self._update_checkpoint_action()
        if state == "paused" and self._pending_save_path is not None:
            target, self._pending_save_path = self._pending_save_path, None
            self._start_save(self.window.bridge.trainer, target)
        elif state in ("stopped", "finished", "error") and self._pending_save_path is not None:
            target, self._pending_save_path = self._pending_save_path, None
            self._resume_after_save = False
            self._start_save(self.window.bridge.trainer, target)

    def _start_save(self, trainer, target: str) -> None:
        job = _SaveJob(trainer, target)
        job.setAutoDelete(False)
        job.signals.sigDone.connect(self._on_saved)
        job.signals.sigFailed.connect(self._on_save_failed)
        self._save_job = job
        QThreadPool.globalInstance().start(job)

    def _after_save(self) -> None:
        self._save_job = None
        if self._resume_after_save:
            self._resume_after_save = False
            self.window.bridge.resume()

    def _on_saved(self, path: str, summary: dict) -> None:
        project = self.window.project
        if project is not None:
            project.last_checkpoint = path
        self.message(
            f"Checkpoint saved: {path} (epoch {summary.get('epoch')}, iteration {summary.get('iteration')})",
            "info",
        )
        self._after_save()
        self.sigCheckpointSaved.emit(path)

    def _on_save_failed(self, text: str) -> None:
        self.message(text, "error")
        self._after_save()

    def restore_checkpoint(self, path=None) -> bool:
        """Training > Restore checkpoint…: show what it holds, refuse one that does not fit the project,
        and on confirmation resume training from it exactly."""
        if self._busy():
            return False
        if path is None:
            dialog = self._file_dialog(
                "Restore a checkpoint", QFileDialog.AcceptMode.AcceptOpen, self.restore_checkpoint
            )
            dialog.setNameFilter("Checkpoints (*.h5 *.hdf5);;All files (*)")
            if self._checkpoint_folder().is_dir():  # open where the checkpoints are written
                dialog.setDirectory(str(self._checkpoint_folder()))
            return False
        from engine import checkpoint

        path = os.fspath(path)
        try:
            summary = checkpoint.info(path)
        except Exception as exc:  # CheckpointError, OSError, a non-HDF5 file
            self.message(f"Cannot read the checkpoint {path}: {exc}", "error")
            return False
        difference = network_difference(summary["network_spec"], self.window.project.network)
        if difference:
            self.message(
                f"This checkpoint does not fit the project, so nothing was changed: {difference}.", "error"
            )
            return False
        self._ask(
            "Restore checkpoint",
            describe_checkpoint(summary) + "\n\nResume training from this checkpoint?",
            {
                "Resume training": QMessageBox.ButtonRole.AcceptRole,
                "Cancel": QMessageBox.ButtonRole.RejectRole,
            },
            lambda label: self.resume_from(path) if label == "Resume training" else None,
        )
        return True

    def resume_from(self, path: str) -> bool:
        """Start training the project from ``path`` (restored on the run's thread before ``fit``)."""
        bridge = self.window.bridge
        project = self.window.project
        project.last_checkpoint = path
        if not bridge.start(project, label=f"resumed from {Path(path).name}", resume_from=path):
            self.message("A run is still busy; stop it first.", "info")
            return False
        self.message(f"Resuming from {path}", "info")
        return True


def describe_checkpoint(summary: dict) -> str:
    """What a checkpoint holds, in a few lines for the confirmation box."""
    created = summary.get("created")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(created)) if created else "unknown time"
    metrics = ", ".join(
        f"{k} {v:.4g}"
        for k, v in (summary.get("last_metrics") or {}).items()
        if isinstance(v, (int, float)) and k not in ("epoch", "iteration")
    )
    lines = [
        f"{Path(summary.get('path', '')).name}, saved {when}",
        f"epoch {summary.get('epoch')}, iteration {summary.get('iteration')}",
        f"{summary.get('layers')} layers, {summary.get('parameters', 0):,} parameters",
        f"optimiser {summary.get('optimiser')} (learning rate {summary.get('learning_rate')}), "
        f"loss: {summary.get('loss')}",
    ]
    if metrics:
        lines.append(f"last epoch: {metrics}")
    return "\n".join(lines)


def _normalised_nodes(spec: dict) -> dict | None:
    """``{name: (layer spec, inputs)}`` with every default filled in (no parameters allocated)."""
    from engine.network import analyse

    analysis = analyse(spec)
    if analysis.errors:
        return None
    return {n: (info.layer.spec(), list(info.inputs)) for n, info in analysis.nodes.items()}


def network_difference(stored: dict, current: dict) -> str:
    """Why a checkpoint's network differs from the project's (``""`` when they are the same network)."""
    a, b = _normalised_nodes(stored), _normalised_nodes(current or {})
    if b is None:
        return "the project's network is not valid (see the network builder)"
    if a is None:
        return "the checkpoint's network spec is not valid"
    parts = [f"layer '{n}' is only in the checkpoint" for n in sorted(a.keys() - b.keys())]
    parts += [f"layer '{n}' is only in the project" for n in sorted(b.keys() - a.keys())]
    for n in sorted(a.keys() & b.keys()):
        (sa, ia), (sb, ib) = a[n], b[n]
        if ia != ib:
            parts.append(f"layer '{n}' reads {ia} in the checkpoint but {ib} in the project")
        changed = sorted(k for k in sa.keys() | sb.keys() if sa.get(k) != sb.get(k))
        parts += [
            f"layer '{n}' {k}: {sa.get(k)!r} in the checkpoint, {sb.get(k)!r} in the project" for k in changed
        ]
    return "; ".join(parts)
