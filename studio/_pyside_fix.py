"""Work around PySide6 6.12.0's reference counting of singletons on Python 3.10 and 3.11.

The 6.12.0 wheels (``cp310-abi3``) return ``None``, ``True`` and ``False`` from C++ without adding the
reference they hand over, as if those objects were immortal, which they are only from Python 3.12 on.
On 3.11 every ``label.setText(...)``, ``timer.start()``, ``signal.emit(...)`` and every Python override
that Qt calls (``paint``, ``event``) takes one reference from a singleton, and after some tens of
thousands of calls (seconds of live charts) the interpreter aborts with "none_dealloc: deallocating
None" or "bool_dealloc". Measured: 200 ``QLabel.setText`` calls take 200 references from ``None``.

The fix gives those singletons the immortality that the wheel assumes: their reference counts are
raised by 2**40 once, at import, so they can never reach zero (the objects live as long as the
interpreter anyway). Nothing is done on Python 3.12+, where they are immortal already.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["install", "INSTALLED"]

INSTALLED = False
_LIFT = (
    1 << 40
)  # a trillion stolen references before any trouble: never, at a million calls a second for 12 days


def _singletons() -> list:
    """The objects CPython 3.12 makes immortal that C code may return without a new reference."""
    return [None, True, False, NotImplemented, Ellipsis, (), "", b"", *range(-5, 257)]


def install() -> bool:
    """Lift the singletons' reference counts (once; only on Python < 3.12). Returns whether it did."""
    global INSTALLED
    if INSTALLED or sys.version_info >= (3, 12):
        return INSTALLED
    for obj in _singletons():
        # ob_refcnt is the first field of every PyObject (Py_ssize_t); the GIL makes this update atomic
        # with respect to other Python threads' reference counting.
        ctypes.c_ssize_t.from_address(id(obj)).value += _LIFT
    INSTALLED = True
    return True
