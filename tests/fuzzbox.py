"""A sandbox for fuzz tests: one forked worker runs each case under a hard time and memory limit.

Hypothesis generates and writes the file in the test process; the worker (forked once, reused for
every case) runs the importer on it with its address space capped by ``RLIMIT_AS`` and answers with
how the call ended. A case that does not answer within the time limit (a hang, even inside C code such
as HDF5) is killed and reported, and the worker is forked again. Messages cross the pipe as JSON lines.

Also: byte-level mutation strategies (bit flips, truncation, overwrites, insertions) shared by the
fuzz tests, and the case counts they report.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import time
import traceback
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

__all__ = ["Sandbox", "Outcome", "Tally", "mutated", "fuzz_settings", "family_sizes", "CASES", "SLOW_CASES"]

#: Cases per family in the default run, and in the ``slow``-marked run.
CASES = 200
SLOW_CASES = 2000


def family_sizes():
    """Parameters for a fuzz test: the default run's cases, and the ``slow`` run's."""
    import pytest

    return [CASES, pytest.param(SLOW_CASES, marks=pytest.mark.slow, id=f"{SLOW_CASES}")]


class Tally:
    """Counts how the cases of one family ended; fails on the first case outside the contract."""

    def __init__(self, family: str, allowed: tuple[str, ...]):
        self.family, self.allowed = family, allowed
        self.counts: dict[str, int] = {}
        self.slowest = 0.0
        self.slowest_case = ""

    def check(self, outcome: Outcome, what: str = "") -> None:
        key = outcome.status if outcome.status != "raised" else outcome.type.rsplit(".", 1)[-1]
        self.counts[key] = self.counts.get(key, 0) + 1
        if outcome.seconds > self.slowest:
            self.slowest, self.slowest_case = outcome.seconds, what
        ok = outcome.status == "ok" or (outcome.status == "raised" and outcome.type in self.allowed)
        assert ok, f"{self.family} case {what} ended outside the contract: {outcome}"

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        parts = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items()))
        slow = f"; slowest {self.slowest:.2f} s" + (
            f" ({self.slowest_case[:300]})" if self.slowest > 1 else ""
        )
        return f"fuzz {self.family}: {self.total} cases ({parts}){slow}"


def fuzz_settings(cases: int):
    """Hypothesis settings for a fuzz family: ``cases`` examples, no deadline (the sandbox times cases)."""
    return settings(
        max_examples=cases,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


@dataclass
class Outcome:
    """How one case ended: ``ok``, ``raised`` (with the exception's class), ``hang`` or ``crash``."""

    status: str
    type: str = ""
    message: str = ""
    traceback: str = ""
    seconds: float = 0.0

    def __str__(self) -> str:
        return f"{self.status} {self.type}: {self.message}\n{self.traceback}"


def _vm_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


class Sandbox:
    """Run ``target(*args)`` in a forked worker, each call within ``seconds`` and ``megabytes``.

    Parameters
    ----------
    target : callable
        Called in the worker with the JSON-decoded arguments; its return value must be JSON-able.
    seconds : float
        Wall-clock limit per call; beyond it the worker is killed and the call reported as ``hang``.
    megabytes : int
        Address space the worker may add to what it had when forked (``RLIMIT_AS``).
    """

    def __init__(self, target, seconds: float = 20.0, megabytes: int = 768):
        self.target, self.seconds, self.megabytes = target, seconds, megabytes
        self.pid = None
        self.calls = 0

    def _start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            os.close(to_child_w)
            os.close(from_child_r)
            try:
                self._serve(to_child_r, from_child_w)
            finally:
                os._exit(0)
        os.close(to_child_r)
        os.close(from_child_w)
        self.pid = pid
        self._to = os.fdopen(to_child_w, "wb")
        self._from = os.fdopen(from_child_r, "rb")

    def _serve(self, rfd: int, wfd: int) -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        limit = _vm_bytes() + self.megabytes * (1 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        reader, writer = os.fdopen(rfd, "rb"), os.fdopen(wfd, "wb")
        for line in reader:
            t0 = time.perf_counter()
            try:
                detail = self.target(*json.loads(line))
                out = {"status": "ok", "message": json.dumps(detail)[:2000]}
            except BaseException as exc:  # every ending is reported to the test
                kind = type(exc)
                out = {
                    "status": "raised",
                    "type": f"{kind.__module__}.{kind.__qualname__}",
                    "message": str(exc)[:2000],
                    "traceback": traceback.format_exc()[-6000:],
                }
            out["seconds"] = time.perf_counter() - t0
            writer.write(json.dumps(out).encode() + b"\n")
            writer.flush()

    def run(self, *args) -> Outcome:
        """Run one case; returns its :class:`Outcome`."""
        if self.pid is None:
            self._start()
        self.calls += 1
        try:
            self._to.write(json.dumps(list(args)).encode() + b"\n")
            self._to.flush()
        except BrokenPipeError:
            return self._lost("crash", "worker gone before the case started")
        ready, _, _ = select.select([self._from], [], [], self.seconds)
        if not ready:
            return self._lost("hang", f"no answer within {self.seconds} s")
        line = self._from.readline()
        if not line:
            return self._lost("crash", "worker died (signal or memory limit)")
        return Outcome(**json.loads(line))

    def _lost(self, status: str, message: str) -> Outcome:
        pid, self.pid = self.pid, None
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _, code = os.waitpid(pid, 0)
        self._to.close()
        self._from.close()
        return Outcome(status, message=f"{message} (wait status {code})")

    def close(self) -> None:
        """Stop the worker."""
        if self.pid is not None:
            self._to.close()
            os.waitpid(self.pid, 0)
            self._from.close()
            self.pid = None


@st.composite
def mutated(draw, base: bytes, max_mutations: int = 4) -> bytes:
    """``base`` with up to ``max_mutations`` of: bit flip, truncation, overwrite, insertion, duplication."""
    data = bytearray(base)
    for _ in range(draw(st.integers(0, max_mutations))):
        kind = draw(st.sampled_from(["flip", "truncate", "overwrite", "insert", "duplicate"]))
        n = len(data)
        if n == 0:
            break
        at = draw(st.integers(0, n - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        elif kind == "overwrite":
            patch = draw(st.binary(min_size=1, max_size=8))
            data[at : at + len(patch)] = patch
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            end = draw(st.integers(at, min(n, at + 64)))
            data[at:at] = data[at:end]
    return bytes(data)
