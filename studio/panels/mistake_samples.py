"""The samples behind the monitor's mistakes: the samples browser opened from a confusion cell, a
class or the most confidently wrong samples, the sample edits it writes into the project, and "Continue
from here", which trains on from the run on screen with those edits."""

from __future__ import annotations

from PySide6 import QtCore

__all__ = ["MistakeSamples"]


class MistakeSamples(QtCore.QObject):
    """What the monitor's mistakes lead to (the monitor's ``open_cell``, ``open_class``, ``open_worst``,
    ``continue_from_here`` and ``set_project`` are these).

    Parameters
    ----------
    bridge : studio.bridge.Bridge
    log : studio.widgets.log_view.LogView
        Where the reasons nothing opened or started are said.
    mistakes : studio.widgets.mistakes_view.MistakesView
        Shown the validation predictions; its worst rows are what ``open_worst`` opens.
    widget : QWidget
        The browser's parent (the monitor).

    Attributes
    ----------
    project : Project or None
        The open project: sample edits go into it.
    validation_predictions : ValidationPredictions or None
        The newest of the current run.
    browser : SamplesBrowser or None
        The one open browser.

    Signals
    -------
    sigContinuing(str)
        "Continue from here" is starting a run from the run folder named so (``run-0003``).
    """

    sigContinuing = QtCore.Signal(str)

    def __init__(self, bridge, log, mistakes, widget):
        super().__init__(widget)
        self.bridge, self.log, self.mistakes, self._widget = bridge, log, mistakes, widget
        self.project = None
        self.validation_predictions = None
        self.browser = None

    def set_project(self, project) -> None:
        """The project sample edits are written to (the window's open project)."""
        self.project = project

    def on_validation_predictions(self, events: list) -> None:
        """The newest validation predictions of the run (``bridge.sigValidationPredictions``)."""
        e = self.validation_predictions = events[-1]
        run = self.bridge.run
        if run is not None and getattr(run, "validation_data", None) is not None:
            self.mistakes.set_predictions(
                run.validation_data["inputs"], e.probabilities, e.targets, e.classes
            )

    def _browser(self):
        """A samples browser on the newest validation predictions, or None (with a log line) when none."""
        run, event = self.bridge.run, self.validation_predictions
        if run is None or event is None or getattr(run, "validation_data", None) is None:
            self.log.add_line("info", "The samples appear after a classifier's first validation pass.")
            return None
        from engine.data.edits import DatasetEdits, EditError  # only when browsing
        from studio.widgets.samples_browser import BrowserData, SamplesBrowser

        try:
            edits = DatasetEdits.from_list(
                (self.project.dataset or {}).get("edits") if self.project else None
            )
        except EditError as exc:
            self.log.add_line("error", f"the project's sample edits cannot be read: {exc}")
            return None
        if self.browser is not None:
            self.browser.close()
            self.browser.deleteLater()
        self.browser = SamplesBrowser(BrowserData.from_run(run, event), edits, self._widget)
        self.browser.sigEditsChanged.connect(self._edits_changed)
        self.browser.sigContinueClicked.connect(self.continue_from_here)
        self.browser.show()
        return self.browser

    def open_cell(self, true: int, predicted: int):
        """Open the samples of confusion cell ``[true, predicted]``; returns the browser (or None)."""
        browser = self._browser()
        if browser is not None:
            browser.show_cell(true, predicted)
        return browser

    def open_class(self, true: int):
        """Open the samples of class ``true``; returns the browser (or None)."""
        browser = self._browser()
        if browser is not None:
            browser.show_class(true)
        return browser

    def open_worst(self):
        """Open the most confidently wrong samples; returns the browser (or None)."""
        browser = self._browser()
        if browser is not None:
            browser.show_rows(self.mistakes.worst_rows, "Most confidently wrong samples")
        return browser

    def _edits_changed(self, edits: list) -> None:
        if self.project is None:
            return
        dataset = dict(self.project.dataset or {})
        if edits:
            dataset["edits"] = edits
        else:
            dataset.pop("edits", None)
        self.project.dataset = dataset
        self.log.add_line("info", f"sample edits: {len(edits)} (the next run trains on the edited data)")

    def continue_from_here(self) -> bool:
        """Train on from the latest checkpoint of the run on screen with the project as it is now
        (its sample edits, its settings), as a new run: a branch of that run, drawn from its iteration
        beside its line. Returns whether the run started (else a log line says why)."""
        from engine.runs.continuation import continued_project, latest_checkpoint

        run = self.bridge.run
        folder = getattr(run, "folder", None)
        if self.bridge.busy:
            self.log.add_line(
                "info", "Stop the run first (Training > Stop): then continue from its checkpoint."
            )
            return False
        if self.project is None or run is None:
            self.log.add_line("info", "Train a run first: Continue from here trains on from its checkpoint.")
            return False
        if folder is None:
            self.log.add_line(
                "info", "Save the project first: runs (and their checkpoints) are recorded then."
            )
            return False
        if getattr(run.project, "path", None) != self.project.path:  # another project opened since
            self.log.add_line(
                "info", f"{folder.name} is a run of another project: open that project to continue it."
            )
            return False
        checkpoint = latest_checkpoint(folder)
        if checkpoint is None:
            self.log.add_line("info", f"{folder.name} wrote no checkpoint to continue from.")
            return False
        project, total = continued_project(self.project, folder)
        if total is not None:
            self.log.add_line(
                "info", f"{folder.name} reached the project's epochs: continuing to epoch {total}"
            )
        self.sigContinuing.emit(folder.name)  # the runs panel checks the parent and its branch
        return bool(self.bridge.start(project, label=f"from {folder.name}", resume_from=checkpoint))
