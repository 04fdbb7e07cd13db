"""How many threads numpy's BLAS may use, and the studio's option to leave one core to the GUI.

``Bridge(leave_core_for_gui=True)`` puts BLAS on ``cores - 1`` threads while a run is live. It was the
default while the GUI thread used ~25 % of a core and repainted the window 60 times a second: then on 2
cores OpenBLAS's second thread and the Qt main thread fought for one core. Since the views are paced
(``studio.pacing``) the GUI uses ~14 % of a core, and one run of ``python -m bench gui`` gave the
GUI-attached CNN 1.02 of headless throughput with all cores against 0.88 with one left free: a free
core now costs more than the GUI takes. So the option is off by default and kept for machines where
the GUI is the bottleneck. OpenBLAS (what numpy's wheels bundle) is found among the loaded libraries and
asked through its C API; with any other BLAS this module does nothing.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["get", "set", "available"]

_NAMES = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)
_lib = None
_setter = None
_getter = None


def _find():
    global _lib, _setter, _getter
    if _lib is not None:
        return _setter is not None
    _lib = False
    try:
        import numpy  # noqa: F401 - its BLAS must be loaded before we look for it

        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = sorted({line.split()[-1] for line in fh if "openblas" in line.lower() and ".so" in line})
    except OSError:  # not Linux: no /proc; leave BLAS alone
        return False
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _NAMES:
            if hasattr(lib, name):
                _lib, _setter = lib, getattr(lib, name)
                getter = name.replace("set_num_threads", "get_num_threads")
                _getter = getattr(lib, getter, None)
                return True
    return False


def available() -> bool:
    """True when numpy's BLAS is OpenBLAS and its thread count can be changed."""
    return _find()


def get() -> int | None:
    """The BLAS thread count, or None when unknown."""
    if not _find() or _getter is None:
        return None
    return int(_getter())


def set(threads: int) -> int | None:  # mirrors OpenBLAS's own name
    """Use ``threads`` BLAS threads (at least 1); returns the previous count (None when unknown)."""
    if not _find():
        return None
    previous = get()
    _setter(max(1, int(threads)))
    return previous


def leave_one_core() -> int | None:
    """BLAS on all cores but one (at least one thread); returns the previous count."""
    return set(max(1, (os.cpu_count() or 1) - 1))
