"""Validated input fields: a value is accepted only when it passes its check; a refused value leaves
the last good one in force and shows why, under the field, in words.

Why not ``QDoubleValidator``: a validator silently swallows keystrokes, so the user never learns why
"-0.1" cannot be typed; here the text is kept, the field turns red and a message names the rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

__all__ = ["ValidatedField", "FloatField", "IntField"]


class ValidatedField(QtWidgets.QWidget):
    """A line edit plus an error label. Emits ``sigValueChanged(value)`` only for accepted values.

    Parameters
    ----------
    label : str
        Name used in messages ("Learning rate").
    value : initial value (must be valid)
    parse : callable(str) -> value, raising ValueError with a message for the user
    """

    sigValueChanged = QtCore.Signal(object)

    def __init__(
        self,
        label: str,
        value,
        parse: Callable[[str], object],
        tooltip: str = "",
        parent: QtWidgets.QWidget | None = None,
    ):
        super().__init__(parent)
        self.label = label
        self._parse = parse
        self._value = value
        self.edit = QtWidgets.QLineEdit(self.format(value))
        sentence = f"{tooltip.rstrip('.')}." if tooltip else f"{label}."
        self.edit.setToolTip(f"{sentence} {self.describe_range()}".strip())
        self.edit.editingFinished.connect(self._commit)
        self.edit.textEdited.connect(self._check_live)
        self.error_label = QtWidgets.QLabel()
        self.error_label.setProperty("role", "field-error")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addWidget(self.edit)
        layout.addWidget(self.error_label)

    def format(self, value) -> str:
        return str(value)

    def describe_range(self) -> str:
        """The accepted values in a sentence, for the tooltip ("" when anything goes)."""
        return ""

    def value(self):
        """The last accepted value."""
        return self._value

    def error(self) -> str:
        """The message shown for the current text ('' when it is valid)."""
        return "" if self.error_label.isHidden() else self.error_label.text()

    def set_value(self, value) -> None:
        """Set a value from code (no signal)."""
        self._value = value
        self.edit.setText(self.format(value))
        self._show_error("")

    def set_text(self, text: str) -> bool:
        """Type ``text`` and press Enter, as a user would. Returns whether it was accepted."""
        self.edit.setText(text)
        return self._commit()

    def _check_live(self, text: str) -> None:
        try:
            self._parse(text)
        except ValueError as exc:
            self._show_error(str(exc))
        else:
            self._show_error("")

    def _commit(self) -> bool:
        text = self.edit.text()
        try:
            value = self._parse(text)
        except ValueError as exc:
            self._show_error(str(exc))
            return False
        self._show_error("")
        if value != self._value:
            self._value = value
            self.sigValueChanged.emit(value)
        return True

    def _show_error(self, message: str) -> None:
        self.edit.setProperty("invalid", bool(message))
        self.edit.style().unpolish(self.edit)
        self.edit.style().polish(self.edit)
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))


class FloatField(ValidatedField):
    """A float in ``[minimum, maximum]`` (``minimum_open`` excludes the minimum itself)."""

    def __init__(
        self,
        label: str,
        value: float,
        minimum: float | None = None,
        maximum: float | None = None,
        minimum_open: bool = False,
        tooltip: str = "",
        parent=None,
    ):
        self.minimum, self.maximum, self.minimum_open = minimum, maximum, minimum_open

        def parse(text: str) -> float:
            try:
                v = float(text.strip())
            except ValueError:
                raise ValueError(f"{label} must be a number (got {text.strip()!r})") from None
            if not math.isfinite(v):
                raise ValueError(f"{label} must be a finite number (got {text.strip()})")
            if minimum is not None and (v < minimum or (minimum_open and v == minimum)):
                rule = "greater than" if minimum_open else "at least"
                raise ValueError(f"{label} must be {rule} {minimum:g} (got {v:g})")
            if maximum is not None and v > maximum:
                raise ValueError(f"{label} must be at most {maximum:g} (got {v:g})")
            return v

        super().__init__(label, value, parse, tooltip, parent)

    def describe_range(self) -> str:
        low, high = self.minimum, self.maximum
        parts = []
        if low is not None:
            parts.append(f"{'greater than' if self.minimum_open else 'at least'} {low:g}")
        if high is not None:
            parts.append(f"at most {high:g}")
        return f"A number {' and '.join(parts)}." if parts else "Any number."

    def format(self, value) -> str:
        return f"{value:g}"


class IntField(ValidatedField):
    """An integer in ``[minimum, maximum]``; ``maximum_reason`` explains the upper bound."""

    def __init__(
        self,
        label: str,
        value: int,
        minimum: int | None = None,
        maximum: int | None = None,
        maximum_reason: str = "",
        tooltip: str = "",
        parent=None,
    ):
        self.minimum, self.maximum = minimum, maximum

        def parse(text: str) -> int:
            try:
                v = int(text.strip())
            except ValueError:
                raise ValueError(f"{label} must be a whole number (got {text.strip()!r})") from None
            if minimum is not None and v < minimum:
                raise ValueError(f"{label} must be at least {minimum} (got {v})")
            if maximum is not None and v > maximum:
                why = f" ({maximum_reason})" if maximum_reason else ""
                raise ValueError(f"{label} must be at most {maximum}{why} (got {v})")
            return v

        super().__init__(label, value, parse, tooltip, parent)

    def describe_range(self) -> str:
        low, high = self.minimum, self.maximum
        if low is None and high is None:
            return "A whole number."
        if high is None:
            return f"A whole number from {low:,}."
        if low is None:
            return f"A whole number up to {high:,}."
        return f"A whole number from {low:,} to {high:,}."
