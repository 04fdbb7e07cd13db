"""The validation samples behind a confusion-matrix cell (or a class), with relabel / exclude / check later.

Each row shows the sample (a thumbnail for images, the values of a table row, the text of a text
sample), where it comes from (file and row), its true and predicted class and the probability of the
prediction; rows are sorted by confidence, most confident first. Edits go into the project's
non-destructive overlay (:mod:`engine.data.edits`): they are listed under the table, each can be taken
back, and the next run trains on the edited data. The files on disk are never touched.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from engine.data.edits import DatasetEdits, EditError, SampleEdit, record_origin
from engine.training.mistakes import cell_samples, class_samples
from studio.widgets.image_view import as_display_image
from studio.widgets.sample_grid import _image

__all__ = ["BrowserData", "SamplesBrowser"]

_THUMB = 48
_COLUMNS = ("sample", "from", "true class", "predicted", "probability", "edit")


@dataclasses.dataclass(frozen=True)
class BrowserData:
    """What the browser shows, for N validation samples.

    Attributes
    ----------
    inputs : array (N, ...)
    probabilities : array (N, C)
    targets : array (N,) int
        The true classes as the run saw them.
    records : array (N,) int or None
        Each sample's position in the whole dataset (None: edits cannot be made).
    classes : tuple of str
    origins : tuple of str
        Where each sample comes from ("digits.csv.gz, row 13", "cats/img01.png").
    vocabulary : list of str or None
        For text samples (token indices), the characters.
    iteration, epoch : int
        When the predictions were made.
    """

    inputs: np.ndarray
    probabilities: np.ndarray
    targets: np.ndarray
    records: np.ndarray | None
    classes: tuple
    origins: tuple
    vocabulary: list | None = None
    iteration: int = 0
    epoch: int = 0

    @classmethod
    def from_run(cls, run, event) -> BrowserData:
        """From a run (``engine.run.Run``: its validation data and whole dataset) and the
        :class:`~engine.events.ValidationPredictions` event of that run."""
        validation = run.validation_data
        records = None if event.records is None else np.asarray(event.records)
        whole = getattr(run, "dataset", None)
        if records is not None and whole is not None:
            origins = tuple(record_origin(whole, int(r)) for r in records)
        else:
            origins = tuple(f"validation sample {k}" for k in range(len(event.targets)))
        probabilities = np.asarray(event.probabilities)
        classes = event.classes or tuple(str(k) for k in range(probabilities.shape[1]))
        return cls(
            inputs=np.asarray(validation["inputs"]),
            probabilities=probabilities,
            targets=np.asarray(event.targets),
            records=records,
            classes=tuple(classes),
            origins=origins,
            vocabulary=getattr(validation, "vocabulary", None),
            iteration=event.iteration,
            epoch=event.epoch,
        )


def _is_image(sample) -> bool:
    a = as_display_image(sample)
    return a.ndim >= 2 and a.shape[0] >= 4 and a.shape[1] >= 4


def _describe_sample(sample, vocabulary) -> str:
    a = np.asarray(sample)
    if vocabulary is not None:
        return "".join(vocabulary[int(i)] for i in a.ravel() if 0 <= int(i) < len(vocabulary))
    values = a.ravel()
    text = ", ".join(f"{v:.4g}" for v in values[:8])
    return text + (f", ... ({values.size} values)" if values.size > 8 else "")


class SamplesBrowser(QtWidgets.QDialog):
    """Browse validation samples and edit them (relabel, exclude, check later).

    Parameters
    ----------
    data : BrowserData
    edits : DatasetEdits
        The project's current edits (copied; :attr:`sigEditsChanged` hands back the new list).

    Signals
    -------
    sigEditsChanged(list)
        The edits as stored in the project (``DatasetEdits.to_list()``), after each change.
    sigContinueClicked()
        "Continue from here": train on with the edits, from the run's latest checkpoint.
    """

    sigEditsChanged = QtCore.Signal(list)
    sigContinueClicked = QtCore.Signal()

    def __init__(self, data: BrowserData, edits: DatasetEdits, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Validation samples")
        self.resize(820, 640)
        self.data = data
        self.edits = DatasetEdits(edits)
        self.rows: np.ndarray = np.zeros(0, np.int64)  # validation positions shown, in table order
        self.title = QtWidgets.QLabel()
        self.title.setProperty("role", "headline")
        self.title.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(QtCore.QSize(_THUMB, _THUMB))
        self.table.verticalHeader().setDefaultSectionSize(_THUMB + 6)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.relabel_to = QtWidgets.QComboBox()
        self.relabel_to.addItems(list(data.classes))
        self.relabel_button = QtWidgets.QPushButton("Relabel as")
        self.relabel_button.setToolTip(
            "Give the selected samples this class in the next runs (files untouched)"
        )
        self.exclude_button = QtWidgets.QPushButton("Exclude")
        self.exclude_button.setToolTip("Leave the selected samples out of the next runs (files untouched)")
        self.check_button = QtWidgets.QPushButton("Check later")
        self.check_button.setToolTip("Mark the selected samples to look at again; the data is not changed")
        self.relabel_button.clicked.connect(lambda: self._edit_selected("relabel"))
        self.exclude_button.clicked.connect(lambda: self._edit_selected("exclude"))
        self.check_button.clicked.connect(lambda: self._edit_selected("check"))
        actions = QtWidgets.QHBoxLayout()
        for widget in (self.relabel_button, self.relabel_to, self.exclude_button, self.check_button):
            actions.addWidget(widget)
        actions.addStretch(1)
        self.edit_list = QtWidgets.QListWidget()
        self.edit_list.setMaximumHeight(130)
        self.undo_button = QtWidgets.QPushButton("Undo selected edit")
        self.undo_button.clicked.connect(self._undo_selected)
        self.note = QtWidgets.QLabel()
        self.note.setProperty("role", "caption")
        self.note.setWordWrap(True)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        layout.addWidget(
            QtWidgets.QLabel("Edits of this project (applied to the next run; files untouched):")
        )
        layout.addWidget(self.edit_list)
        self.continue_button = QtWidgets.QPushButton("Continue from here")
        self.continue_button.setToolTip(
            "Train on from the run's latest checkpoint with these edits, as a new run that branches "
            "from it (the data files are untouched)"
        )
        self.continue_button.clicked.connect(self.sigContinueClicked)
        under = QtWidgets.QHBoxLayout()
        under.addWidget(self.undo_button)
        under.addWidget(self.note, 1)
        under.addWidget(self.continue_button)
        layout.addLayout(under)
        editable = data.records is not None
        for button in (self.relabel_button, self.exclude_button, self.check_button, self.relabel_to):
            button.setEnabled(editable)
        if not editable:
            self.note.setText("These predictions do not say which records they are: edits are off.")
        self._refresh_edits()

    # ------------------------------------------------------------------ what is shown
    def show_cell(self, true: int, predicted: int) -> None:
        """The samples of class ``true`` predicted as ``predicted``, most confident first."""
        d = self.data
        rows = cell_samples(d.probabilities, d.targets, true, predicted)
        kind = "right" if true == predicted else "wrong"
        self._show(
            rows, f"True {d.classes[true]}, predicted {d.classes[predicted]} ({kind}): {len(rows)} sample(s)"
        )
        self.relabel_to.setCurrentIndex(predicted)

    def show_class(self, true: int) -> None:
        """The samples of class ``true``: wrong ones first (most confident first), then right ones."""
        rows = class_samples(self.data.probabilities, self.data.targets, true)
        self._show(rows, f"All validation samples of class {self.data.classes[true]}: {len(rows)}")

    def show_rows(self, rows, title: str) -> None:
        """Any validation samples (positions), in the given order."""
        self._show(np.asarray(rows, dtype=np.int64), title)

    def _show(self, rows: np.ndarray, title: str) -> None:
        d = self.data
        self.rows = rows
        self.title.setText(f"{title} (validation, epoch {d.epoch}, iteration {d.iteration})")
        self.table.setRowCount(len(rows))
        predicted = d.probabilities.argmax(axis=1)
        images = len(rows) > 0 and _is_image(d.inputs[rows[0]])
        for r, k in enumerate(rows):
            sample = QtWidgets.QTableWidgetItem()
            if images:
                pixmap = QtGui.QPixmap.fromImage(_image(as_display_image(d.inputs[k])))
                sample.setIcon(
                    QtGui.QIcon(pixmap.scaled(_THUMB, _THUMB, QtCore.Qt.AspectRatioMode.KeepAspectRatio))
                )
            else:
                sample.setText(_describe_sample(d.inputs[k], d.vocabulary))
            p = int(predicted[k])
            cells = [
                sample,
                QtWidgets.QTableWidgetItem(d.origins[k]),
                QtWidgets.QTableWidgetItem(d.classes[int(d.targets[k])]),
                QtWidgets.QTableWidgetItem(d.classes[p]),
                QtWidgets.QTableWidgetItem(f"{d.probabilities[k, p]:.1%}"),
                QtWidgets.QTableWidgetItem(self._edit_text(k)),
            ]
            for c, item in enumerate(cells):
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()

    def _edit_text(self, k: int) -> str:
        if self.data.records is None:
            return ""
        found = self.edits.of_record(int(self.data.records[k]))
        return "; ".join(
            {"relabel": f"relabel as {e.label}", "exclude": "excluded", "check": "check later"}[e.action]
            for e in found
        )

    # ------------------------------------------------------------------ editing
    def selected_rows(self) -> list[int]:
        """Validation positions of the selected table rows."""
        return [int(self.rows[i.row()]) for i in self.table.selectionModel().selectedRows()]

    def _edit_selected(self, action: str) -> None:
        chosen = self.selected_rows()
        if not chosen:
            self.note.setText("Select one or more samples first.")
            return
        label = self.relabel_to.currentText() if action == "relabel" else None
        self.apply_edit(chosen, action, label)

    def apply_edit(self, positions, action: str, label: str | None = None) -> None:
        """Edit the validation samples at ``positions`` (``action``: relabel, exclude or check)."""
        d = self.data
        try:
            for k in positions:
                record = int(d.records[k])
                self.edits.add(SampleEdit(record, action, label, origin=d.origins[k]))
        except (EditError, TypeError) as exc:
            self.note.setText(str(exc))
            return
        self.note.setText(
            f"{len(positions)} sample(s): {action if action != 'check' else 'check later'}. "
            "Start a run to train on the edited data."
        )
        self._changed()

    def undo(self, index: int) -> None:
        """Take back edit number ``index`` of the list."""
        self.edits.remove(index)
        self._changed()

    def _undo_selected(self) -> None:
        row = self.edit_list.currentRow()
        if row < 0 and len(self.edits):
            row = len(self.edits) - 1  # nothing selected: the last edit
        if row >= 0:
            self.undo(row)

    def _changed(self) -> None:
        self._refresh_edits()
        for r, k in enumerate(self.rows):
            item = self.table.item(r, len(_COLUMNS) - 1)
            if item is not None:
                item.setText(self._edit_text(int(k)))
        self.sigEditsChanged.emit(self.edits.to_list())

    def _refresh_edits(self) -> None:
        self.edit_list.clear()
        for edit in self.edits:
            self.edit_list.addItem(edit.describe())
        self.undo_button.setEnabled(len(self.edits) > 0)
