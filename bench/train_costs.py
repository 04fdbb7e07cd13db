"""``python -m bench train --hook-costs W1,W2``: where the studio's iteration spends its CPU time over
the bare step, stage by stage, in one process.

Whole-row A/Bs of the bench spread about +-10 % a pair on this machine, more than what the hooks
cost, so this attributes the studio row instead: the CPU time of the fit thread (``time.thread_time``)
inside each stage of the loop and each hook, per iteration, over many interleaved blocks, next to the
bare step (``operator.compute`` + ``optimiser.step`` on one batch, the bench's ``engine`` row) and
the ``fit`` row, all three built as ``bench/workloads/engine_steps.py`` builds them and timed in turns
in this one process. Each figure is the median over the blocks [min-max].

Probes replace methods on the instances of the studio's run (the trainer, its operator, run control,
optimiser, tally, hook list, event bus and every hook) and the prefetching iterator's batch
generator; a probe charges its stage the time spent inside it less the time of the probes inside it
(exclusive time), so the stages add up to the iteration. "The loop's own Python" is what no probe
covers (``Operator._iteration`` and ``_run_epoch``'s lines); "probes" is the probes' own cost,
estimated from a calibration of a probed no-op (its share of the iteration is inflated by that
much, so ``studio - bare`` is shown both with and without it).
"""

from __future__ import annotations

import collections
import threading
import time

from bench import harness
from bench.workloads import get, make_data

__all__ = ["hook_costs", "Probes"]


class Probes:
    """Exclusive CPU time of the calling thread inside named methods, for one thread only.

    ``wrap(obj, "method", name)`` puts a timed stand-in on ``obj``; a probe called from a thread other
    than :attr:`owner` (set once the probed thread runs) is passed through untimed. Per name it counts
    the exclusive seconds, its calls and the probed calls made inside it (``inner``), and the probed
    calls made outside any probe (``top``), so that the probes' own cost can be taken out
    (:func:`_per_iteration`).
    """

    def __init__(self):
        self.own: collections.Counter = collections.Counter()  # name -> seconds, exclusive
        self.calls: collections.Counter = collections.Counter()
        self.inner: collections.Counter = collections.Counter()  # name -> probed calls inside it
        self.top = 0
        self.owner: int | None = None
        self._stack: list[list] = []  # per open probe: [seconds, calls] of the probes inside it

    def timed(self, inner, name: str):
        """``inner`` wrapped in a probe charging ``name``."""
        own, calls, nested, stack = self.own, self.calls, self.inner, self._stack
        clock, ident, probes = time.thread_time, threading.get_ident, self

        def probe(*args, **kwargs):
            if ident() != probes.owner:
                return inner(*args, **kwargs)
            stack.append([0.0, 0])
            start = clock()
            try:
                return inner(*args, **kwargs)
            finally:
                spent = clock() - start
                children, count = stack.pop()
                own[name] += spent - children
                calls[name] += 1
                nested[name] += count
                if stack:
                    stack[-1][0] += spent
                    stack[-1][1] += 1
                else:
                    probes.top += 1

        return probe

    def wrap(self, obj, attribute: str, name: str) -> None:
        setattr(obj, attribute, self.timed(getattr(obj, attribute), name))

    def snapshot(self) -> dict:
        return {"own": dict(self.own), "calls": dict(self.calls), "inner": dict(self.inner), "top": self.top}


def _calibrate(n: int = 20000) -> dict:
    """What one probe costs, in thread CPU seconds: ``inside`` (charged to its own stage) and
    ``outside`` (charged to the stage that called it), from a probed no-op against the bare no-op."""
    probes = Probes()
    probes.owner = threading.get_ident()

    def noop():
        return None

    probed = probes.timed(noop, "noop")
    best = []
    for f in (noop, probed) * 5:
        t0 = time.thread_time()
        for _ in range(n):
            f()
        best.append(time.thread_time() - t0)
    total = max(0.0, (min(best[1::2]) - min(best[0::2])) / n)
    inside = probes.own["noop"] / probes.calls["noop"]
    return {"inside": min(inside, total), "outside": max(0.0, total - inside)}


def _per_iteration(start: dict, end: dict, n: int, cost: dict) -> tuple[dict, float, float]:
    """Stages' exclusive seconds per iteration, less the probes' own cost; the loop's uncovered
    time's correction and the probes' whole cost, per iteration."""
    stages = {}
    for name, seconds in end["own"].items():
        calls = end["calls"][name] - start["calls"].get(name, 0)
        inner = end["inner"][name] - start["inner"].get(name, 0)
        own = seconds - start["own"].get(name, 0.0)
        stages[name] = (own - calls * cost["inside"] - inner * cost["outside"]) / n
    calls = sum(end["calls"].values()) - sum(start["calls"].values())
    top = (end["top"] - start["top"]) * cost["outside"] / n
    return stages, top, calls * (cost["inside"] + cost["outside"]) / n


