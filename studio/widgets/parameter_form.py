"""Forms of named numeric parameters (an optimiser's, a schedule's), rebuilt when the kind changes.

The tables name each parameter with its label, type, default and bounds, so every field refuses bad
values with the same wording as the rest of the training panel.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from studio.widgets.fields import FloatField, IntField, ValidatedField

__all__ = ["ParameterForm", "make_field", "OPTIMISER_PARAMETERS", "SCHEDULE_PARAMETERS"]

# (key, label, kind, default, minimum, maximum); kind "f" float, "f>" float above the minimum, "i" int.
_DECAY = ("weight_decay", "Weight decay", "f", 0.0, 0.0, None)
OPTIMISER_PARAMETERS = {
    "sgd": [_DECAY],
    "momentum": [("momentum", "Momentum", "f", 0.9, 0.0, 1.0), _DECAY],
    "nesterov": [("momentum", "Momentum", "f", 0.9, 0.0, 1.0), _DECAY],
    "adagrad": [_DECAY],
    "adadelta": [("rho", "Rho", "f", 0.95, 0.0, 1.0), _DECAY],
    "rmsprop": [("rho", "Rho", "f", 0.9, 0.0, 1.0), _DECAY],
    "adam": [("beta1", "Beta 1", "f", 0.9, 0.0, 1.0), ("beta2", "Beta 2", "f", 0.999, 0.0, 1.0), _DECAY],
    "adamw": [
        ("beta1", "Beta 1", "f", 0.9, 0.0, 1.0),
        ("beta2", "Beta 2", "f", 0.999, 0.0, 1.0),
        ("weight_decay", "Weight decay", "f", 0.01, 0.0, None),
    ],
    "adamax": [("beta1", "Beta 1", "f", 0.9, 0.0, 1.0), ("beta2", "Beta 2", "f", 0.999, 0.0, 1.0), _DECAY],
}
SCHEDULE_PARAMETERS = {
    "none": [],
    "step": [
        ("step_size", "Every (steps)", "i", 1000, 1, None),
        ("gamma", "Multiply by", "f>", 0.1, 0.0, 1.0),
    ],
    "exponential": [("gamma", "Multiply each step by", "f>", 0.999, 0.0, 1.0)],
    "cosine": [
        ("total_steps", "Total steps", "i", 1000, 1, None),
        ("warmup_steps", "Warm-up steps", "i", 0, 0, None),
    ],
    "one_cycle": [
        ("total_steps", "Total steps", "i", 1000, 2, None),
        ("pct_start", "Rising share", "f>", 0.3, 0.0, 1.0),
    ],
    "plateau": [
        ("factor", "Multiply by", "f>", 0.1, 0.0, 1.0),
        ("patience", "Patience (epochs)", "i", 5, 1, None),
    ],
}


def make_field(label, kind, value, minimum, maximum):
    if kind == "i":
        return IntField(label, int(value), minimum, maximum)
    return FloatField(label, float(value), minimum, maximum, minimum_open=kind == "f>")


class ParameterForm(QtWidgets.QWidget):
    """A small form rebuilt for the chosen optimiser or schedule; emits the accepted values as a dict."""

    sigChanged = QtCore.Signal(dict)

    def __init__(self, table: dict, parent=None):
        super().__init__(parent)
        self.table = table
        self.form = QtWidgets.QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.fields: dict[str, ValidatedField] = {}

    def rebuild(self, kind: str, values: dict) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = {}
        for key, label, ftype, default, lo, hi in self.table.get(kind, []):
            field = make_field(label, ftype, values.get(key, default), lo, hi)
            field.sigValueChanged.connect(lambda *_: self.sigChanged.emit(self.values()))
            self.form.addRow(label, field)
            self.fields[key] = field

    def values(self) -> dict:
        return {key: field.value() for key, field in self.fields.items()}
