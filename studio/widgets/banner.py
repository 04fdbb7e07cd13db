"""An in-window message: errors are shown here rather than in a modal dialog, so training errors never
block the event loop and tests can read them. Success, information, warning and error look different;
a long message shows its first paragraph, with the rest behind "Show details"."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["Banner"]

_ICONS = {"error": "✖", "warning": "⚠", "info": "ℹ", "success": "✔"}


class Banner(QtWidgets.QFrame):
    """A dismissable one-message strip (hidden until :meth:`show_message`)."""

    sigDismissed = QtCore.Signal()
    sigShown = QtCore.Signal()
    sigDetailsToggled = QtCore.Signal(bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        self.icon = QtWidgets.QLabel()
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QtWidgets.QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.hide()
        self.details_button = QtWidgets.QToolButton()
        self.details_button.setText("Show details")
        self.details_button.setToolTip("Show or hide the rest of the message.")
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(self._toggle_details)
        self.close_button = QtWidgets.QToolButton()
        self.close_button.setText("Dismiss")
        self.close_button.setToolTip("Hide this message.")
        self.close_button.clicked.connect(self.dismiss)
        text = QtWidgets.QVBoxLayout()
        text.setContentsMargins(0, 0, 0, 0)
        text.addWidget(self.label)
        text.addWidget(self.details)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.icon, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        layout.addLayout(text, 1)
        layout.addWidget(self.details_button, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.close_button, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        self.level = ""
        self._text = ""
        self.shown = False  # our own flag: visibility also depends on the parent being shown
        self.hide()

    def show_message(self, text: str, level: str = "error") -> None:
        """Show ``text``; ``level`` is ``error``, ``warning``, ``info`` or ``success`` (colours and
        icon). After a blank line, a message's detail waits behind "Show details"."""
        self.level = level
        self._text = text
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.icon.setText(_ICONS.get(level, ""))
        head, _, rest = text.partition("\n\n")
        self.label.setText(head)
        self.details.setText(rest.strip())
        self.details_button.setVisible(bool(rest.strip()))
        self.details_button.setChecked(False)
        self.details.hide()
        self.shown = True
        self.show()
        self.raise_()
        self.sigShown.emit()

    def _toggle_details(self, on: bool) -> None:
        self.details.setVisible(on)
        self.details_button.setText("Hide details" if on else "Show details")
        self.sigDetailsToggled.emit(on)

    def text(self) -> str:
        """The whole message shown ("" when none)."""
        return self._text if self.shown else ""

    def dismiss(self) -> None:
        self.shown = False
        self.hide()
        self.sigDismissed.emit()
