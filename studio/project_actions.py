"""Projects and checkpoints from the menus: File > New, Open…, Open recent, Save, Save As…, Import data…;
Training > Save checkpoint now, Restore checkpoint…; autosave with crash recovery.

``install(window)`` adds the actions to a :class:`~studio.main_window.MainWindow` (anything with
``project``, ``set_project``, ``sigProjectChanged``, ``bridge`` and ``menu(name)``) and returns the
:class:`ProjectActions` object (also kept as ``window.project_actions``).

Questions (discard changes? recover? restore this checkpoint?) are non-modal ``QMessageBox`` opened with
``open()``: the event loop never blocks, and tests find them as :attr:`ProjectActions.question`.

Autosave writes ``autosave-<pid>.json`` in :func:`recovery_dir` whenever the project changed, on a
timer; a clean close deletes it. A file left by a process that is no longer running is what a crash
leaves behind, and the next start offers to recover it.
"""

from __future__ import annotations

import copy
import glob
import json
import os
import threading
import time
from pathlib import Path

import psutil
from PySide6.QtCore import QEvent, QObject, QRunnable, QSettings, QStandardPaths, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from engine.project import Project, ProjectError

__all__ = ["install", "ProjectActions", "recovery_dir", "AUTOSAVE_INTERVAL_MS"]

AUTOSAVE_INTERVAL_MS = 60_000
_MAX_RECENT = 8
_FILTER = "Sigma projects (*.sigma.json *.json);;All files (*)"
_AUTOSAVE_FORMAT = "sigma.autosave/1"


def recovery_dir() -> Path:
    """Where autosaves go: ``$SIGMA_STUDIO_HOME/recovery`` if set (tests), else the app data folder."""
    home = os.environ.get("SIGMA_STUDIO_HOME")
    base = (
        Path(home)
        if home
        else Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    )
    return base / "recovery"


def install(window) -> ProjectActions:
    """Add project and checkpoint actions to ``window``'s menus; returns the actions object."""
    actions = ProjectActions(window)
    window.project_actions = actions
    return actions


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


class _ResumingBuild:
    """Wraps the bridge's ``build_run``: a project copy marked with a checkpoint is restored before fit."""

    def __init__(self, build_run):
        self.build_run = build_run

    def __call__(self, project):
        run = self.build_run(project)
        path = getattr(project, "_resume_checkpoint", None)
        if path:
            from engine import checkpoint

            checkpoint.restore(run.trainer, path)
        return run


