"""The log panel: engine log lines and errors, newest last, bounded so a long run cannot eat memory.
It follows new lines unless the user scrolled up to read, and can be saved as text."""

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

    @property
    def following(self) -> bool:
        """Whether the view is at its last line (new lines then scroll into view)."""
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - 1

    def add_line(self, level: str, message: str, when: float | None = None) -> None:
        """Append one line such as ``12:01:33 warning  learning rate reduced``."""
        bar = self.verticalScrollBar()
        follow, kept = self.following, bar.value()
        self._append(level, message, when)
        bar.setValue(bar.maximum() if follow else kept)  # a reader scrolled up is not pulled down

    def _append(self, level: str, message: str, when: float | None) -> None:
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
        bar = self.verticalScrollBar()
        follow, kept = self.following, bar.value()
        self.setUpdatesEnabled(False)
        try:
            for level, message, when in entries:
                self._append(level, message, when)
        finally:
            self.setUpdatesEnabled(True)
        bar.setValue(bar.maximum() if follow else kept)

    def save(self, path) -> None:
        """Write the lines shown (time, level, message) to ``path`` as UTF-8 text."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.toPlainText() + "\n")
