"""The network builder gets the room it needs while it is in front.

The builder (palette, canvas, properties) needs more width than the settings column's quarter of the
window; squeezed, it scrolls sideways and cuts its fit notice and buttons off. While its tab is in
front of a docked left column, the column widens to the builder's minimum (at most 55 % of the
window); when another tab comes to the front, the column goes back to the width it had, unless the
user resized it meanwhile.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["BuilderRoom"]

MAX_SHARE = 0.55  # of the window's width: the monitor keeps the rest


class BuilderRoom(QtCore.QObject):
    """Widens ``window``'s dock ``name`` while it is shown, and gives the width back after."""

    def __init__(self, window: QtWidgets.QMainWindow, name: str = "network_builder"):
        super().__init__(window)
        self.window = window
        self.dock = window.panel(name)
        self._before: int | None = None  # the column's width before it was widened
        self._widened: int | None = None  # the width it was given
        self.dock.visibilityChanged.connect(
            lambda visible: QtCore.QTimer.singleShot(0, lambda: self._follow(visible))
        )

    def _follow(self, visible: bool) -> None:
        if not self.window.isVisible() or self.dock.isFloating():
            return
        if visible and self.dock.isVisible():
            self._widen()
        elif not visible and self._widened is not None:
            self._give_back()

    def _widen(self) -> None:
        need = self.dock.widget().widget().minimumSizeHint().width() + 24  # the scroll area's frame and bar
        now = self.dock.width()
        width = min(need, int(self.window.width() * MAX_SHARE))
        if now >= width:
            return
        self._before, self._widened = now, width
        self._resize(self.dock, width)
        # What it got (Qt may round or hold back a few pixels): how a resize by the user is told apart.
        QtCore.QTimer.singleShot(0, self._note_width)

    def _note_width(self) -> None:
        if self._widened is not None and self.dock.isVisible():
            self._widened = self.dock.width()

    def _give_back(self) -> None:
        front = next(
            (d for d in self.window.tabifiedDockWidgets(self.dock) if not d.visibleRegion().isEmpty()),
            None,
        )
        before, widened = self._before, self._widened
        self._before = self._widened = None
        if front is not None and abs(front.width() - widened) <= 4:  # not resized by the user meanwhile
            self._resize(front, before)

    def _resize(self, dock: QtWidgets.QDockWidget, width: int) -> None:
        # Given alone, Qt shares a dock's new width out in proportion; with the monitor beside it, exactly.
        monitor = self.window.panel("monitor")
        if monitor is not None and monitor.isVisible() and not monitor.isFloating():
            rest = max(1, self.window.width() - width)
            self.window.resizeDocks([dock, monitor], [width, rest], QtCore.Qt.Orientation.Horizontal)
        else:
            self.window.resizeDocks([dock], [width], QtCore.Qt.Orientation.Horizontal)