def _instrument(step, probes: Probes):
    """Probes on the studio run's loop stages and hooks (``step`` from ``build_studio``); returns a
    function that takes the probe off the iterator class (the instances' probes go with the run)."""
    from engine.data import iterators

    trainer = step.trainer
    operator = trainer.operator
    probes.wrap(operator, "compute", "compute (forward, loss, backward)")
    probes.wrap(trainer.optimiser, "step", "optimiser step")
    probes.wrap(operator.control, "boundary", "run control (boundary)")
    probes.wrap(operator, "sync", "registry sync")
    probes.wrap(trainer, "record_value", "tallies and record_value")
    for method in ("add_step", "add_mean", "add_sum", "add_samples"):  # add_step: since 2026-12-03
        if hasattr(trainer.tally, method):
            probes.wrap(trainer.tally, method, "tallies and record_value")
    probes.wrap(trainer.hooks, "fire", "hook dispatch (fire, fire_each, maybe_run)")
    probes.wrap(trainer.hooks, "fire_each", "hook dispatch (fire, fire_each, maybe_run)")
    probes.wrap(trainer.events, "emit", "events.emit (listeners: the recorder)")
    probes.wrap(operator, "_end_epoch", "epoch end (less its hooks)")
    for hook in trainer.hooks:
        name = "bench gate" if hook.name == "BenchGate" else f"hook {hook.name}.run"
        probes.wrap(hook, "run", name)
    # The batches: the minibatch iterator's per-epoch generator, timed around each next().
    epoch_batches = iterators.MinibatchIterator._epoch_batches

    def timed_epoch_batches(self):
        batches = epoch_batches(self)
        take = probes.timed(batches.__next__, "gather (next batch)")
        try:
            while True:
                try:
                    batch = take()
                except StopIteration:
                    return
                yield batch
        finally:
            batches.close()

    iterators.MinibatchIterator._epoch_batches = timed_epoch_batches
    return lambda: setattr(iterators.MinibatchIterator, "_epoch_batches", epoch_batches)


def _fit_thread_clock(step) -> dict:
    """``{"thread": thread CPU s, "process": process CPU s, "iteration": n}`` read in the fit thread at
    the start of the next call (one more call is made to run it)."""
    out: dict = {}
    trainer = step.trainer
    step.in_fit_thread(
        lambda: out.update(
            thread=time.thread_time(), process=time.process_time(), iteration=trainer.iteration
        )
    )
    return out


def _block_fit(step, seconds: float, probes: Probes | None = None, cost: dict | None = None) -> dict:
    """One block of ``step()`` calls; per iteration: fit thread CPU, other threads, probes' stages."""
    start = _fit_thread_clock(step)
    if probes is not None:
        step.in_fit_thread(lambda: start.update(probed=probes.snapshot()))
    t0 = time.perf_counter()
    while True:
        step()
        if time.perf_counter() - t0 >= seconds and "thread" in start:
            break
    end = _fit_thread_clock(step)
    if probes is not None:
        step.in_fit_thread(lambda: end.update(probed=probes.snapshot()))
    step()  # runs the reads queued above, before its own iterations
    n = end["iteration"] - start["iteration"]
    fit_thread = (end["thread"] - start["thread"]) / n
    row = {
        "iterations": n,
        "fit_thread": fit_thread,
        "other_threads": (end["process"] - start["process"]) / n - fit_thread,
    }
    if probes is not None:
        stages, top, whole = _per_iteration(start["probed"], end["probed"], n, cost)
        row.update(stages=stages, loop_correction=top, probes=whole)
    return row


def _block_bare(step, seconds: float) -> dict:
    t0, c0, n = time.perf_counter(), time.thread_time(), 0
    while n < 2 or time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return {"iterations": n, "bare": (time.thread_time() - c0) / n}


def _median(values):
    return harness.median(list(values)) if values else float("nan")


