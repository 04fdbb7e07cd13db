"""Errors and argument checks shared by the layers, with Keras-style messages.

``Invalid value for `units` in layer 'fc1'. Expected a positive integer. Received: -3``
"""

from __future__ import annotations

import numpy as np

__all__ = ["LayerError", "LayerShapeError", "check_int", "check_rate", "check_choice", "check_shape"]


class LayerError(ValueError):
    """A bad layer argument, spec or input; ``layer`` names the layer (None when unnamed)."""

    def __init__(self, message: str, layer: str | None = None):
        super().__init__(message)
        self.layer = layer


class LayerShapeError(LayerError):
    """An input whose shape the layer cannot take.

    The message reads ``layer 'fc2' expects 256 inputs, got 784`` and, once the network knows where the
    input came from (:meth:`with_source`), ``... got 784 from 'flatten1'``.
    """

    def __init__(
        self, layer, expected: str, received: str, index: int = 0, source: str | None = None, hint: str = ""
    ):
        self.expected, self.received, self.index, self.source, self.hint = (
            expected,
            received,
            index,
            source,
            hint,
        )
        text = f"layer '{layer}' expects {expected}, got {received}"
        if source:
            text += f" from '{source}'"
        if hint:
            text += f" ({hint})"
        super().__init__(text, layer)

    def with_source(self, source: str) -> LayerShapeError:
        return LayerShapeError(self.layer, self.expected, self.received, self.index, source, self.hint)


def _label(layer_name, cls_name):
    return f"layer '{layer_name}'" if layer_name else f"layer {cls_name}"


def check_int(layer, arg, value, minimum=1, allow_none=False):
    """``value`` as an int >= ``minimum``, or a Keras-style error naming the argument and the layer."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= minimum
    if not ok:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise LayerError(
            f"Invalid value for `{arg}` in {_label(layer.name, type(layer).__name__)}. "
            f"Expected {what}. Received: {value!r}",
            layer.name,
        )
    return int(value)


def check_rate(layer, arg, value, high_inclusive=False):
    """``value`` as a float in [0, 1) (or [0, 1])."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value
    ok = ok and (value <= 1 if high_inclusive else value < 1)
    if not ok:
        rng = "0 <= value <= 1" if high_inclusive else "0 <= value < 1"
        raise LayerError(
            f"Invalid value for `{arg}` in {_label(layer.name, type(layer).__name__)}. "
            f"Expected a number with {rng}. Received: {value!r}",
            layer.name,
        )
    return float(value)


def check_choice(layer, arg, value, choices):
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        raise LayerError(
            f"Invalid value for `{arg}` in {_label(layer.name, type(layer).__name__)}. "
            f"Expected one of {list(choices)}. Received: {value!r}",
            layer.name,
        )
    return value


def check_shape(layer, arg, value, length=None, allow_minus_one=False):
    """``value`` (an int or a sequence of ints) as a tuple of positive ints (optionally of ``length``)."""
    seq = (value,) if isinstance(value, int | np.integer) and not isinstance(value, bool) else value
    try:
        items = tuple(seq)
    except TypeError:
        items = None
    low = -1 if allow_minus_one else 1
    good = items is not None and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and (v >= 1 or v == low) for v in items
    )
    if good and length is not None:
        if len(items) == 1 and length > 1:
            items = items * length
        good = len(items) == length
    if good and allow_minus_one:
        good = sum(1 for v in items if v == -1) <= 1
    if not good or not items:
        what = f"{length} positive integer(s)" if length else "a tuple of positive integers"
        raise LayerError(
            f"Invalid value for `{arg}` in {_label(layer.name, type(layer).__name__)}. "
            f"Expected {what}. Received: {value!r}",
            layer.name,
        )
    return tuple(int(v) for v in items)
