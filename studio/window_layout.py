"""The main window's docks and their layout: docking a panel (``add_panel``), where a first launch puts
and sizes each panel once the window is shown, View > Reset layout, and the layout kept between sessions
(``QSettings``). A mixin of :class:`~studio.main_window.MainWindow`, which owns the docks (``_docks``) and
the flags ``_sized``, ``_layout_restored`` and ``_docks_sized``; this module holds what is done with them.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["WindowLayout"]

_AREAS = {
    "left": QtCore.Qt.DockWidgetArea.LeftDockWidgetArea,
    "right": QtCore.Qt.DockWidgetArea.RightDockWidgetArea,
    "top": QtCore.Qt.DockWidgetArea.TopDockWidgetArea,
    "bottom": QtCore.Qt.DockWidgetArea.BottomDockWidgetArea,
}
#: Where a first launch docks each panel (View > Reset layout puts them back there).
_DEFAULT_AREAS = {
    "training": "left",
    "monitor": "right",
    "runs": "right",
    "dataset": "left",
    "network_builder": "left",
}
_LAYOUT_VERSION = 1  # bump when panels change, so an old saved layout is not applied to a new set


class WindowLayout:
    """Docks of the main window and how they are laid out."""

    def add_panel(
        self, name: str, title: str, widget: QtWidgets.QWidget, area: str = "left"
    ) -> QtWidgets.QDockWidget:
        """Dock ``widget`` as a panel; ``area`` is left/right/top/bottom (or a Qt.DockWidgetArea)."""
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(name)
        # In a scroll area, a panel's minimum size never sets the window's: the window fits a small
        # screen (1366x768, or 1024x700 at 150% scaling) and a panel scrolls rather than being clipped.
        scroll = QtWidgets.QScrollArea()
        scroll.setObjectName(f"{name}-scroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(widget)
        dock.setWidget(scroll)
        dock.setFeatures(
            QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(_AREAS.get(area, area) if isinstance(area, str) else area, dock)
        self._docks[name] = dock
        self.menu("View").addAction(dock.toggleViewAction())
        return dock

    def panel(self, name: str) -> QtWidgets.QDockWidget | None:
        return self._docks.get(name)

    def _arrange_default_layout(self) -> None:
        """Settings on the left; monitor large on the right; dataset and builder tabbed with settings.

        Called once the window is shown (see :meth:`showEvent`): Qt 6 leaves a stray, visible tab bar
        (a copy of the last group's tabs, floating over the panels) when two tab groups are made before
        the window's layout has run; made after, the groups get exactly one tab bar each.
        """
        for front, behind in (("training", ("dataset", "network_builder")), ("monitor", ("runs",))):
            for name in behind:
                if not (self._docks[front].isFloating() or self._docks[name].isFloating()):
                    self.tabifyDockWidget(self._docks[front], self._docks[name])  # floated: the user's choice
            self._docks[front].raise_()
        self._default_state = self.saveState(_LAYOUT_VERSION)

    def reset_layout(self) -> None:
        """View > Reset layout: every panel docked where a first launch puts it, sized as then."""
        if self._default_state is not None:
            self.restoreState(self._default_state, _LAYOUT_VERSION)
        else:  # the layout came from the last session: lay the default out afresh
            for name, area in _DEFAULT_AREAS.items():
                self._docks[name].setFloating(False)
                self.addDockWidget(_AREAS[area], self._docks[name])
            self._arrange_default_layout()
        self._size_docks()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if not self._sized and not self._layout_restored:
            # Tab groups and dock sizes only come out right once the window is laid out at its real
            # size: after this event (see _arrange_default_layout).
            self._sized = True
            QtCore.QTimer.singleShot(0, self._first_layout)

    def _first_layout(self) -> None:
        if not self.isVisible():  # closed before its first layout: lay it out at the next show
            self._sized = False
            return
        self._arrange_default_layout()
        self._size_docks()

    def _size_docks(self) -> None:
        """The settings column gets about a quarter of the width (300-420 px); the monitor the rest.

        Sizes only take on shown panels: a first launch shows the start page instead, so the panels
        are sized when they first appear (see ``_show_start_page``).
        """
        if not (self._docks["training"].isVisible() and self._docks["monitor"].isVisible()):
            return
        self._docks_sized = True
        left = max(300, min(420, int(self.width() * 0.26)))
        self.resizeDocks(
            [self._docks["training"], self._docks["monitor"]],
            [left, max(400, self.width() - left)],
            QtCore.Qt.Orientation.Horizontal,
        )

    def _settings(self) -> QtCore.QSettings:
        return QtCore.QSettings("Sigma", "Sigma Studio")

    def _restore_layout(self) -> None:
        settings = self._settings()
        geometry = settings.value("window/geometry")
        state = settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self._layout_restored = bool(self.restoreState(state, _LAYOUT_VERSION))

    def save_layout(self) -> None:
        settings = self._settings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState(_LAYOUT_VERSION))
        settings.sync()
