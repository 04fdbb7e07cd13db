"""The layer palette: every layer type the engine offers, grouped; drag one onto the canvas or
double-click it to append it after the selected layer."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from .catalog import layer_kinds

__all__ = ["LayerPalette", "LAYER_MIME"]

LAYER_MIME = "application/x-sigma-layer-type"
_TYPE_ROLE = Qt.ItemDataRole.UserRole


class _Tree(QTreeWidget):
    def mimeData(self, items):
        mime = QMimeData()
        types = [i.data(0, _TYPE_ROLE) for i in items if i.data(0, _TYPE_ROLE)]
        if types:
            mime.setData(LAYER_MIME, types[0].encode())
        return mime

    def mimeTypes(self):
        return [LAYER_MIME]


class LayerPalette(QWidget):
    """A filterable tree of layer types.

    Signals
    -------
    sigActivated(str)
        A layer type was double-clicked (or Enter pressed on it).
    """

    sigActivated = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.filter = QLineEdit(placeholderText="Filter layers…")
        self.filter.setToolTip("Show only the layers whose name contains this text.")
        self.filter.setClearButtonEnabled(True)
        self.tree = _Tree()
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setToolTip(
            "Drag a layer onto the canvas, or double-click to add it after the selected layer"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self._populate()
        self.filter.textChanged.connect(self._apply_filter)
        self.tree.itemActivated.connect(self._on_activated)

    def types(self) -> list[str]:
        """The layer types listed, in order."""
        out = []
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            out += [group.child(i).data(0, _TYPE_ROLE) for i in range(group.childCount())]
        return out

    def _populate(self) -> None:
        groups: dict[str, QTreeWidgetItem] = {}
        for kind in layer_kinds():
            group = groups.get(kind.group)
            if group is None:
                group = QTreeWidgetItem([kind.group])
                group.setFlags(Qt.ItemFlag.ItemIsEnabled)
                self.tree.addTopLevelItem(group)
                groups[kind.group] = group
            item = QTreeWidgetItem([kind.title])
            item.setData(0, _TYPE_ROLE, kind.type)
            item.setToolTip(0, kind.doc or kind.type)
            group.addChild(item)
        self.tree.expandAll()

    def _apply_filter(self, text: str) -> None:
        text = text.strip().lower()
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            visible = 0
            for i in range(group.childCount()):
                child = group.child(i)
                hit = not text or text in child.text(0).lower() or text in child.data(0, _TYPE_ROLE)
                child.setHidden(not hit)
                visible += hit
            group.setHidden(visible == 0)

    def _on_activated(self, item, _column) -> None:
        type_ = item.data(0, _TYPE_ROLE)
        if type_:
            self.sigActivated.emit(type_)
