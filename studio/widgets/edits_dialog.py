"""The project's sample edits (relabel, exclude, check later) as a list, each one undoable, without a run:
Training > Sample edits…. The samples browser makes them; this is where they are reviewed later."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from engine.data.edits import DatasetEdits, EditError

__all__ = ["EditsDialog"]


class EditsDialog(QtWidgets.QDialog):
    """List and undo the edits of ``project`` (``project.dataset["edits"]``); changes are written back
    to the project at once and announced with ``sigEditsChanged(list)``."""

    sigEditsChanged = QtCore.Signal(list)

    def __init__(self, project, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Sample edits")
        self.resize(560, 360)
        self.project = project
        self.note = QtWidgets.QLabel()
        self.note.setWordWrap(True)
        self.list = QtWidgets.QListWidget()
        self.list.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.undo_button = QtWidgets.QPushButton("Undo selected")
        self.undo_button.clicked.connect(self.undo_selected)
        self.clear_button = QtWidgets.QPushButton("Undo all")
        self.clear_button.clicked.connect(self.undo_all)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.undo_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.edits = DatasetEdits()
        try:
            self.edits = DatasetEdits.from_list((project.dataset or {}).get("edits"))
            self.readable = True
        except EditError as exc:
            self.readable = False
            self.note.setText(f"The project's edits cannot be read: {exc}")
        self._fill()

    def _fill(self) -> None:
        self.list.clear()
        for edit in self.edits:
            self.list.addItem(edit.describe())
        if self.readable:
            self.note.setText(
                f"{len(self.edits)} edit(s), applied to every run of this project (studio and sigma train); "
                "the data files are never changed. Click a confusion-matrix cell to make more."
            )
        self.undo_button.setEnabled(self.readable and len(self.edits) > 0)
        self.clear_button.setEnabled(self.readable and len(self.edits) > 0)

    def undo_selected(self) -> None:
        for row in sorted((i.row() for i in self.list.selectedIndexes()), reverse=True):
            self.edits.remove(row)
        self._write()

    def undo_all(self) -> None:
        while len(self.edits):
            self.edits.remove(len(self.edits) - 1)
        self._write()

    def _write(self) -> None:
        dataset = dict(self.project.dataset or {})
        if len(self.edits):
            dataset["edits"] = self.edits.to_list()
        else:
            dataset.pop("edits", None)
        self.project.dataset = dataset
        self._fill()
        self.sigEditsChanged.emit(self.edits.to_list())
