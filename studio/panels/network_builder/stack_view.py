"""The linear-stack view: a simple network shown as the ordered list of its layers (with shapes and
parameter counts), reordered with Move up / Move down. Graphs that branch are shown in the graph view
only; this view then says so."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .items import HEALTH_COLOURS, format_count, format_shape
from .spec_io import is_linear, topological_order

__all__ = ["StackView"]


class StackView(QWidget):
    """Table of the layers of a linear network, in order.

    Signals
    -------
    sigSelected(str)
        A row was selected (the layer name).
    sigReorder(list)
        The user moved a layer: the new order of layer names.
    """

    sigSelected = Signal(str)
    sigReorder = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Layer", "Type", "Output shape", "Parameters"])
        # Columns as wide as their contents (never clipped: a narrow column scrolls sideways instead);
        # the last one takes what is left.
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setTabKeyNavigation(False)  # Tab moves on to the next control, not to the next cell
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.up = QPushButton("Move up")
        self.down = QPushButton("Move down")
        self.up.setToolTip("Move the selected layer one place earlier in the stack (undoable).")
        self.down.setToolTip("Move the selected layer one place later in the stack (undoable).")
        buttons = QHBoxLayout()
        buttons.addWidget(self.up)
        buttons.addWidget(self.down)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.order: list[str] = []
        self.health: dict | None = None  # name -> (severity, text, tip) while the overlay is shown
        self.linear = True
        self.table.itemSelectionChanged.connect(self._on_select)
        self.up.clicked.connect(lambda: self.move_selected(-1))
        self.down.clicked.connect(lambda: self.move_selected(+1))

    def show_nodes(self, node_items) -> None:
        """Fill the table from the scene's node items (in network order)."""
        datas = [n.data for n in node_items]
        by_name = {n.name: n for n in node_items}
        self.linear = is_linear(datas)
        self.order = [d.name for d in topological_order(datas)]
        self.table.setEnabled(self.linear)
        self.up.setEnabled(self.linear)
        self.down.setEnabled(self.linear)
        if self.linear:
            self.note.setText("A linear stack: each layer feeds the next. Select a layer to edit it.")
        else:
            self.note.setText("This network branches or merges, so it is edited in the Graph view only.")
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.order))
        for row, name in enumerate(self.order):
            node = by_name[name]
            error = node.error
            cells = [
                name,
                node.type,
                "error" if error else format_shape(node.output_shape),
                format_count(node.params) if node.info else "?",
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if error:
                    item.setToolTip(error)
                    item.setForeground(QColor("#c62828"))
                self.table.setItem(row, col, item)
        self._fill_health(by_name)
        self.table.blockSignals(False)

    def show_health(self, health: dict | None, node_items=()) -> None:
        """Show a Health column (``{name: (severity, text, tip)}``), or hide it with None."""
        self.health = health
        if node_items:
            self.show_nodes(node_items)

    def _fill_health(self, by_name) -> None:
        if self.health is None:
            self.table.setColumnCount(4)
            return
        self.table.setColumnCount(5)
        self.table.setHorizontalHeaderItem(4, QTableWidgetItem("Health"))
        for row, name in enumerate(self.order):
            severity, text, tip = self.health.get(name, (None, "", ""))
            item = QTableWidgetItem(text if severity else "not measured")
            if severity:
                item.setForeground(HEALTH_COLOURS[severity])
            item.setToolTip(tip)
            self.table.setItem(row, 4, item)

    def select_name(self, name: str | None) -> None:
        self.table.blockSignals(True)
        self.table.clearSelection()
        if name in self.order:
            self.table.selectRow(self.order.index(name))
        self.table.blockSignals(False)

    def move_selected(self, step: int) -> None:
        """Move the selected layer up (-1) or down (+1); the input layer stays first."""
        rows = self.table.selectionModel().selectedRows()
        if not rows or not self.linear:
            return
        row = rows[0].row()
        target = row + step
        if not 0 <= target < len(self.order):
            return
        order = list(self.order)
        order[row], order[target] = order[target], order[row]
        self.sigReorder.emit(order)

    def _on_select(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.sigSelected.emit(self.order[rows[0].row()])
