"""Where the dataset panel's imports start and how far they got: the drop hint, the Import files… and
Import folder… buttons, and while an import runs its progress bar, what it reads and Cancel."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

__all__ = ["ImportBar", "local_paths"]


class ImportBar(QWidget):
    """The drop hint and import buttons, above the progress row of a running import.

    The panel connects the buttons (``import_files_button``, ``import_folder_button``,
    ``cancel_button``); this widget only shows the state it is given.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.drop_hint = QLabel(
            "<b>Drop data here</b>: image folders, CSV/TSV, IDX, NPZ, HDF5, text files, zip/tar archives "
            "— or use Import."
        )
        self.drop_hint.setWordWrap(True)
        self.drop_hint.setObjectName("dropHint")
        self.drop_hint.setFrameShape(QFrame.Shape.StyledPanel)
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_hint.setMinimumHeight(44)
        self.import_files_button = QPushButton("Import files…")
        self.import_folder_button = QPushButton("Import folder…")
        self.import_files_button.setToolTip(
            "Import data files: CSV, IDX, NPZ, HDF5, text, images or archives."
        )
        self.import_folder_button.setToolTip(
            "Import a folder: images in one sub-folder per class, or data files."
        )
        self.progress = QProgressBar()
        self.progress.setFormat("%v of %m")
        self.progress_label = QLabel("")
        self.cancel_button = QPushButton("Cancel")

        top = QHBoxLayout()
        top.addWidget(self.drop_hint, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.import_files_button)
        buttons.addWidget(self.import_folder_button)
        top.addLayout(buttons)
        busy = QHBoxLayout()
        busy.addWidget(self.progress, 1)
        busy.addWidget(self.progress_label, 2)
        busy.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)  # the rows sit in the panel's layout as they always did
        layout.addLayout(top)
        layout.addLayout(busy)

    def set_busy(self, busy: bool, text: str = "") -> None:
        """Show the progress row (busy) or the import buttons (idle), with ``text`` beside the bar."""
        for w in (self.progress, self.progress_label, self.cancel_button):
            w.setVisible(busy)
        self.import_files_button.setEnabled(not busy)
        self.import_folder_button.setEnabled(not busy)
        self.progress.setRange(0, 0)
        self.progress_label.setText(text)

    def show_progress(self, done: int, total: int, path: str) -> None:
        """``done`` of ``total`` files read (``total`` 0: not known yet), now reading ``path``."""
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        self.progress_label.setText(f"Reading {os.path.basename(path) or path}")

    def highlight(self, on: bool) -> None:
        """Tint the drop hint while something droppable is dragged over the panel."""
        self.drop_hint.setStyleSheet("background: #fff8e1" if on else "")


def local_paths(mime) -> list[str]:
    """The local files and folders in drag-and-drop data (``QMimeData``); remote URLs are left out."""
    if not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
