"""Timing and memory helpers shared by the benchmarks.

- :func:`tune_allocator` raises glibc's mmap and trim thresholds (PERFORMANCE.md: per-step allocations
  otherwise cost page faults that vary run to run), in this process through ``mallopt`` and in child
  processes through :data:`ALLOCATOR_ENV`.
- :func:`interleave` times several step functions in alternating blocks, so the machine's slow phases
  hit every implementation alike, and keeps one ms/step sample per block; report :func:`median`.
- :class:`Worker` keeps one implementation in its own Python process, driven over a pipe, so that
  implementations never share thread pools (a framework's OpenMP threads spinning after its own work
  steal the cores from the next one's BLAS threads when both live in one process) and each one's peak
  RSS (:func:`peak_rss_bytes`) is its own. Only one worker runs at a time; the others wait on a read.
"""

from __future__ import annotations

import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable

from engine.allocator import ALLOCATOR_ENV, MMAP_THRESHOLD, TRIM_THRESHOLD, tune  # noqa: F401 - re-exported

__all__ = [
    "ALLOCATOR_ENV",
    "tune_allocator",
    "peak_rss_bytes",
    "time_block",
    "measure_block",
    "interleave",
    "median",
    "Worker",
    "PROTOCOL_PREFIX",
    "thread_env",
]


