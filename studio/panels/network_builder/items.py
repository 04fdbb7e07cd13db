"""Graphics items of the graph canvas: layer nodes, their ports, and the edges between them."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsObject, QGraphicsPathItem

from .catalog import port_count
from .spec_io import NodeData

__all__ = ["NodeItem", "PortItem", "EdgeItem", "format_count", "format_shape"]

NODE_W, NODE_H, PORT_R = 190.0, 58.0, 6.0
_GROUP_COLOURS = {
    "input": "#5b8def",
    "dense": "#7e57c2",
    "conv": "#26a69a",
    "pool": "#43a047",
    "norm": "#f9a825",
    "rnn": "#ef6c00",
    "merge": "#8d6e63",
    "loss": "#d81b60",
    "other": "#607d8b",
}
ERROR_COLOUR = QColor("#e53935")
#: Health overlay colours by worst finding (see studio.panels.network_builder.health_overlay).
HEALTH_COLOURS = {"ok": QColor("#43a047"), "warning": QColor("#fb8c00"), "problem": QColor("#e53935")}


def _accent(type_: str) -> QColor:
    t = type_.lower()
    if t == "input":
        key = "input"
    elif t.startswith("conv"):
        key = "conv"
    elif "pool" in t:
        key = "pool"
    elif "norm" in t:
        key = "norm"
    elif t in ("lstm", "gru", "simple_rnn", "embedding"):
        key = "rnn"
    elif t in ("add", "concatenate", "multiply"):
        key = "merge"
    elif "entropy" in t or "error" in t:
        key = "loss"
    elif t == "dense":
        key = "dense"
    else:
        key = "other"
    return QColor(_GROUP_COLOURS[key])


def format_count(n) -> str:
    """1234 -> '1.2k', 3_400_000 -> '3.4M'."""
    if n is None:
        return "?"
    n = float(n)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f}{unit}"
    return f"{int(n)}"


def format_shape(shape) -> str:
    """A per-sample shape as the node shows it: ``(28, 28, 1)``; ``?`` when unknown."""
    if shape is None:
        return "?"
    if isinstance(shape, dict):  # several outputs
        return ", ".join(f"{k}: {format_shape(v)}" for k, v in shape.items())
    dims = tuple(shape)
    return "(" + ", ".join("?" if d is None else str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


class PortItem(QGraphicsEllipseItem):
    """An input port (top of a node) or the output port (bottom); edges are dragged between them."""

    def __init__(self, node: NodeItem, index: int, is_output: bool):
        super().__init__(-PORT_R, -PORT_R, 2 * PORT_R, 2 * PORT_R, node)
        self.node = node
        self.index = index
        self.is_output = is_output
        self.setBrush(QBrush(QColor("#eceff1")))
        self.setPen(QPen(QColor("#37474f"), 1.5))
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("drag to an input port to connect" if is_output else f"input {index}")

    def hoverEnterEvent(self, event):
        self.setBrush(QBrush(QColor("#ffd54f")))
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event):
        self.setBrush(QBrush(QColor("#eceff1")))
        super().hoverLeaveEvent(event)


class NodeItem(QGraphicsObject):
    """One layer on the canvas: name and type, output shape and parameter count, error highlight.

    Attributes
    ----------
    node_id : int
        Stable identity across renames (undo snapshots are keyed by it).
    data : NodeData
    info : dict
        The last validation result for this node (``output_shape``, ``params``, ``flops``, ``error``).
    """

    def __init__(self, node_id: int, data: NodeData):
        super().__init__()
        self.node_id = node_id
        self.data = data
        self.info: dict = {}
        self.health: dict | None = None  # {"severity", "sparkline": [values], "tip"} while shown
        self.edges: list[EdgeItem] = []
        self.input_ports: list[PortItem] = []
        self.output_port = PortItem(self, 0, True)
        self.output_port.setPos(NODE_W / 2, NODE_H)
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
        )
        self.setZValue(1)
        self.sync_ports()

    # -- convenience read-outs used by tests and the panel --------------------------------------------
    @property
    def name(self) -> str:
        return self.data.name

    @property
    def type(self) -> str:
        return self.data.type

    @property
    def props(self) -> dict:
        return self.data.props

    @property
    def output_shape(self):
        return self.info.get("output_shape")

    @property
    def params(self):
        return self.info.get("params")

    @property
    def error(self) -> str | None:
        return self.info.get("error") or None

    # -- drawing ------------------------------------------------------------------------------------
    def sync_ports(self) -> None:
        """Create or drop input ports to match the type and the connections."""
        wanted = port_count(self.data.type, len(self.data.inputs))
        while len(self.input_ports) < wanted:
            self.input_ports.append(PortItem(self, len(self.input_ports), False))
        while len(self.input_ports) > wanted:
            port = self.input_ports.pop()
            port.setParentItem(None)
            if port.scene() is not None:
                port.scene().removeItem(port)
        for i, port in enumerate(self.input_ports):
            port.setPos(NODE_W * (i + 1) / (wanted + 1), 0.0)
        self.output_port.setVisible(True)

    def set_info(self, info: dict) -> None:
        self.info = dict(info or {})
        error = self.error
        tip = f"{self.data.name} ({self.data.type})"
        if error:
            tip += f"\nerror: {error}"
        else:
            tip += f"\noutput {format_shape(self.output_shape)}, {format_count(self.params)} parameters"
        self.setToolTip(tip)
        self.update()

    def set_health(self, health: dict | None) -> None:
        """Show (or, with None, hide) the health overlay: a border in the colour of the worst finding,
        a sparkline of the gradient norm and the figures in the tooltip."""
        if health == self.health:
            return
        self.health = health
        self.set_info(self.info)  # rebuilds the tooltip
        if health is not None and health.get("tip"):
            self.setToolTip(f"{self.toolTip()}\n\n{health['tip']}")

    @property
    def health_severity(self) -> str | None:
        return None if self.health is None else self.health.get("severity")

    def _paint_health(self, painter: QPainter) -> None:
        colour = HEALTH_COLOURS.get(self.health.get("severity"), QColor("#9e9e9e"))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(colour, 4))
        painter.drawRoundedRect(QRectF(-1, -1, NODE_W + 2, NODE_H + 2), 7, 7)
        values = [v for v in self.health.get("sparkline") or [] if v > 0]
        if len(values) < 2:
            return
        logs = [math.log10(v) for v in values]
        lo, hi = min(logs), max(logs)
        box = QRectF(NODE_W - 66, 30, 58, 22)
        path = QPainterPath()
        for k, y in enumerate(logs):
            px = box.left() + box.width() * k / (len(logs) - 1)
            py = box.bottom() - (box.height() * (y - lo) / (hi - lo) if hi > lo else box.height() / 2)
            path.moveTo(px, py) if k == 0 else path.lineTo(px, py)
        painter.setPen(QPen(colour, 1.5))
        painter.drawPath(path)

    def boundingRect(self) -> QRectF:
        return QRectF(-4, -4, NODE_W + 8, NODE_H + 8)  # room for the health border

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(0, 0, NODE_W, NODE_H)
        error = self.error
        border = ERROR_COLOUR if error else (QColor("#ffca28") if self.isSelected() else QColor("#37474f"))
        painter.setPen(QPen(border, 3 if (error or self.isSelected()) else 1.2))
        painter.setBrush(QBrush(QColor("#fdfdfd")))
        painter.drawRoundedRect(rect, 6, 6)
        accent = _accent(self.data.type)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(accent)
        painter.drawRoundedRect(QRectF(0, 0, 8, NODE_H), 4, 4)
        title = QFont()
        title.setBold(True)
        painter.setFont(title)
        painter.setPen(QColor("#212121"))
        painter.drawText(QRectF(14, 5, NODE_W - 18, 18), Qt.AlignmentFlag.AlignLeft, f"{self.data.name}")
        small = QFont()
        small.setPointSizeF(max(6.0, small.pointSizeF() - 1))
        painter.setFont(small)
        painter.setPen(QColor("#616161"))
        painter.drawText(QRectF(14, 5, NODE_W - 20, 18), Qt.AlignmentFlag.AlignRight, self.data.type)
        if error:
            painter.setPen(ERROR_COLOUR)
            text = error if len(error) < 60 else error[:57] + "..."
            painter.drawText(QRectF(14, 24, NODE_W - 18, 30), Qt.TextFlag.TextWordWrap, text)
        elif self.info and self.output_shape is None:
            painter.setPen(QColor("#9e9e9e"))
            painter.drawText(
                QRectF(14, 24, NODE_W - 18, 30),
                Qt.TextFlag.TextWordWrap,
                "shape unknown until the layers above are fixed",
            )
        elif self.info and self.output_shape is None:
            painter.setPen(QColor("#9e9e9e"))
            painter.drawText(
                QRectF(14, 24, NODE_W - 18, 30),
                Qt.TextFlag.TextWordWrap,
                "shape unknown until the layers above are fixed",
            )
        elif self.info:
            painter.setPen(QColor("#263238"))
            painter.drawText(
                QRectF(14, 24, NODE_W - 18, 14),
                Qt.AlignmentFlag.AlignLeft,
                f"out {format_shape(self.output_shape)}",
            )
            painter.setPen(QColor("#616161"))
            painter.drawText(
                QRectF(14, 39, NODE_W - 18, 14),
                Qt.AlignmentFlag.AlignLeft,
                f"{format_count(self.params)} params",
            )

        if self.health is not None:
            self._paint_health(painter)

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
        return super().itemChange(change, value)

    def port_pos(self, index: int, output: bool) -> QPointF:
        """Scene position of a port."""
        if output:
            return self.output_port.scenePos()
        if 0 <= index < len(self.input_ports):
            return self.input_ports[index].scenePos()
        return self.mapToScene(QPointF(NODE_W / 2, 0))


class EdgeItem(QGraphicsPathItem):
    """A connection from ``src``'s output to input port ``port`` of ``dst``; red when ``dst`` is invalid."""

    def __init__(self, src: NodeItem, dst: NodeItem, port: int):
        super().__init__()
        self.src = src
        self.dst = dst
        self.port = port
        self.setZValue(0)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.error: str | None = None
        self.set_error(None)
        self.update_path()

    def set_error(self, error: str | None) -> None:
        self.error = error or None
        colour = ERROR_COLOUR if self.error else QColor("#546e7a")
        self.setPen(QPen(colour, 3 if self.error else 2))
        self.setToolTip(
            f"{self.src.name} -> {self.dst.name}" + (f"\nerror: {self.error}" if self.error else "")
        )

    def update_path(self) -> None:
        a = self.src.port_pos(0, True)
        b = self.dst.port_pos(self.port, False)
        path = QPainterPath(a)
        span = b.y() - a.y()
        if span > 2.2 * NODE_H or span < 0:
            # A skip connection (or one going back up) would run under the nodes in between: swing it out
            # to the side of the port it enters.
            centre = self.dst.mapToScene(QPointF(NODE_W / 2, 0)).x()
            side = -0.85 * NODE_W if b.x() < centre else 0.85 * NODE_W
            reach = max(40.0, abs(span) / 3)
            path.cubicTo(QPointF(a.x() + side, a.y() + reach), QPointF(b.x() + side, b.y() - reach), b)
        else:
            dy = max(30.0, abs(span) / 2)
            path.cubicTo(QPointF(a.x(), a.y() + dy), QPointF(b.x(), b.y() - dy), b)
        self.setPath(path)

    def paint(self, painter, option, widget=None):
        if self.isSelected():
            pen = QPen(self.pen())
            pen.setColor(QColor("#ffca28"))
            pen.setWidthF(4)
            painter.setPen(pen)
            painter.drawPath(self.path())
            return
        super().paint(painter, option, widget)