def hook_costs(name: str, seconds: float = 40.0, block: float = 1.0, tiny: bool = False, log=print) -> dict:
    """Attribute the studio row of workload ``name``: ``seconds`` in all, blocks of ``block`` seconds
    for each of bare / fit / studio in turn (the caller tunes the allocator: ``python -m bench train``
    does, a test process must not). Returns ``{"workload", "blocks": [...], "probe_cost_s",
    "blas_threads"}``."""
    from bench.workloads.engine_steps import build, build_fit, build_studio

    workload = get(name)
    config = workload.config(tiny)
    x, y = make_data(workload, config)
    bare = build(workload, config, x, y)
    fit = build_fit(workload, config, x, y)
    studio = build_studio(workload, config, x, y)
    probes = Probes()
    restore = _instrument(studio, probes)
    try:
        studio.in_fit_thread(lambda: setattr(probes, "owner", threading.get_ident()))
        for _ in range(3):  # warm up; the first call starts each fit's thread
            bare()
            fit()
            studio()
        harness.time_block(bare, 0.5)
        _block_fit(fit, 0.5)
        cost = _calibrate()
        _block_fit(studio, 0.5, probes, cost)
        rounds = max(1, int(seconds / (3 * block)))
        blocks = []
        for r in range(rounds):
            row: dict = {}
            order = [("bare", None), ("fit", None), ("studio", probes)]
            for kind, p in order[r % 3 :] + order[: r % 3]:
                if kind == "bare":
                    row.update(_block_bare(bare, block))
                elif kind == "fit":
                    row["fit"] = _block_fit(fit, block)["fit_thread"]
                else:
                    row.update(_block_fit(studio, block, p, cost))
            blocks.append(row)
            if log is not None and (r + 1) % 5 == 0:
                log(f"  {name}: {r + 1}/{rounds} rounds")
    finally:
        restore()
    from bench.workloads.torch_steps import blas_threads

    return {"workload": workload.name, "blocks": blocks, "probe_cost_s": cost, "blas_threads": blas_threads()}


def format_costs(result: dict) -> str:
    """The attribution table: per iteration, ms of thread CPU, median [min-max] over the blocks."""
    blocks = result["blocks"]

    def figure(values):
        values = [v * 1e3 for v in values]
        mean = sum(values) / len(values)
        return f"{_median(values):8.3f} [{min(values):.3f}-{max(values):.3f}] mean {mean:.3f}"

    def line(indent, text, values):
        return f"{' ' * indent}{text:{54 - indent}s} {figure(values)}"

    names = {k for b in blocks for k in b["stages"]}
    stages = sorted(names, key=lambda k: -_median([b["stages"].get(k, 0.0) for b in blocks]))
    studio = [b["fit_thread"] - b["probes"] for b in blocks]
    cost = result["probe_cost_s"]
    lines = [
        f"{result['workload']}: {len(blocks)} rounds; thread CPU ms per iteration, median [min-max] over "
        f"the blocks, mean; the probes' own cost ({(cost['inside'] + cost['outside']) * 1e6:.2f} us a "
        f"call) taken out; BLAS threads: {result.get('blas_threads', '?')} (with more than one, the fit "
        "thread's figures leave out the BLAS workers' share, which counts as other threads)",
        line(2, "bare step (compute + optimiser step, one batch)", [b["bare"] for b in blocks]),
        line(2, "fit (whole iteration, no hooks)", [b["fit"] for b in blocks]),
        line(2, "studio (whole iteration)", studio),
    ]
    lines += [line(4, key, [b["stages"].get(key, 0.0) for b in blocks]) for key in stages]
    loop = [b["fit_thread"] - b["probes"] - sum(b["stages"].values()) for b in blocks]
    lines.append(line(4, "the loop's own Python (no probe)", loop))
    lines.append(line(2, "probes (taken out above)", [b["probes"] for b in blocks]))
    lines.append(line(2, "other threads (run writer, run control)", [b["other_threads"] for b in blocks]))
    step = [b["stages"]["compute (forward, loss, backward)"] + b["stages"]["optimiser step"] for b in blocks]
    lines.append(line(2, "studio - bare", [s - b["bare"] for s, b in zip(studio, blocks)]))
    lines.append(
        line(2, "studio - (compute + optimiser step in the loop)", [s - t for s, t in zip(studio, step)])
    )
    lines.append(
        line(
            2,
            "fit - (compute + optimiser step in the studio's loop)",
            [b["fit"] - t for t, b in zip(step, blocks)],
        )
    )
    ratio = [s / b["bare"] for s, b in zip(studio, blocks)]
    lines.append(f"  {'studio / bare':52s} {_median(ratio):8.3f} [{min(ratio):.3f}-{max(ratio):.3f}]")
    ratio = [b["fit"] / b["bare"] for b in blocks]
    lines.append(f"  {'fit / bare':52s} {_median(ratio):8.3f} [{min(ratio):.3f}-{max(ratio):.3f}]")
    return "\n".join(lines)
