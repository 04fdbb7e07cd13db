"""The Runs panel's sweep actions: start one from the dialog, resume an unfinished one, stop.

A mixin of :class:`studio.panels.runs.RunsPanel` (kept apart so each file stays readable); it uses
the panel's ``project``, ``sweeps`` (a :class:`studio.sweep_runner.SweepRunner`), ``actions``,
``where``, ``reload`` and ``sigMessage``.
"""

from __future__ import annotations

from PySide6 import QtWidgets

from studio.panels.sweep_dialog import SweepDialog

__all__ = ["SweepActions"]


class SweepActions:
    """Sweep buttons and runner signals of the Runs panel."""

    def new_sweep(self, dialog: SweepDialog | None = None) -> bool:
        """Ask for a sweep's parameters and start it (the project must be saved)."""
        if self.project_path() is None:
            self.sigMessage.emit("Save the project first: its sweeps and runs are kept next to it.")
            return False
        if self.sweeps.busy:
            self.sigMessage.emit("A sweep is running; stop it first.")
            return False
        dialog = dialog or SweepDialog(self.project, self)
        if dialog.sweep_path is None and dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return False
        started = self.sweeps.start(dialog.sweep_path, dialog.trials_at_once)
        self._show_sweep_state()
        return started

    def unfinished_sweep(self):
        """``(sweep file, trials left)`` of the newest sweep with trials left, or None."""
        from engine.runs.sweep import SweepError, list_sweeps, remaining_trials

        path = self.project_path()
        for sweep in reversed(list_sweeps(path) if path is not None else []):
            try:
                left = remaining_trials(sweep)
            except SweepError:
                continue
            if left:
                return sweep, len(left)
        return None

    def resume_sweep(self, parallel: int = 1) -> bool:
        found = self.unfinished_sweep()
        if found is None or self.sweeps.busy:
            return False
        started = self.sweeps.start(found[0], parallel)
        self._show_sweep_state()
        return started

    def stop_sweep(self) -> None:
        self.sweeps.stop()
        self.reload()

    def shutdown(self) -> None:
        """Stop a running sweep (the window is closing); it resumes when the project is opened again."""
        self.poller.stop()
        if self.sweeps.busy:
            self.sweeps.stop()

    def _show_sweep_state(self) -> None:
        found = None if self.sweeps.busy else self.unfinished_sweep()
        self.actions["resume_sweep"].setVisible(found is not None)
        if found is not None:
            self.actions["resume_sweep"].setText(f"Resume {found[0].stem} ({found[1]} left)")
        self.actions["stop_sweep"].setVisible(self.sweeps.busy)
        self.actions["sweep"].setEnabled(not self.sweeps.busy)

    def _trial(self, index: int, state: str) -> None:
        # A starting trial's folder may not be made yet: then its row appears when the trial ends.
        self.reload()
        self.where.setText(f"sweep {getattr(self.sweeps.path, 'stem', '')}: trial {index + 1} {state}")

    def _sweep_finished(self, results) -> None:
        self.reload()
        if isinstance(results, str):
            self.sigMessage.emit(f"The sweep stopped: {results}")
            return
        failed = [index + 1 for index, code in results if code != 0]
        if failed:
            self.sigMessage.emit(
                f"Sweep trial(s) {', '.join(map(str, failed))} failed; see the sweep's logs."
            )
