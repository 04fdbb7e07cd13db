"""The window's side of watching a run folder (issue 21): File > Watch run folder…, Stop watching,
the window title and status bar while watching (Training > Save checkpoint now asks the watched run
for a checkpoint: :mod:`studio.project_actions.checkpoints`).

Entry points that all end in :meth:`WatchActions.watch`: the File menu, a run folder dropped on the
window (:mod:`studio.drop_anywhere`), ``sigma-studio --watch FOLDER`` (:mod:`studio.app`) and the Runs
panel's Watch button on a run that is being written elsewhere. The bridge does the watching
(:meth:`studio.bridge.Bridge.watch`); this object only offers it and shows how it stands.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["WatchActions", "project_of_run"]


def project_of_run(record):
    """The project a watched run trains (from its ``run.json`` settings), or None when they cannot be
    read. Unsaved (no path): saving it asks where, so a project file is never overwritten by surprise.
    A relative data path is resolved against the folder the run's project sits in (``X.runs/run-N``
    lies beside ``X``)."""
    from engine.project import Project, ProjectError

    settings = dict(getattr(record, "settings", None) or {})
    if not settings:
        return None
    home = Path(record.path).parent.parent
    dataset = dict(settings.get("dataset") or {})
    source = dataset.get("source")

    def absolute(value):
        relative = isinstance(value, str) and value and not Path(value).is_absolute()
        return str(home / value) if relative and not value.startswith("sample:") else value

    if isinstance(source, list):
        dataset["source"] = [absolute(s) for s in source]
    elif source is not None:
        dataset["source"] = absolute(source)
    settings["dataset"] = dataset
    try:
        return Project.from_dict(settings)
    except ProjectError:
        return None


def _runs_of(project, folder) -> bool:
    """Whether ``folder`` is one of ``project``'s run folders (``<project file>.runs/run-N``)."""
    from engine.runs import runs_dir

    path = getattr(project, "path", None)
    if path is None:
        return False
    try:
        return runs_dir(path).resolve() == Path(folder).parent.resolve()
    except OSError:
        return False


class WatchActions(QtCore.QObject):
    """Watch commands and displays of a :class:`~studio.main_window.MainWindow`."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.bridge = window.bridge
        self._dialog = None
        file_menu = window.menu("File")
        before = getattr(window, "close_project_action", None)
        self.watch_action = QtGui.QAction("&Watch run folder…", window)
        self.watch_action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+W"))
        self.watch_action.setToolTip(
            "Show a run that trains elsewhere (sigma train, another machine, an MPI job) from its run "
            "folder, live, and steer it: pause, resume, step, stop, checkpoint, learning rate."
        )
        self.watch_action.triggered.connect(lambda _=False: self.choose_folder())
        self.unwatch_action = QtGui.QAction("Stop &watching", window)
        self.unwatch_action.setToolTip("Stop showing the watched run; the run itself goes on.")
        self.unwatch_action.triggered.connect(lambda _=False: self.stop_watching())
        for action in (self.watch_action, self.unwatch_action):
            if before is not None:
                file_menu.insertAction(before, action)
            else:
                file_menu.addAction(action)
        if before is not None:
            file_menu.insertSeparator(before)
        self.status = QtWidgets.QLabel("")
        self.status.setObjectName("watch-status")
        window.statusBar().addPermanentWidget(self.status)
        self.bridge.sigWatchState.connect(self._show_state)
        self.bridge.sigRunStarted.connect(self._run_started)
        window.training.start_checks.append(self._start_refusal)
        runs = getattr(window, "runs", None)
        if runs is not None:
            runs.sigWatch.connect(self.watch)  # the Runs panel's Watch button
        self._show_state(None)

    # ------------------------------------------------------------------ commands
    def watch(self, folder) -> bool:
        """Watch the run folder ``folder``; False (with a message) while a run or another watch is busy."""
        folder = Path(folder)
        bridge = self.bridge
        if bridge.watching is not None and Path(bridge.watching) == folder:
            self.window.banner.show_message(f"Already watching {folder.name}.", "info")
            return False
        if bridge.busy:
            what = "Stop watching" if bridge.watching is not None else "Stop the current run"
            self.window.banner.show_message(f"{what} before watching {folder.name}.", "info")
            return False
        if not bridge.watch(folder):
            return False
        if self.window.project is None:
            self.window._show_start_page(False)  # the monitor, even before the folder is read
        self.window.panel("monitor").raise_()
        return True

    def stop_watching(self) -> bool:
        return self.bridge.unwatch()

    def choose_folder(self) -> QtWidgets.QFileDialog:
        """A folder dialog (non-modal); the chosen folder is watched."""
        dialog = QtWidgets.QFileDialog(self.window, "Watch run folder")
        dialog.setFileMode(QtWidgets.QFileDialog.FileMode.Directory)
        dialog.setOption(QtWidgets.QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(self.watch)
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self._dialog = dialog
        return dialog

    def _start_refusal(self) -> str:
        watching = self.bridge.watching
        if watching is None:
            return ""
        return f"Stop watching {watching.name} (File > Stop watching) to train here."

    # ------------------------------------------------------------------ displays
    def _run_started(self, _info) -> None:
        # Watching with no project open: the run's own settings become the (unsaved) project, so the
        # training panel's live learning rate, the builder's health overlay and the samples fit it.
        record = self.bridge.watch_record
        if record is None:
            return
        project = self.window.project
        if project is None:
            project = project_of_run(record)
            if project is not None:
                self.window.set_project(project)
        elif not _runs_of(project, record.path):
            return  # another project is open: its settings do not steer this run
        if project is not None:
            self.bridge.follow_settings(project.training)
        # What the run itself uses, not the project's setting (an MPI run's ranks are not recorded).
        meta = getattr(record, "meta", None) or {}
        backend, origin = meta.get("backend"), meta.get("origin")
        if backend:
            kernels = ", compiled kernels" if meta.get("kernels") == "compiled" else ""
            text = f"backend: {backend}{kernels}" + (f", from {origin}" if origin else "")
            self.window.status_line.backend.setText(text)
            self.window.status_line.backend.setToolTip(str(meta.get("kernels_note") or ""))

    def _show_state(self, state) -> None:
        watching = state is not None
        self.watch_action.setEnabled(not watching)
        self.unwatch_action.setEnabled(watching)
        if not watching:
            self.status.setText("")
            self.status.setToolTip("")
            line = getattr(self.window, "status_line", None)
            if line is not None:
                line.set_project(self.window.project)  # the project's setting again
        else:
            self.status.setText(f"Watching {state.folder.name}: {state.text()}")
            heard = "never"
            if state.last_heard is not None:
                heard = time.strftime("%H:%M:%S", time.localtime(state.last_heard))
            tip = f"{state.folder}\nlast heard from: {heard}"
            self.status.setToolTip(tip + (f"\n{state.problem}" if state.problem else ""))
        self.window.update_title()

    def title_part(self) -> str:
        """``watching run-0003 (running)`` while watching, else ""."""
        state = self.bridge.watch_state
        return "" if state is None else f"watching {state.folder.name} ({state.text()})"