def thread_env(threads: int | None) -> dict:
    """Environment pinning numpy's BLAS and OpenMP (PyTorch) to ``threads`` threads (empty for None)."""
    if not threads:
        return {}
    return {k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def tune_allocator() -> str:
    """Apply the allocator thresholds to this process (``engine.allocator.tune``, as ``sigma`` and the
    studio do); returns a sentence saying what was done, here and for child processes."""
    said = tune()
    if said.startswith("allocator left"):
        return said
    env = ", ".join(f"{k}={v}" for k, v in ALLOCATOR_ENV.items())
    return f"glibc mallopt in this process and {env} in child processes (all implementations alike)"


def cpu_pressure() -> float | None:
    """Linux PSI: the share (%) of the last 10 s in which some task waited for a CPU (None if unknown).

    Tens of percent mean other processes (or other tenants of the machine) compete for the cores and
    the timings are inflated, for every implementation alike but with more spread.
    """
    try:
        with open("/proc/pressure/cpu") as f:
            first = f.readline().split()
        return float(dict(kv.split("=") for kv in first[1:])["avg10"])
    except (OSError, KeyError, ValueError):
        return None


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far, in bytes.

    On Linux this is ``VmHWM`` from /proc: ``ru_maxrss`` would be wrong in a child, as Linux carries
    the parent's figure over fork and exec.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    if sys.platform == "win32":
        import psutil

        return int(psutil.Process().memory_info().peak_wset)
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports KiB


def measure_block(step: Callable[[], object], seconds: float, min_steps: int = 1) -> dict:
    """Run ``step`` until ``seconds`` of wall time have passed (and at least ``min_steps`` times).

    A ``step`` with an ``iterations`` attribute trains that many steps per call (a ``Trainer.fit``
    call); the figures are per training step then.

    Returns
    -------
    dict with ``ms`` (wall ms per step), ``cpu_ms`` (this process's CPU ms per step, all threads) and
    ``steps``. On a machine where other processes compete for the cores, wall time includes waiting
    for a CPU while CPU time does not; with one thread, ``cpu_ms`` is the steadier figure.
    """
    clock, cpu = time.perf_counter, time.process_time
    per_call = int(getattr(step, "iterations", 1))  # a call that trains several iterations (a fit)
    start, cpu_start = clock(), cpu()
    deadline = start + seconds
    steps = 0
    while True:
        step()
        steps += per_call
        now = clock()
        if now >= deadline and steps >= min_steps:
            return {
                "ms": (now - start) * 1e3 / steps,
                "cpu_ms": (cpu() - cpu_start) * 1e3 / steps,
                "steps": steps,
            }


def time_block(step: Callable[[], object], seconds: float, min_steps: int = 1) -> tuple[float, int]:
    """:func:`measure_block` as ``(wall ms per step, steps)``."""
    m = measure_block(step, seconds, min_steps)
    return m["ms"], m["steps"]


def interleave(
    runners: dict[str, Callable[[float], object]],
    seconds: float,
    repeats: int,
    warmup: float = 0.5,
    settle: float = 0.0,
) -> dict[str, list]:
    """Time implementations in ``repeats`` alternating blocks totalling ``seconds`` per implementation.

    Parameters
    ----------
    runners : dict name -> callable(seconds) -> sample
        Each runs its implementation for about that long and returns its measurement (e.g. the dict
        of :func:`measure_block`, or a worker's reply to ``block``).
    seconds, repeats, warmup : float, int, float
        The order rotates between repetitions, so none always runs first (each still follows the same
        one within a round). Each implementation first runs for ``warmup`` seconds, untimed.
    settle : float
        Seconds of idleness before each block. Multi-threaded BLAS and OpenMP keep their idle threads
        spinning after the work (OpenBLAS ~85 ms here): without a pause, a block of a worker process
        starts while its predecessor's threads still hold the cores, and since rotation keeps who
        follows whom, that cost would fall on the same implementations in every round.

    Returns
    -------
    dict name -> list of samples, one per block.
    """
    names = list(runners)
    for name in names:
        runners[name](warmup)
    samples: dict[str, list[float]] = {name: [] for name in names}
    repeats = max(repeats, 1)
    for r in range(repeats):
        k = r % len(names) if names else 0
        for name in names[k:] + names[:k]:
            if settle > 0:
                time.sleep(settle)
            samples[name].append(runners[name](seconds / repeats))
    return samples


def median(values: list[float]) -> float:
    """The median (NaN for no values)."""
    return statistics.median(values) if values else float("nan")


def spread(values: list[float], percent: bool = False) -> str:
    """``median [min .. max]`` of ``values`` (as percentages with ``percent``), for a bench's report."""
    scale = 100.0 if percent else 1.0
    unit = "%" if percent else ""
    low, mid, high = (v * scale for v in (min(values), statistics.median(values), max(values)))
    return f"{mid:.3f}{unit} [{low:.3f} .. {high:.3f}]"


def limit_blas_threads(threads: int | None) -> None:
    """Pin numpy's BLAS to ``threads`` threads in this process (and the children it starts)."""
    if not threads:
        return
    os.environ.update(thread_env(threads))
    try:  # numpy may already be loaded (python -m bench imports it): tell its BLAS directly
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:
        pass


PROTOCOL_PREFIX = "@bench "


class Worker:
    """A child process ``python <args>`` speaking one JSON object per line, prefixed ``@bench ``.

    The child is started with the allocator settings of :data:`ALLOCATOR_ENV` plus ``env``.
    :meth:`ask` sends one command line and returns the child's next protocol reply; lines without the
    prefix (anything the code under test prints) are kept in :attr:`chatter`.

    Raises
    ------
    RuntimeError
        When the child exits, or gives no answer within ``timeout`` seconds (it is then killed), with
        the tail of its stderr.
    """

    def __init__(
        self, args: list[str], cwd: str | None = None, env: dict | None = None, timeout: float = 300.0
    ):
        self.timeout = timeout
        env = dict(os.environ, **ALLOCATOR_ENV, **(env or {}))
        self.args = args
        self.chatter: list[str] = []
        # stderr goes to a file: a pipe nobody reads would block a chatty child
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=env,
            cwd=cwd,
            bufsize=1,
        )
        # a thread reads the child's output, so a hung child cannot hang us (works with Windows pipes)
        self.lines: queue.Queue = queue.Queue()
        self.reader = threading.Thread(target=self._pump, name="bench-worker-reader", daemon=True)
        self.reader.start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)  # end of output

    def _fail(self, what: str):
        self.stderr.seek(0)
        tail = " | ".join(self.stderr.read().strip().splitlines()[-3:])
        return RuntimeError(f"worker {' '.join(self.args)} {what}: {tail}")

    def read(self, timeout: float | None = None) -> dict:
        """The child's next protocol reply (waiting at most ``timeout``, default ``self.timeout``)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.proc.kill()
                self.proc.wait()
                raise self._fail(f"gave no answer in {self.timeout:.0f} s and was killed") from None
            if line is None:
                self.proc.wait()
                raise self._fail(f"exited with {self.proc.returncode}")
            if line.startswith(PROTOCOL_PREFIX):
                return json.loads(line[len(PROTOCOL_PREFIX) :])
            self.chatter.append(line.rstrip())

    def ask(self, command: str, timeout: float | None = None) -> dict:
        """Send ``command`` and wait for the reply."""
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except OSError as exc:  # the child has gone
            raise self._fail(f"cannot take commands ({exc})") from None
        return self.read(timeout)

    def close(self) -> None:
        """End the child (closing its input ends its command loop)."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=30)
        self.proc.stdout.close()
        self.stderr.close()
