"""Both cores for memory-bound array work: run a function over contiguous parts of the batch at once.

numpy's GEMM already uses every BLAS thread, but its elementwise loops, copies and reductions run on
the calling thread alone. numpy releases the GIL inside those loops, so splitting a large op into
batch parts run on a small thread pool gives the second core to the memory-bound half of a training
step (pooling, im2col/col2im copies, ReLU, optimiser updates).

With ``auto`` the split follows the BLAS thread budget: as many parts as OpenBLAS has threads right
now (read each time through threadpoolctl, so ``threadpool_limits``, the data-parallel operator's one
BLAS thread per worker, and the studio's "leave a core for the GUI" all shrink it too), or fewer when
the work is small. One split runs at a time; a second caller meanwhile runs its work whole on its own
thread. Results are bit-identical to the whole op: every part does the same elementwise maths on its
own rows.

Splitting is OFF unless asked for (environment ``SIGMA_SPLIT_THREADS=auto`` or a count, or
:func:`set_threads`): on the project's quiet 2-core machine it made the bench's W2 and W4 steps 5-6 %
slower with two BLAS threads (issue 22, bench/README.md), and on a busy one a helper that waits for a
core, or OpenBLAS's threads still spinning after a GEMM, make it slower still.
"""

from __future__ import annotations

import os
import queue
import threading

import numpy as np

__all__ = ["threads", "split", "set_threads", "MIN_ELEMENTS", "ENV"]

#: Fewest array elements a split is worth: below this the hand-off (tens of us) costs more than it saves.
MIN_ELEMENTS = 1 << 17

#: A helper thread with nothing to do for this long ends (so none outlives a run by much).
IDLE_S = 0.25

#: Environment variable with the default: ``auto`` (follow BLAS) or a number of parts (1: off).
ENV = "SIGMA_SPLIT_THREADS"


def _from_env() -> int | None:
    value = os.environ.get(ENV, "1").strip().lower()
    if value == "auto":
        return None
    try:
        return max(1, int(value))
    except ValueError:
        return 1  # a setting we cannot read leaves splitting off rather than failing an import


_explicit: int | None = _from_env()
_busy = threading.Lock()  # one split at a time
_lock = threading.Lock()  # guards the helpers' alive flags against a helper deciding to end
_blas = None  # threadpoolctl's controller of numpy's BLAS, found on first use (False: none)


class _Job:
    def __init__(self, function, part):
        self.function, self.part = function, part
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.function(self.part)
        except BaseException as exc:  # handed to the caller, which re-raises it
            self.error = exc
        finally:
            self.done.set()


class _Helper:
    """One daemon thread serving its own job queue; it ends after ``IDLE_S`` without a job."""

    def __init__(self, index: int):
        self.index = index
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.alive = False

    def give(self, job: _Job) -> None:
        with _lock:
            self.jobs.put(job)
            if not self.alive:
                self.alive = True
                threading.Thread(target=self._serve, name=f"sigma-split-{self.index}", daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                job = self.jobs.get(timeout=IDLE_S)
            except queue.Empty:
                with _lock:
                    if self.jobs.empty():
                        self.alive = False
                        return
                continue
            job.run()


_helpers: list[_Helper] = []


def set_threads(count: int | None) -> None:
    """Use at most ``count`` parts per split (1 turns splitting off); ``None`` follows numpy's BLAS
    thread count (the ``auto`` of ``SIGMA_SPLIT_THREADS``)."""
    global _explicit
    _explicit = None if count is None else max(1, int(count))


def _blas_threads() -> int:
    global _blas
    if _blas is None:
        _blas = False
        try:
            from threadpoolctl import ThreadpoolController  # only when first asked

            found = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
            _blas = found[0] if found else False
        except Exception:  # no BLAS that threadpoolctl knows: fall back to the CPU count
            _blas = False
    if _blas:
        return int(_blas.get_num_threads())
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def threads() -> int:
    """How many parts a large split uses now: :func:`set_threads` / ``SIGMA_SPLIT_THREADS``, or with
    ``auto`` numpy's BLAS thread count."""
    return _explicit if _explicit is not None else max(1, _blas_threads())


def split(function, rows: int, elements: int, xp=np) -> None:
    """Call ``function(slice)`` over contiguous slices covering ``range(rows)``, in parallel.

    Parameters
    ----------
    function : callable(slice) -> None
        Does the work for rows ``slice`` (writing its results in place); parts never overlap.
    rows : int
        Length of the axis that is split (usually the batch).
    elements : int
        Array elements the whole call touches (decides whether a split pays).
    xp : module
        The array module: only numpy work is split (a GPU has its own parallelism).
    """
    parts = min(threads(), rows) if xp is np and elements >= MIN_ELEMENTS else 1
    if parts <= 1 or not _busy.acquire(blocking=False):
        function(slice(0, rows))
        return
    try:
        bounds = [rows * k // parts for k in range(parts + 1)]
        while len(_helpers) < parts - 1:
            _helpers.append(_Helper(len(_helpers) + 1))
        jobs = [_Job(function, slice(bounds[k], bounds[k + 1])) for k in range(1, parts)]
        for helper, job in zip(_helpers, jobs, strict=False):
            helper.give(job)
        error = None
        try:
            function(slice(bounds[0], bounds[1]))
        except BaseException as exc:  # wait for the other parts before leaving their arrays
            error = exc
        for job in jobs:
            job.done.wait()
            if job.error is not None and error is None:
                error = job.error
        if error is not None:
            raise error
    finally:
        _busy.release()
