"""Timing and memory helpers shared by the benchmarks.

- :func:`tune_allocator` raises glibc's mmap and trim thresholds (PERFORMANCE.md: per-step allocations
  otherwise cost page faults that vary run to run), in this process through ``mallopt`` and in child
  processes through :data:`ALLOCATOR_ENV`.
- :func:`interleave` times several step functions in alternating blocks, so the machine's slow phases
  hit every implementation alike, and keeps one ms/step sample per block; report :func:`median`.
- :func:`run_child` runs a command in a fresh Python process and reads back its last JSON line, used to
  measure each implementation's peak RSS (:func:`peak_rss_bytes`) without the others' memory.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

__all__ = [
    "ALLOCATOR_ENV", "tune_allocator", "peak_rss_bytes", "time_block", "interleave", "median",
    "run_child",
]

#: Thresholds given to glibc: allocations below 32 MiB (the largest mmap threshold glibc accepts) come
#: from the heap, and freed heap memory is returned to the system only above 256 MiB of free space.
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 256 * 1024 * 1024
ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD), "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD)}

_M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
_M_MMAP_THRESHOLD = -3


def tune_allocator() -> str:
    """Apply the allocator thresholds to this process; returns a sentence saying what was done."""
    env = ", ".join(f"{k}={v}" for k, v in ALLOCATOR_ENV.items())
    if not sys.platform.startswith("linux"):
        return f"allocator left at its defaults ({sys.platform} is not glibc)"
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    except (OSError, AttributeError) as exc:
        return f"allocator left at its defaults (mallopt unavailable: {exc})"
    if not ok:
        return "allocator left at its defaults (mallopt refused the thresholds)"
    return f"glibc mallopt in this process and {env} in child processes (all implementations alike)"


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far, in bytes."""
    if sys.platform == "win32":
        import psutil

        return int(psutil.Process().memory_info().peak_wset)
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports KiB


def time_block(step: Callable[[], object], seconds: float, min_steps: int = 1) -> tuple[float, int]:
    """Run ``step`` until ``seconds`` have passed (and at least ``min_steps`` times).

    Returns
    -------
    (ms_per_step, steps)
    """
    clock = time.perf_counter
    start = clock()
    deadline = start + seconds
    steps = 0
    while True:
        step()
        steps += 1
        now = clock()
        if now >= deadline and steps >= min_steps:
            return (now - start) * 1e3 / steps, steps


def interleave(steps: dict[str, Callable[[], object]], seconds: float, repeats: int,
               warmup: float = 0.5, on_sample: Callable[[str, float], None] | None = None
               ) -> dict[str, list[float]]:
    """Time each step function in ``repeats`` alternating blocks totalling ``seconds`` per function.

    The order of the functions rotates between repetitions, so none always runs first or right after
    another. Each function first runs for ``warmup`` seconds (at least two steps).

    Returns
    -------
    dict name -> list of ms/step, one per block.
    """
    names = list(steps)
    for name in names:
        time_block(steps[name], warmup, min_steps=2)
    samples: dict[str, list[float]] = {name: [] for name in names}
    block = seconds / max(repeats, 1)
    for r in range(max(repeats, 1)):
        k = r % len(names) if names else 0
        for name in names[k:] + names[:k]:
            ms, _ = time_block(steps[name], block)
            samples[name].append(ms)
            if on_sample:
                on_sample(name, ms)
    return samples


def median(values: list[float]) -> float:
    """The median (NaN for no values)."""
    return statistics.median(values) if values else float("nan")


def run_child(args: list[str], timeout: float = 300.0, cwd: str | None = None) -> dict:
    """Run ``python <args>`` in a fresh process with the allocator settings; parse its last JSON line.

    Raises
    ------
    RuntimeError
        When the child fails or prints no JSON (its stderr tail is in the message).
    """
    env = dict(os.environ, **ALLOCATOR_ENV)
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=cwd)
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    raise RuntimeError(f"child {' '.join(args)} exited with {proc.returncode}: {' | '.join(tail)}")
