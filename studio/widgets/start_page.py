"""The start page: what the window shows when no project is open (first launch, File > Close project).

It offers the ways in, in the order a newcomer needs them: the bundled examples (thumbnail, title and
one sentence each, from :data:`engine.templates.EXAMPLES`), "New project", "Open project…",
"Import data…", the recent projects, and a note that files can be dropped anywhere on the window.
The page only emits signals; the main window decides what each choice does (and asks about unsaved
changes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["StartPage", "pixmap_from_array"]

_THUMB = 96  # px: thumbnails are scaled to this height


def pixmap_from_array(rgb: np.ndarray, height: int = _THUMB) -> QtGui.QPixmap:
    """A pixmap of an ``(H, W, 3)`` ``uint8`` RGB array, scaled (nearest) to ``height`` pixels."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"thumbnail must be (H, W, 3) uint8; got shape {rgb.shape}")
    h, w, _ = rgb.shape
    image = QtGui.QImage(rgb.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy()  # own the pixels
    return QtGui.QPixmap.fromImage(image).scaledToHeight(
        height, QtCore.Qt.TransformationMode.FastTransformation
    )


class _ExampleCard(QtWidgets.QPushButton):
    """One example: thumbnail, title in bold, its sentence; a click opens it."""

    def __init__(self, example, parent=None):
        super().__init__(parent)
        self.example = example
        self.setObjectName(f"example-{example.key}")
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"Open the example “{example.title}”: {example.description}")
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.thumbnail = QtWidgets.QLabel()
        self.thumbnail.setFixedSize(_THUMB, _THUMB)
        self.thumbnail.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        try:
            self.thumbnail.setPixmap(pixmap_from_array(example.thumbnail()))
        except (OSError, ValueError) as exc:  # a missing sample file: the card still opens the example
            self.thumbnail.setText("(no preview)")
            self.thumbnail.setToolTip(str(exc))
        text = QtWidgets.QLabel(f"<b>{example.title}</b><br>{example.description}")
        text.setWordWrap(True)
        text.setTextFormat(QtCore.Qt.TextFormat.RichText)
        text.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # clicks reach the card
        layout.addWidget(self.thumbnail)
        layout.addWidget(text, 1)
        self.setMinimumHeight(_THUMB + 16)
        self.text_label = text


class StartPage(QtWidgets.QScrollArea):
    """Examples, new / open / import, recent projects and a drop note.

    Signals
    -------
    sigOpenExample(str)
        The key of the example clicked.
    sigOpenRecent(str)
        The path of the recent project clicked.
    sigNewProject(), sigOpenProject(), sigImportData()
        The three buttons.
    """

    sigOpenExample = QtCore.Signal(str)
    sigOpenRecent = QtCore.Signal(str)
    sigNewProject = QtCore.Signal()
    sigOpenProject = QtCore.Signal()
    sigImportData = QtCore.Signal()

    def __init__(self, examples=(), parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("start-page")
        self.setWidgetResizable(True)
        page = QtWidgets.QWidget()
        self.setWidget(page)
        outer = QtWidgets.QVBoxLayout(page)
        outer.setContentsMargins(32, 24, 32, 24)
        title = QtWidgets.QLabel("<h1>Welcome to Sigma Studio</h1>")
        intro = QtWidgets.QLabel(
            "Train a neural network and watch it learn. Open an example to see one train in seconds, "
            "or start from your own data."
        )
        intro.setWordWrap(True)
        outer.addWidget(title)
        outer.addWidget(intro)

        columns = QtWidgets.QHBoxLayout()
        outer.addLayout(columns, 1)
        left = QtWidgets.QVBoxLayout()
        columns.addLayout(left, 2)
        columns.addSpacing(24)
        right = QtWidgets.QVBoxLayout()
        columns.addLayout(right, 1)

        left.addWidget(QtWidgets.QLabel("<h3>Examples</h3>"))
        self.example_cards: dict[str, _ExampleCard] = {}
        for example in examples:
            card = _ExampleCard(example)
            card.clicked.connect(lambda _=False, key=example.key: self.sigOpenExample.emit(key))
            left.addWidget(card)
            self.example_cards[example.key] = card
        left.addStretch(1)

        right.addWidget(QtWidgets.QLabel("<h3>Start</h3>"))
        self.new_button = self._button(
            "New project", "An empty project with a small default network.", self.sigNewProject
        )
        self.open_button = self._button(
            "Open project…", "Open a project file (.sigma.json) saved earlier.", self.sigOpenProject
        )
        self.import_button = self._button(
            "Import data…",
            "Start a new project from your data: images in class folders, a CSV table, IDX, NPZ, HDF5, text.",
            self.sigImportData,
        )
        for button in (self.new_button, self.open_button, self.import_button):
            right.addWidget(button)
        right.addSpacing(16)
        right.addWidget(QtWidgets.QLabel("<h3>Recent projects</h3>"))
        self.recent = QtWidgets.QListWidget()
        self.recent.setObjectName("recent-projects")
        self.recent.setToolTip("Projects opened or saved lately; double-click or press Enter to open one.")
        self.recent.setTabKeyNavigation(False)  # Tab leaves the list rather than walking its rows
        self.recent.itemActivated.connect(self._recent_activated)
        right.addWidget(self.recent, 1)

        self.drop_note = QtWidgets.QLabel(
            "Drop a data file or folder anywhere on this window to import it, a project file to open it, "
            "or a checkpoint (.h5) to resume from it."
        )
        self.drop_note.setObjectName("drop-note")
        self.drop_note.setWordWrap(True)
        self.drop_note.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.drop_note.setMinimumHeight(60)
        self.drop_note.setStyleSheet("QLabel#drop-note { border: 2px dashed #9e9e9e; border-radius: 6px; }")
        outer.addWidget(self.drop_note)
        self.set_recent([])

    def _button(self, text: str, tip: str, signal) -> QtWidgets.QPushButton:
        button = QtWidgets.QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(lambda _=False: signal.emit())
        return button

    def set_recent(self, paths) -> None:
        """List ``paths`` (newest first); those no longer on disk are shown greyed out and disabled."""
        self.recent.clear()
        for path in paths:
            p = Path(path)
            item = QtWidgets.QListWidgetItem(f"{p.name}  —  {p.parent}")
            item.setData(QtCore.Qt.ItemDataRole.UserRole, str(p))
            item.setToolTip(str(p))
            if not p.exists():
                item.setFlags(item.flags() & ~QtCore.Qt.ItemFlag.ItemIsEnabled)
                item.setToolTip(f"{p} (no longer there)")
            self.recent.addItem(item)
        if not paths:
            item = QtWidgets.QListWidgetItem("No recent projects yet")
            item.setFlags(QtCore.Qt.ItemFlag.NoItemFlags)
            self.recent.addItem(item)

    def _recent_activated(self, item: QtWidgets.QListWidgetItem) -> None:
        path = item.data(QtCore.Qt.ItemDataRole.UserRole)
        if path:
            self.sigOpenRecent.emit(path)
