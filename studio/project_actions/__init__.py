"""Projects and checkpoints from the menus: File > New, Open…, Open recent, Save, Save As…, Import data…,
Export network to ONNX…; Training > Save checkpoint now, Restore checkpoint…, Predict on files…; autosave
with crash recovery.

``install(window)`` adds the actions to a :class:`~studio.main_window.MainWindow` (anything with
``project``, ``set_project``, ``sigProjectChanged``, ``bridge`` and ``menu(name)``) and returns the
:class:`ProjectActions` object (also kept as ``window.project_actions``).

Questions (discard changes? recover? restore this checkpoint?) are non-modal ``QMessageBox`` opened with
``open()``: the event loop never blocks, and tests find them as :attr:`ProjectActions.question`.

:class:`ProjectActions` is what the commands share (the window, messages and questions, whether the
project has unsaved changes, the menus) and the one place the window and tests call. Each command is a
small object of its own, one module each, holding its own state and reaching the others through the
shared object: ``files`` (:mod:`.files`, the File menu), ``recovery`` (:mod:`.recovery`, autosave and
crash recovery), ``checkpoints`` (:mod:`.checkpoints`, save, restore, exact resume), ``exports``
(:mod:`.exports`, ONNX) and ``predictions`` (:mod:`.predictions`, predict on files); the last two run
their work through ``networks`` (:mod:`.trained`: which trained network, taken off the GUI thread).
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox

from .checkpoints import CheckpointCommands, describe_checkpoint, network_difference
from .exports import ExportCommands
from .files import FileCommands
from .predictions import PredictionCommands
from .recovery import AutosaveRecovery, recovery_dir
from .trained import NetworkJobs

__all__ = [
    "install",
    "ProjectActions",
    "recovery_dir",
    "AUTOSAVE_INTERVAL_MS",
    "describe_checkpoint",
    "network_difference",
]

AUTOSAVE_INTERVAL_MS = 60_000


def install(window) -> ProjectActions:
    """Add project and checkpoint actions to ``window``'s menus; returns the actions object."""
    actions = ProjectActions(window)
    window.project_actions = actions
    return actions


