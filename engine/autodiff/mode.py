"""Whether operations record a graph. Thread-local, because data-parallel workers run on threads."""

from __future__ import annotations

import contextlib
import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    """True when new operations are recorded for differentiation on this thread."""
    return getattr(_state, "enabled", True)


@contextlib.contextmanager
def _set_grad(enabled: bool):
    previous = is_grad_enabled()
    _state.enabled = enabled
    try:
        yield
    finally:
        _state.enabled = previous


def no_grad():
    """Context manager: operations inside record no graph (inference, optimiser updates)."""
    return _set_grad(False)


def enable_grad():
    """Context manager: turn recording back on inside a ``no_grad`` block."""
    return _set_grad(True)


def set_grad_enabled(enabled: bool):
    """Context manager that sets recording on or off explicitly."""
    return _set_grad(bool(enabled))