class ProjectActions(QObject):
    """The project and checkpoint commands of one main window.

    Signals
    -------
    sigMessage(str, str)
        Level and text of every message (also shown in the window's banner).
    sigCheckpointSaved(str)
        Path of a checkpoint written from the menu.
    """

    sigMessage = Signal(str, str)
    sigCheckpointSaved = Signal(str)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.question: QMessageBox | None = None
        self.messages: list[tuple[str, str]] = []
        self._saved_json = self._json(window.project)
        self._autosaved_json = self._saved_json
        self._save_job: _SaveJob | None = None
        self._resume_after_save = False
        self._pending_save_path: str | None = None
        self.autosave_path = recovery_dir() / f"autosave-{os.getpid()}-{id(self):x}.json"
        self._build_menus()
        window.sigProjectChanged.connect(self._on_project_changed)
        bridge = getattr(window, "bridge", None)
        if bridge is not None and hasattr(bridge, "_build_run"):
            # The bridge builds runs through this callable; wrapping it lets a restore happen before fit.
            bridge._build_run = _ResumingBuild(bridge._build_run)
            bridge.sigStateChanged.connect(self._on_run_state)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setObjectName("autosave")
        self.autosave_timer.setInterval(AUTOSAVE_INTERVAL_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        window.installEventFilter(self)
        self.offer_recovery()

    # ---------------------------------------------------------------- menus
    def _action(self, menu, text, shortcut, slot, before=None) -> QAction:
        action = QAction(text, self.window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        if before is not None:
            menu.insertAction(before, action)
        else:
            menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        file_menu = self.window.menu("File")
        first = file_menu.actions()[0] if file_menu.actions() else None
        std = QKeySequence.StandardKey
        self.new_action = self._action(file_menu, "&New project", std.New, self.new_project, first)
        self.open_action = self._action(file_menu, "&Open project…", std.Open, self.open_project, first)
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.insertMenu(first, self.recent_menu) if first is not None else None
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.save_action = self._action(file_menu, "&Save project", std.Save, self.save_project, first)
        self.save_as_action = self._action(
            file_menu, "Save project &as…", std.SaveAs, self.save_project_as, first
        )
        self.import_action = self._action(file_menu, "&Import data…", "Ctrl+I", self.import_data, first)
        if first is not None:
            file_menu.insertSeparator(first)
        training = self.window.menu("Training")
        training.addSeparator()
        self.checkpoint_action = self._action(
            training, "Save &checkpoint now", "Ctrl+K", self.save_checkpoint
        )
        self.restore_action = self._action(
            training, "Restore c&heckpoint…", "Ctrl+Shift+K", self.restore_checkpoint
        )
        self._fill_recent()

    # ---------------------------------------------------------------- messages and questions
    def message(self, text: str, level: str = "info") -> None:
        """Show ``text`` in the window's banner (never a blocking dialog)."""
        self.messages.append((level, text))
        banner = getattr(self.window, "banner", None)
        if banner is not None:
            banner.show_message(text, level)
        self.sigMessage.emit(level, text)

    def _ask(self, title: str, text: str, buttons: dict, on_answer) -> QMessageBox:
        """A non-modal question; ``buttons`` maps labels to roles; ``on_answer(label)`` gets the choice."""
        box = QMessageBox(
            QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, self.window
        )
        made = {box.addButton(label, role): label for label, role in buttons.items()}

        def finished(_result):
            label = made.get(box.clickedButton())
            if self.question is box:
                self.question = None
            on_answer(label)
            box.deleteLater()

        box.finished.connect(finished)
        self.question = box
        box.open()
        return box

    def answer(self, label: str) -> None:
        """Click the button called ``label`` of the open question (for keyboard users and tests)."""
        box = self.question
        if box is None:
            raise RuntimeError("no question is open")
        for button in box.buttons():
            if button.text() == label:
                button.click()
                return
        raise KeyError(f"no button {label!r}; buttons are {[b.text() for b in box.buttons()]}")

    # ---------------------------------------------------------------- dirty state
    @staticmethod
    def _json(project) -> str:
        return project.to_json() if project is not None else ""

    @property
    def dirty(self) -> bool:
        """Whether the project changed since it was opened or saved."""
        return self._json(self.window.project) != self._saved_json

    def _on_project_changed(self, project) -> None:
        # A project just opened (from a file, an example or a recovery) has nothing unsaved yet.
        self._saved_json = self._autosaved_json = self._json(project)

    def _busy(self) -> bool:
        bridge = getattr(self.window, "bridge", None)
        if bridge is not None and bridge.busy:
            self.message("Stop the current run first (Training > Stop).", "info")
            return True
        return False

    def _then_if_discarded(self, then) -> None:
        """Run ``then`` now, or after the user agreed to lose unsaved changes."""
        if not self.dirty:
            then()
            return

        def answered(label):
            if label == "Save":
                if self.save_project():
                    then()
            elif label == "Discard changes":
                then()

        name = self.window.project.name if self.window.project is not None else "the project"
        self._ask(
            "Unsaved changes",
            f"Save the changes to {name}?",
            {
                "Save": QMessageBox.ButtonRole.AcceptRole,
                "Discard changes": QMessageBox.ButtonRole.DestructiveRole,
                "Cancel": QMessageBox.ButtonRole.RejectRole,
            },
            answered,
        )

    # ---------------------------------------------------------------- File menu
    def new_project(self) -> None:
        """Replace the project by an empty one (after asking about unsaved changes)."""
        if not self._busy():
            self._then_if_discarded(lambda: self._adopt(Project(name="Untitled")))

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
        self.message(f"Opened {path}", "info")
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
        self._saved_json = self._json(project)
        self._remember_recent(path)
        self.message(f"Saved {path}", "info")
        return True

    def import_data(self) -> None:
        """File > Import data…: the dataset panel's file dialog."""
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

    # ---------------------------------------------------------------- autosave and recovery
    def autosave(self) -> bool:
        """Write the project to this session's recovery file if it changed since the last autosave."""
        project = self.window.project
        current = self._json(project)
        if project is None or current == self._autosaved_json:
            return False
        doc = {
            "format": _AUTOSAVE_FORMAT,
            "project_path": str(project.path) if project.path else None,
            "saved_at": time.time(),
            "project": project.to_dict(),
        }
        self.autosave_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.autosave_path.with_name(self.autosave_path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(doc), encoding="utf-8")
            os.replace(tmp, self.autosave_path)
        except OSError as exc:
            self.message(f"Autosave failed ({exc}); save your project with File > Save.", "error")
            return False
        self._autosaved_json = current
        return True

    def _discard_autosave(self) -> None:
        try:
            self.autosave_path.unlink()
        except FileNotFoundError:
            pass

    @staticmethod
    def _read_autosave(path: Path) -> dict | None:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("format") != _AUTOSAVE_FORMAT:
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
        found = [p for p in found if p != self.autosave_path and not self._owner_alive(p)]
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
            self._ask(
                "Recover unsaved work?",
                f'Sigma Studio did not close properly last time. Recover "{name}" '
                f"as it was autosaved at {when}?",
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
            self.message(f"The autosave {path} cannot be read: {exc}", "error")
            return False
        self.window.set_project(project)
        self._saved_json = ""  # recovered work is unsaved until the user saves it
        path.unlink(missing_ok=True)
        self.message(f'Recovered "{project.name}" from the autosave; save it with File > Save.', "info")
        return True

    def _offer_autosave_for(self, path: Path, reason: str) -> None:
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
            self.message(f"Could not open the project: {reason}. No autosave is available.", "error")
            return
        auto_path, doc = candidates[0]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(doc.get("saved_at", 0)))
        which = "of this project" if same else f'of "{doc["project"].get("name", "?")}"'
        self.message(f"Could not open the project: {reason}", "error")
        self._ask(
            "Project file damaged",
            f"Could not open the project: {reason}\n\nOpen the last autosave {which} (from {when}) instead?",
            {"Open autosave": QMessageBox.ButtonRole.AcceptRole, "Cancel": QMessageBox.ButtonRole.RejectRole},
            lambda label: self._recover_copy(auto_path, doc) if label == "Open autosave" else None,
        )

    def _recover_copy(self, path: Path, doc: dict) -> None:
        try:
            project = Project.from_dict(doc["project"], doc.get("project_path"))
        except (ProjectError, KeyError) as exc:
            self.message(f"The autosave {path} cannot be read either: {exc}", "error")
            return
        self.window.set_project(project)
        self._saved_json = ""
        self.message(f'Opened the autosave of "{project.name}"; save it to replace the damaged file.', "info")

    def eventFilter(self, obj, event) -> bool:
        if obj is self.window and event.type() == QEvent.Type.Close:
            # A clean close: nothing to recover next time. The timer stops with the window.
            self.autosave_timer.stop()
            self._discard_autosave()
            if self._save_job is not None:
                self._save_job.done.wait(30.0)
        return False

    # ---------------------------------------------------------------- checkpoints
    def _default_checkpoint_path(self, trainer) -> str:
        project = self.window.project
        folder = (
            (project.path.parent / "checkpoints")
            if project is not None and project.path
            else (recovery_dir().parent / "checkpoints")
        )
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
        if not isinstance(getattr(bridge, "_build_run", None), _ResumingBuild):
            self.message("This window's run controller cannot resume from checkpoints.", "error")
            return False
        project = self.window.project
        project.last_checkpoint = path
        run_project = copy.deepcopy(project)
        run_project._resume_checkpoint = path
        if not bridge.start(run_project, label=f"resumed from {Path(path).name}"):
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
