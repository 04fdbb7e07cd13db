"""The properties editor: the fields of the selected layer's spec, its output shape, parameter count and
the engine's error message for it. Edits go back to the scene as one undoable step each."""

from __future__ import annotations

import json

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .catalog import field_choices
from .items import format_count, format_shape

__all__ = ["PropertiesEditor", "parse_field"]


def parse_field(text: str, previous):
    """Turn what the user typed into a spec value, guided by the field's previous value.

    ``""`` -> ``None``; ``"28, 28"`` or ``"[28, 28]"`` -> ``[28, 28]``; numbers stay numbers; other text
    is a string. Raises ``ValueError`` with the reason when a number was expected.
    """
    text = text.strip()
    if text == "" or text.lower() == "none":
        return None
    if isinstance(previous, float) and not isinstance(previous, bool):
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None
    if isinstance(previous, (list, tuple)) or "," in text or text.startswith(("[", "(")):
        body = text.strip("[]() ")
        try:
            return [json.loads(p) for p in body.split(",") if p.strip()]
        except json.JSONDecodeError:
            raise ValueError(f"expected numbers separated by commas, got {text!r}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return value if isinstance(value, (int, float, bool)) else text


def _show(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


class PropertiesEditor(QWidget):
    """Form for one layer.

    Signals
    -------
    sigEdited(str, dict)
        Layer name and the changed fields (``{"name": new}`` for a rename).
    """

    sigEdited = Signal(str, dict)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._node = None
        self.fields: dict[str, QWidget] = {}
        self.header = QLabel("Select a layer to edit it")
        self.header.setWordWrap(True)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.dataset_button = QPushButton("Use the dataset's input shape")
        self.dataset_button.setToolTip(
            "Set this input's shape to the shape of one record of the imported dataset"
        )
        self.dataset_button.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.form_host)
        layout.addWidget(self.dataset_button)
        layout.addWidget(self.status)
        layout.addStretch(1)

    @property
    def node(self):
        return self._node

    def set_node(self, node) -> None:
        """Show ``node`` (a NodeItem) or nothing."""
        self._node = node
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = {}
        if node is None:
            self.dataset_button.hide()
            self.header.setText("Select a layer to edit it")
            self.status.setText("")
            return
        self.header.setText(f"<b>{node.type}</b> layer")
        self.dataset_button.setVisible(node.type == "input")
        self._add_field("name", node.name)
        for key, value in node.props.items():
            self._add_field(key, value)
        self.refresh_info()

    def refresh_info(self) -> None:
        """Update the shape / parameters / error lines from the node's last validation."""
        node = self._node
        if node is None:
            return
        if node.error:
            self.status.setText(f"<span style='color:#c62828'><b>Error:</b> {node.error}</span>")
        elif node.info:
            self.status.setText(
                f"Output {format_shape(node.output_shape)}<br>{format_count(node.params)} parameters, "
                f"{format_count(node.info.get('flops'))} FLOPs per sample"
            )
        else:
            self.status.setText("")

    def _add_field(self, key: str, value) -> None:
        choices = field_choices(key)
        if choices is not None and not isinstance(value, bool):
            widget = self._combo(key, value, *choices)
        elif isinstance(value, bool):
            widget = QCheckBox()
            widget.setChecked(value)
            widget.toggled.connect(lambda checked, k=key: self._commit(k, bool(checked)))
        elif isinstance(value, int):
            widget = QSpinBox()
            widget.setRange(-1_000_000, 1_000_000_000)
            widget.setValue(value)
            widget.editingFinished.connect(lambda k=key, w=widget: self._commit(k, w.value()))
        else:
            widget = QLineEdit(_show(value))
            widget.setPlaceholderText("none" if value is None else "")
            widget.editingFinished.connect(lambda k=key, w=widget, v=value: self._commit_text(k, w, v))
        widget.setObjectName(f"field_{key}")
        self.fields[key] = widget
        self.form.addRow(key.replace("_", " "), widget)

    def _combo(self, key: str, value, choices: list, editable: bool) -> QComboBox:
        widget = QComboBox()
        widget.setEditable(editable)
        widget.addItems([_show(c) or "none" for c in choices])
        widget.setCurrentText(_show(value) or "none")
        by_text = {(_show(c) or "none"): c for c in choices}

        def commit(text: str) -> None:
            text = text.strip()
            if text in by_text:
                self._commit(key, by_text[text])
                return
            try:  # typed into an editable list: a number or numbers ("1" or "1, 1" pixels of padding)
                parsed = parse_field(text, value)
            except ValueError as exc:
                self.status.setText(f"<span style='color:#c62828'>{key}: {exc}</span>")
                return
            self._commit(key, parsed)

        widget.textActivated.connect(commit)
        if editable:
            widget.lineEdit().editingFinished.connect(lambda: commit(widget.currentText()))
        return widget

    def set_field(self, key: str, text_or_value) -> None:
        """Type a value into a field and commit it, as a user would (used by tests and shortcuts)."""
        widget = self.fields[key]
        if isinstance(widget, QComboBox):
            text = _show(text_or_value) or "none"
            widget.setCurrentText(text)
            widget.textActivated.emit(text)
        elif isinstance(widget, QCheckBox):
            widget.setChecked(bool(text_or_value))
        elif isinstance(widget, QSpinBox):
            widget.setValue(int(text_or_value))
            widget.editingFinished.emit()
        else:
            widget.setText(str(text_or_value))
            widget.editingFinished.emit()

    def _commit_text(self, key: str, widget: QLineEdit, previous) -> None:
        if key == "name":
            if widget.text().strip() and self._node is not None and widget.text().strip() != self._node.name:
                self.sigEdited.emit(self._node.name, {"name": widget.text().strip()})
            return
        try:
            value = parse_field(widget.text(), previous)
        except ValueError as exc:
            widget.setStyleSheet("border: 2px solid #c62828")
            widget.setToolTip(str(exc))
            self.status.setText(f"<span style='color:#c62828'>{key}: {exc}</span>")
            return
        widget.setStyleSheet("")
        widget.setToolTip("")
        self._commit(key, value)

    def _commit(self, key: str, value) -> None:
        node = self._node
        if node is None or node.props.get(key, object()) == value:
            return
        self.sigEdited.emit(node.name, {key: value})
