"""glibc allocator thresholds for a training process: without them, every step's large temporaries
cost page faults.

numpy asks malloc for each array; glibc serves blocks above its mmap threshold (128 KiB at start,
adjusted as blocks are freed) with fresh ``mmap`` pages and returns them with ``munmap`` when freed.
A training step allocates and frees the same large temporaries every time, so each step faults in and
zeroes fresh pages: ~7 % of the training thread's time in the kernel on the CNN of ``python -m bench
gui`` (``perf``), and step times that vary from process to process (../shared/PERFORMANCE.md: 11.5 to
16.4 ms on one CNN). Raising the mmap and trim thresholds keeps freed blocks in the heap for the next
step. An application owns its process's allocator, so ``sigma`` and ``sigma-studio`` call :func:`tune`
at start-up; importing ``engine`` changes nothing. Elsewhere than Linux/glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "ALLOCATOR_ENV", "tune"]

#: Allocations below 32 MiB (the largest mmap threshold glibc accepts) come from the heap, and freed
#: heap memory is returned to the system only above 256 MiB of free space.
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 256 * 1024 * 1024
#: The same settings for child processes, through glibc's environment variables.
ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD), "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD)}

_M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
_M_MMAP_THRESHOLD = -3


def tune() -> str:
    """Apply the thresholds to this process (Linux, glibc); returns a sentence saying what was done."""
    if not sys.platform.startswith("linux"):
        return f"allocator left at its defaults ({sys.platform} is not glibc)"
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(
            _M_TRIM_THRESHOLD, TRIM_THRESHOLD
        )
    except (OSError, AttributeError) as exc:
        return f"allocator left at its defaults (mallopt unavailable: {exc})"
    if not ok:
        return "allocator left at its defaults (mallopt refused the thresholds)"
    return "glibc mmap threshold 32 MiB, trim threshold 256 MiB"
