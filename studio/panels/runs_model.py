"""The Qt model over :func:`engine.runs.run_table`: the same cells ``sigma runs`` prints.

Column 0 (the run) is checkable: a checked run's curves are overlaid in the comparison chart. The label
and note cells are editable (written to the run's ``notes.json`` at once). Sorting uses the raw values
(numbers as numbers), filtering the shown text.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui

from engine.runs import RunTable, annotate, run_table

__all__ = ["RunTableModel", "SORT_ROLE"]

SORT_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1
_EDITABLE = ("label", "note")


class RunTableModel(QtCore.QAbstractTableModel):
    """Rows of runs (see :class:`engine.runs.RunTable`); ``checked`` holds the overlaid run names."""

    sigCheckedChanged = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table = RunTable([], [], [], [])
        self.checked: set[str] = set()

    def set_records(self, records) -> None:
        """Show these runs (checks of runs that still exist are kept)."""
        self.beginResetModel()
        self.table = run_table(records)
        names = {r.name for r in records}
        self.checked &= names
        self.endResetModel()

    def record(self, row: int):
        return self.table.records[row]

    def row_of(self, name: str) -> int | None:
        for i, record in enumerate(self.table.records):
            if record.name == name:
                return i
        return None

    def set_checked(self, name: str, checked: bool) -> None:
        row = self.row_of(name)
        if row is None:
            return
        (self.checked.add if checked else self.checked.discard)(name)
        index = self.index(row, 0)
        self.dataChanged.emit(index, index, [QtCore.Qt.ItemDataRole.CheckStateRole])
        self.sigCheckedChanged.emit()

    # ------------------------------------------------------------------ Qt model
    def rowCount(self, parent=None):  # Qt's name
        return 0 if parent is not None and parent.isValid() else len(self.table.rows)

    def columnCount(self, parent=None):  # Qt's name
        return 0 if parent is not None and parent.isValid() else len(self.table.columns)

    def headerData(self, section, orientation, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if orientation == QtCore.Qt.Orientation.Horizontal and role == QtCore.Qt.ItemDataRole.DisplayRole:
            return self.table.columns[section]
        if orientation == QtCore.Qt.Orientation.Horizontal and role == QtCore.Qt.ItemDataRole.ToolTipRole:
            column = self.table.columns[section]
            if column in self.table.setting_columns:
                return f"Setting that differs between runs: {column}"
            return None
        return None

    def flags(self, index):
        flags = super().flags(index)
        column = self.table.columns[index.column()]
        if index.column() == 0:
            flags |= QtCore.Qt.ItemFlag.ItemIsUserCheckable
        if column in _EDITABLE:
            flags |= QtCore.Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, column = index.row(), self.table.columns[index.column()]
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return self.table.text(row, column)
        if role == QtCore.Qt.ItemDataRole.EditRole:
            return self.table.rows[row].get(column) or ""
        if role == SORT_ROLE:
            value = self.table.rows[row].get(column)
            if isinstance(value, bool):
                return int(value)
            if isinstance(value, (int, float)):
                return float(value)
            return "" if value is None else str(value)
        if role == QtCore.Qt.ItemDataRole.CheckStateRole and index.column() == 0:
            checked = self.table.records[row].name in self.checked
            return QtCore.Qt.CheckState.Checked if checked else QtCore.Qt.CheckState.Unchecked
        if role == QtCore.Qt.ItemDataRole.ToolTipRole:
            record = self.table.records[row]
            parts = [f"{record.label} ({record.name})", str(record.path)]
            if record.note:
                parts.append(record.note)
            if record.status.get("error"):
                parts.append(f"error: {record.status['error']}")
            return "\n".join(parts)
        if role == QtCore.Qt.ItemDataRole.FontRole and self.table.records[row].starred:
            font = QtGui.QFont()
            font.setBold(True)
            return font
        return None

    def setData(self, index, value, role=QtCore.Qt.ItemDataRole.EditRole):  # Qt's name
        if not index.isValid():
            return False
        record = self.table.records[index.row()]
        if role == QtCore.Qt.ItemDataRole.CheckStateRole and index.column() == 0:
            self.set_checked(record.name, QtCore.Qt.CheckState(value) == QtCore.Qt.CheckState.Checked)
            return True
        column = self.table.columns[index.column()]
        if role == QtCore.Qt.ItemDataRole.EditRole and column in _EDITABLE:
            self.annotate(index.row(), **{column: str(value)})
            return True
        return False

    def annotate(self, row: int, **changes) -> None:
        """Write label/starred/note of one run and show them at once."""
        record = self.table.records[row]
        record.notes = annotate(record.path, **changes)
        self.table.rows[row].update(
            {"label": record.label, "star": record.starred, "note": record.note or None}
        )
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))