class ProjectActions(QObject):
    """The project and checkpoint commands of one main window, and what they share.

    Attributes
    ----------
    files, recovery, checkpoints, networks, exports, predictions
        The command objects (see the module docstring).
    question : QMessageBox or None
        The open question, if any (answer it with :meth:`answer`).
    messages : list of (level, text)
        Every message shown, oldest first.
    saved_json, autosaved_json : str
        The project as last saved / autosaved (``dirty`` compares the project with ``saved_json``).

    Signals
    -------
    sigMessage(str, str)
        Level and text of every message (also shown in the window's banner).
    sigCheckpointSaved(str)
        Path of a checkpoint written from the menu.
    sigExported(str), sigExportFailed(str)
        Path of an ONNX file written; or the message of an export that failed.
    sigPredicted(object), sigPredictFailed(str)
        A :class:`~.predictions.PredictionResult` shown in the prediction dialog; or why none could be.
    """

    sigMessage = Signal(str, str)
    sigCheckpointSaved = Signal(str)
    sigCheckpointRead = Signal(str, bool)  # path, whether it can be restored (a question is shown)
    sigExported = Signal(str)
    sigExportFailed = Signal(str)
    sigPredicted = Signal(object)
    sigPredictFailed = Signal(str)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.question: QMessageBox | None = None
        self.question_dialog = None  # the last file dialog opened (Save As… answered to a close)
        self.messages: list[tuple[str, str]] = []
        self.saved_json = self.json_of(window.project)
        self.autosaved_json = self.saved_json
        self.discard_on_adopt = False  # the user chose "Discard changes": drop the autosave on replace
        self.close_after_save = False  # "Save" answered to a close: close once the save is written
        self.close_answered = False  # the user answered the close question: close without asking
        self.run_project = None  # the project object the bridge's current (or last) run was started for
        self.autosave_path = recovery_dir() / f"autosave-{os.getpid()}-{id(self):x}.json"
        # The commands; QObjects parented here, so results queued from pool threads land on this thread.
        self.files = FileCommands(self)
        self.recovery = AutosaveRecovery(self)
        self.checkpoints = CheckpointCommands(self)
        self.networks = NetworkJobs(self)
        self.exports = ExportCommands(self)
        self.predictions = PredictionCommands(self)
        self._build_menus()
        window.sigProjectChanged.connect(self._on_project_changed)
        bridge = getattr(window, "bridge", None)
        if bridge is not None:
            bridge.sigStateChanged.connect(self._on_run_state)
            bridge.sigRunStarted.connect(self._on_run_started)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setObjectName("autosave")
        self.autosave_timer.setInterval(AUTOSAVE_INTERVAL_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        # The window title's unsaved mark: panels write into the project without change events, so
        # the project is compared with its saved form a few times a second (a few kB of JSON).
        self.modified_timer = QTimer(self)
        self.modified_timer.setObjectName("modified-mark")
        self.modified_timer.setInterval(400)
        self.modified_timer.timeout.connect(self.refresh_modified)
        self.modified_timer.start()
        window.installEventFilter(self.recovery)
        self.recovery.offer_recovery()

    # ---------------------------------------------------------------- the commands the window calls
    def new_project(self) -> None:
        self.files.new_project()

    def open_project(self, path=None) -> None:
        self.files.open_project(path)

    def save_project(self) -> bool:
        return self.files.save_project()

    def save_project_as(self, path=None) -> bool:
        return self.files.save_project_as(path)

    def import_data(self) -> None:
        self.files.import_data()

    def recent_projects(self) -> list[str]:
        return self.files.recent_projects()

    def autosave(self, closing: bool = False) -> bool:
        return self.recovery.autosave(closing)

    def save_checkpoint(self, path=None) -> bool:
        return self.checkpoints.save_checkpoint(path)

    def restore_checkpoint(self, path=None) -> bool:
        return self.checkpoints.restore_checkpoint(path)

    def export_onnx(self, path=None, probabilities: bool | None = None, check: bool | None = None) -> bool:
        return self.exports.export_onnx(path, probabilities, check)

    def predict_on_files(self, files=None) -> bool:
        return self.predictions.predict_on_files(files)

    @property
    def predict_dialog(self):
        """The prediction dialog, once Predict on files… has opened it."""
        return self.predictions.dialog

    @property
    def export_dialog(self):
        """The export options dialog, once Export network to ONNX… has opened it."""
        return self.exports.dialog

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
        self.recent_menu.aboutToShow.connect(self.files.fill_recent)
        self.save_action = self._action(file_menu, "&Save project", std.Save, self.save_project, first)
        self.save_as_action = self._action(
            file_menu, "Save project &as…", std.SaveAs, self.save_project_as, first
        )
        self.import_action = self._action(file_menu, "&Import data…", "Ctrl+I", self.import_data, first)
        self.export_action = self._action(
            file_menu, "&Export network to ONNX…", "Ctrl+E", self.export_onnx, first
        )
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
        training.addSeparator()
        self.predict_action = self._action(training, "Pre&dict on files…", "Ctrl+P", self.predict_on_files)
        self.files.fill_recent()
        self.update_checkpoint_action()

    def _on_run_started(self, _info) -> None:
        self.run_project = self.window.project
        self.update_checkpoint_action()

    def _on_run_state(self, _state: str) -> None:
        self.update_checkpoint_action()

    def update_checkpoint_action(self) -> None:
        """Save checkpoint now only when a run of the project on screen exists."""
        bridge = getattr(self.window, "bridge", None)
        ours = self.run_project is not None and self.run_project is self.window.project
        watched = getattr(bridge, "watching", None) is not None  # its run writes the checkpoint itself
        self.checkpoint_action.setEnabled(
            watched or (ours and bridge is not None and (bridge.busy or bridge.trainer is not None))
        )
        self.checkpoint_action.setToolTip(
            "The watched run writes a checkpoint into its checkpoints folder at its next iteration."
            if watched
            else "Write the run's state to a checkpoint file now."
            if self.checkpoint_action.isEnabled()
            else "Start a run of this project first: a checkpoint holds a run's state."
        )

    # ---------------------------------------------------------------- messages and questions
    def message(self, text: str, level: str = "info") -> None:
        """Show ``text`` in the window's banner (never a blocking dialog)."""
        self.messages.append((level, text))
        banner = getattr(self.window, "banner", None)
        if banner is not None:
            banner.show_message(text, level)
        self.sigMessage.emit(level, text)

    def ask(self, title: str, text: str, buttons: dict, on_answer, icon=None) -> QMessageBox:
        """A non-modal question; ``buttons`` maps labels to roles; ``on_answer(label)`` gets the choice."""
        box = QMessageBox(
            icon or QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, self.window
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
    def json_of(project) -> str:
        """The project as its file holds it ("" for none): what "unsaved changes" compares."""
        return project.to_json() if project is not None else ""

    @property
    def dirty(self) -> bool:
        """Whether the project changed since it was opened or saved."""
        return self.json_of(self.window.project) != self.saved_json

    def _on_project_changed(self, project) -> None:
        # A project just opened (from a file, an example or a recovery) has nothing unsaved yet.
        self.saved_json = self.autosaved_json = self.json_of(project)
        self.refresh_modified()
        self.update_checkpoint_action()

    def refresh_modified(self) -> None:
        """Mark the window title (``[*]``) when the project has unsaved changes."""
        self.window.setWindowModified(self.window.project is not None and self.dirty)

    def replace_project(self, make, what: str = "") -> None:
        """Open the project ``make()`` returns, after asking about unsaved changes (refused while a run
        is busy). ``what`` names it in the message ("Opened the example …")."""
        if self.busy():
            return

        def adopt():
            self.files.adopt(make())
            if what:
                self.message(f"Opened {what}", "success")

        self.then_if_discarded(adopt)

    def busy(self) -> bool:
        """Whether a run is busy (then says to stop it first): projects are not replaced meanwhile."""
        bridge = getattr(self.window, "bridge", None)
        if bridge is not None and bridge.busy:
            if getattr(bridge, "watching", None) is not None:  # Training > Stop would stop that run
                self.message("Stop watching first (File > Stop watching); the run goes on.", "info")
            else:
                self.message("Stop the current run first (Training > Stop).", "info")
            return True
        return False

    def then_if_discarded(self, then) -> None:
        """Run ``then`` now, or after the user agreed to lose unsaved changes."""
        if not self.dirty:
            then()
            return

        def answered(label):
            if label == "Save":
                if self.files.save_project():
                    then()
            elif label == "Discard changes":
                # The autosave goes once the project is really replaced (an open that fails keeps it).
                self.discard_on_adopt = True
                then()
                self.discard_on_adopt = False

        name = self.window.project.name if self.window.project is not None else "the project"
        self.ask(
            "Unsaved changes",
            f"Save the changes to {name}?",
            {
                "Save": QMessageBox.ButtonRole.AcceptRole,
                "Discard changes": QMessageBox.ButtonRole.DestructiveRole,
                "Cancel": QMessageBox.ButtonRole.RejectRole,
            },
            answered,
        )
