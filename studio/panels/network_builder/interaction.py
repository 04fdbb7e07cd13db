"""Mouse editing on the graph canvas: drag from a port to another to draw an edge; moving nodes is one
undoable step (a mixin of :class:`~studio.panels.network_builder.scene.GraphScene`)."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from .items import NodeItem, PortItem

__all__ = ["SceneMouse"]


class SceneMouse:
    """Edge drawing and undoable moves; the scene provides ``connect``, ``_state`` and ``_push_snapshot``."""

    def mousePressEvent(self, event):
        port = next((i for i in self.items(event.scenePos()) if isinstance(i, PortItem)), None)
        if port is not None and event.button().name == "LeftButton":
            line = QGraphicsPathItem()
            line.setPen(QPen(QColor("#ffa000"), 2))
            line.setZValue(3)
            self.addItem(line)
            self._drag = (port, line)
            event.accept()
            return
        super().mousePressEvent(event)
        self._press_positions = {n.node_id: (n.pos().x(), n.pos().y()) for n in self.selected_nodes()}

    def mouseMoveEvent(self, event):
        if self._drag is not None:
            port, line = self._drag
            a = port.scenePos()
            path = QPainterPath(a)
            path.lineTo(event.scenePos())
            line.setPath(path)
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event):
        if self._drag is not None:
            port, line = self._drag
            self._drag = None
            self.removeItem(line)
            self._finish_edge_drag(port, event.scenePos())
            return
        super().mouseReleaseEvent(event)
        self._record_move()

    def _finish_edge_drag(self, start: PortItem, at: QPointF) -> None:
        under = [i for i in self.items(at) if i is not start]
        target_port = next(
            (i for i in under if isinstance(i, PortItem) and i.is_output != start.is_output), None
        )
        target_node = (
            target_port.node if target_port else next((i for i in under if isinstance(i, NodeItem)), None)
        )
        if target_node is None or target_node is start.node:
            return
        try:
            if start.is_output:
                index = target_port.index if target_port else len(target_node.data.inputs)
                self.connect(start.node, target_node, index)
            else:
                self.connect(target_node, start.node, start.index)
        except (ValueError, KeyError) as exc:
            self.sigMessage.emit(str(exc))

    def _record_move(self) -> None:
        before = self._press_positions
        self._press_positions = None
        if not before:
            return
        moved = any(
            nid in self._items and (self._items[nid].pos().x(), self._items[nid].pos().y()) != p
            for nid, p in before.items()
        )
        if moved:
            after = self._state()
            old = self._state()
            for nid, p in before.items():
                if nid in old["pos"]:
                    old["pos"][nid] = p
            self._push_snapshot(old, after, "Move")
