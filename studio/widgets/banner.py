"""An in-window message banner: errors are shown here rather than in a modal dialog, so training
errors never block the event loop and tests can read them."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["Banner"]


class Banner(QtWidgets.QFrame):
    """A dismissable one-message strip (hidden until :meth:`show_message`)."""

    sigDismissed = QtCore.Signal()
    sigShown = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QtWidgets.QToolButton()
        self.close_button.setText("Dismiss")
        self.close_button.clicked.connect(self.dismiss)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button)
        self.level = ""
        self.shown = False  # our own flag: inside a QToolBar, visibility belongs to the toolbar's action
        self.hide()

    def show_message(self, text: str, level: str = "error") -> None:
        """Show ``text`` (``level`` is ``error``, ``warning``, ``info`` or ``success``; it picks the
        colours)."""
        self.level = level
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(text)
        self.shown = True
        self.show()
        self.sigShown.emit()

    def text(self) -> str:
        return self.label.text() if self.shown else ""

    def dismiss(self) -> None:
        self.shown = False
        self.hide()
        self.sigDismissed.emit()
