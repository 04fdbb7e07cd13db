"""The log panel: engine log lines and errors, newest last, bounded so a long run cannot eat memory."""

from __future__ import annotations

import html
import time

from PySide6 import QtGui, QtWidgets

from studio import theme

__all__ = ["LogView"]

_COLOURS = {"debug": "#777777", "info": "#222222", "warning": theme.WARNING_COLOR, "error": theme.ERROR_COLOR}


class LogView(QtWidgets.QPlainTextEdit):
    """Read-only log lines, coloured by level, keeping the last ``max_lines``."""

    def __init__(self, max_lines: int = 5000, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(max_lines)
        self.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        self.lines: list[tuple[str, str]] = []  # (level, message), bounded like the view

    def add_line(self, level: str, message: str, when: float | None = None) -> None:
        """Append one line such as ``12:01:33 warning  learning rate reduced``."""
        stamp = time.strftime("%H:%M:%S", time.localtime(when or time.time()))
        colour = _COLOURS.get(level, "#222222")
        self.appendHtml(
            f'<span style="color:{colour}">{stamp} {html.escape(level):8} {html.escape(message)}</span>'
        )
        self.lines.append((level, message))
        if len(self.lines) > self.maximumBlockCount():
            del self.lines[: len(self.lines) - self.maximumBlockCount()]

    def add_lines(self, entries) -> None:
        """Append many ``(level, message, time)`` entries in one go (one repaint)."""
        self.setUpdatesEnabled(False)
        try:
            for level, message, when in entries:
                self.add_line(level, message, when)
        finally:
            self.setUpdatesEnabled(True)
