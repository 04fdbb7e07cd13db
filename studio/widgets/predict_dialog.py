"""The window of Training > Predict on files…: files in (picker or drop), a table of predictions out.

The dialog only shows and collects: ``sigPredict(files)`` asks for a prediction of every file chosen so
far, and :meth:`PredictDialog.show_result` fills the table (file, sample, class, probability, with a
thumbnail of images; output columns for networks that are not classifiers). Save as CSV… writes the same
CSV as ``sigma predict`` (:func:`engine.predict.write_csv`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["PredictDialog"]

_FILTER = (
    "Prediction inputs (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.csv *.tsv *.txt *.npy);;"
    "All files (*)"
)
_HINT = "Drop images, CSV files (one sample per row) or .npy arrays here, or use Add files…"


class PredictDialog(QtWidgets.QDialog):
    """Non-modal; reused each time the menu opens it (files and results stay until Clear).

    Signals
    -------
    sigPredict(list)
        Every file chosen so far (paths as str), when the list changes or on Predict again.
    """

    sigPredict = QtCore.Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Predict on files")
        self.setAcceptDrops(True)
        self.files: list[str] = []
        self.result = None  # the PredictionResult shown
        self.add_button = QtWidgets.QPushButton("Add files…")
        self.add_button.clicked.connect(self.open_file_dialog)
        self.again_button = QtWidgets.QPushButton("Predict again")
        self.again_button.setToolTip("Predict every file again with the network as it is now")
        self.again_button.clicked.connect(lambda: self.sigPredict.emit(list(self.files)))
        self.clear_button = QtWidgets.QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        top = QtWidgets.QHBoxLayout()
        for button in (self.add_button, self.again_button, self.clear_button):
            top.addWidget(button)
        top.addStretch(1)
        self.status = QtWidgets.QLabel(_HINT)
        self.status.setWordWrap(True)
        self.problems = QtWidgets.QLabel()
        self.problems.setWordWrap(True)
        self.problems.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems.setStyleSheet("color: #c0392b;")
        self.problems.hide()
        # How files differ from the training data and what was converted (sigma predict's warnings).
        self.notes = QtWidgets.QLabel()
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes.setStyleSheet("color: #b9770e;")
        self.notes.hide()
        self.table = QtWidgets.QTableWidget(0, 0)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table: keyboard users are not trapped
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setIconSize(QtCore.QSize(40, 40))
        self.save_button = QtWidgets.QPushButton("Save as CSV…")
        self.save_button.clicked.connect(self.open_save_dialog)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.close)
        bottom = QtWidgets.QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.save_button)
        bottom.addWidget(close)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.problems)
        layout.addWidget(self.notes)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.resize(720, 520)
        self._update_buttons()

    # ------------------------------------------------------------------ files in
    def add_files(self, paths, predict: bool = True) -> bool:
        """Add files (folders add the files in them); when something new was added, returns True and
        (with ``predict``) asks for a prediction of all of them."""
        added = False
        for path in _expand(paths):
            if path not in self.files:
                self.files.append(path)
                added = True
        self._update_buttons()
        if added and predict:
            self.sigPredict.emit(list(self.files))
        return added

    def clear(self) -> None:
        self.files, self.result = [], None
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.problems.hide()
        self.notes.hide()
        self.status.setText(_HINT)
        self._update_buttons()

    def open_file_dialog(self) -> QtWidgets.QFileDialog:
        dialog = QtWidgets.QFileDialog(self, "Files to predict on")
        dialog.setFileMode(QtWidgets.QFileDialog.FileMode.ExistingFiles)
        dialog.setNameFilter(_FILTER)
        dialog.filesSelected.connect(lambda chosen: self.add_files(chosen) if chosen else None)
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_files(paths)

    # ------------------------------------------------------------------ results out
    def show_busy(self, text: str) -> None:
        self.status.setText(text)
        self.again_button.setEnabled(False)

    def show_problem(self, text: str) -> None:
        self.problems.setText(text)
        self.problems.show()
        self._update_buttons()

    def show_result(self, result) -> None:
        """Fill the table from a :class:`~studio.project_actions.predictions.PredictionResult`."""
        self.result = result
        table = result.table
        names = _common_folder_names([path for path, _ in table.origins])
        if table.classifier:
            headers = ["", "File", "Sample", "Class", "Probability"]
        else:
            headers = ["", "File", "Sample", *table.header[2:]]
        self.table.setRowCount(0)
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(table))
        thumbs = {p: QtGui.QPixmap.fromImage(img) for p, img in result.thumbnails.items()}
        notes = list(getattr(result, "notes", []) or [])
        for i, ((path, sample), values) in enumerate(zip(table.origins, table.values)):
            icon = QtWidgets.QTableWidgetItem()
            if path in thumbs:
                icon.setData(QtCore.Qt.ItemDataRole.DecorationRole, thumbs[path])
            self.table.setItem(i, 0, icon)
            name = QtWidgets.QTableWidgetItem(names[path])
            said = [n for n in notes if n.startswith(f"{path}: ")]
            name.setToolTip("\n".join([path, *said]))
            self.table.setItem(i, 1, name)
            self.table.setItem(i, 2, _number(sample))
            if table.classifier:
                cls, p = table.best(i)
                self.table.setItem(i, 3, QtWidgets.QTableWidgetItem(cls))
                probability = _number(f"{p:.1%}", p)
                top = np.argsort(values)[::-1][:3]
                probability.setToolTip(
                    "Most likely: " + ", ".join(f"{table.class_names[k]} {values[k]:.1%}" for k in top)
                )
                self.table.setItem(i, 4, probability)
            else:
                for j, v in enumerate(values):
                    self.table.setItem(i, 3 + j, _number(f"{v:.6g}", float(v)))
        if thumbs:
            self.table.verticalHeader().setDefaultSectionSize(44)
        self.table.resizeColumnsToContents()
        # The file names take the spare width, so each class sits next to its probability.
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        files = len({p for p, _ in table.origins})
        self.status.setText(f"{len(table)} prediction(s) from {files} file(s), by {result.source}.")
        if notes:
            lines = "\n".join(f"• {n}" for n in notes)
            self.notes.setText(f"Differs from the training data (converted as shown):\n{lines}")
            self.notes.show()
        else:
            self.notes.hide()
        if result.problems:
            lines = "\n".join(f"• {p}" for p in result.problems)
            self.show_problem(f"Skipped {len(result.problems)} file(s):\n{lines}")
        else:
            self.problems.hide()
        self._update_buttons()

    def open_save_dialog(self) -> QtWidgets.QFileDialog:
        dialog = QtWidgets.QFileDialog(self, "Save the predictions as")
        dialog.setAcceptMode(QtWidgets.QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("CSV files (*.csv);;All files (*)")
        dialog.setDefaultSuffix("csv")
        dialog.selectFile("predictions.csv")
        dialog.fileSelected.connect(lambda chosen: self.save_csv(chosen) if chosen else None)
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def save_csv(self, path) -> bool:
        """Write the shown predictions as ``sigma predict`` would (atomically); False on failure."""
        from engine.predict import write_csv

        if self.result is None:
            return False
        try:
            write_csv(self.result.table, os.fspath(path))
        except OSError as exc:
            self.show_problem(f"Could not save {path}: {exc.strerror or exc}")
            return False
        self.status.setText(f"Saved {len(self.result.table)} prediction(s) to {path}")
        return True

    def _update_buttons(self) -> None:
        self.again_button.setEnabled(bool(self.files))
        self.clear_button.setEnabled(bool(self.files))
        self.save_button.setEnabled(self.result is not None and len(self.result.table) > 0)


def _number(text, value=None) -> QtWidgets.QTableWidgetItem:
    item = QtWidgets.QTableWidgetItem(str(text))
    item.setData(QtCore.Qt.ItemDataRole.UserRole, text if value is None else value)
    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
    return item


def _expand(paths) -> list[str]:
    """Paths as str, a folder replaced by the files directly in it (sorted)."""
    out = []
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            out += sorted(str(p) for p in Path(path).iterdir() if p.is_file() and not p.name.startswith("."))
        else:
            out.append(path)
    return out


def _common_folder_names(paths) -> dict:
    """Each path shown by its name, or relative to the common folder when names repeat."""
    unique = list(dict.fromkeys(paths))
    names = [os.path.basename(p) for p in unique]
    if len(set(names)) == len(names):
        return dict(zip(unique, names))
    base = os.path.commonpath(unique) if len(unique) > 1 else os.path.dirname(unique[0])
    return {p: os.path.relpath(p, base) for p in unique}
