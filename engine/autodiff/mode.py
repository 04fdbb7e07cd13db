"""Whether operations record a graph. Thread-local, because data-parallel workers run on threads."""

from __future__ import annotations

import contextlib
import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    """True when new operations are recorded for differentiation on this thread."""
    return getattr(_state, "enabled", True)


class _GradMode(contextlib.ContextDecorator):
    """Sets recording on or off for a block, then puts back what it was. A plain class rather than a
    ``contextlib.contextmanager`` generator: the optimiser and the backward walk enter one every step."""

    __slots__ = ("enabled", "previous")

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.previous = True

    def __enter__(self):
        self.previous = getattr(_state, "enabled", True)
        _state.enabled = self.enabled
        return None

    def __exit__(self, *exc_info):
        _state.enabled = self.previous
        return False


def no_grad():
    """Context manager: operations inside record no graph (inference, optimiser updates)."""
    return _GradMode(False)


def enable_grad():
    """Context manager: turn recording back on inside a ``no_grad`` block."""
    return _GradMode(True)


def set_grad_enabled(enabled: bool):
    """Context manager that sets recording on or off explicitly."""
    return _GradMode(bool(enabled))
