"""Thread-pool data-parallel speedup: training steps with 1 and N CPU workers, timed in one run.

``python -m bench workers [--workloads W1,W2] [--workers 2] [--seconds S] [--repeats R] [--json PATH]``

The workloads are those of ``python -m bench train`` (``bench/workloads``: W1 MLP 784-512-256-10 batch
128 SGD momentum, W2 CNN batch 64 Adam), built through the engine's public API. One step is what the
operator does per iteration: ``operator.compute(batch)`` (split, the workers' forward and backward,
the gradients' sum) then ``optimiser.step``. Configurations, all in this process and interleaved
(``bench.harness.interleave``: the order rotates between blocks, so the machine's slow phases hit all):

- ``1 worker``: the single-worker operator, numpy's BLAS with its default threads;
- ``N workers, BLAS cores/N``: the thread pool as the trainer runs it (threadpoolctl limits BLAS to
  ``cores // N`` threads per process while a run lasts, so N workers do not oversubscribe the cores);
- ``N workers, BLAS default``: the thread pool with BLAS left alone (N x default threads: oversubscribed).

The figures are the median wall ms/step over the blocks, the median CPU ms/step (the process's, all
threads: the work done), and the speedup over 1 worker in the same run. A parallel probe before and
after (two independent one-thread GEMM loops, in threads vs in turn) says whether the cores were free.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import interleave, measure_block, median, tune_allocator  # noqa: E402
from bench.workloads import get, make_data  # noqa: E402

__all__ = ["main"]


def _limits(threads):
    if threads is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=int(threads), user_api="blas")


def _runner(workload, config, x, y, workers: int, blas_threads):
    """``(run(seconds) -> sample, close())`` for one configuration."""
    from bench.workloads.engine_steps import make_trainer
    from engine.operator import ThreadPoolOperator

    trainer = make_trainer(workload, config)
    operator = ThreadPoolOperator(trainer, workers) if workers > 1 else trainer.operator
    operator.workers = operator.make_workers()  # what Operator.run sets up before its loop
    operator.parameters = dict(trainer.network.parameters())
    params, optimiser, batch = operator.parameters, trainer.optimiser, {"inputs": x, "targets": y}

    def step():
        for worker in operator.workers:  # as Operator._iteration: local hooks run when they would in training
            worker.iteration = trainer.iteration
        operator.compute(batch)
        optimiser.step(params)
        trainer.iteration += 1

    def run(seconds):
        limits = _limits(blas_threads)
        with limits if limits is not None else contextlib.nullcontext():
            return measure_block(step, seconds)

    def close():
        pool = getattr(operator, "pool", None)
        if pool is not None:
            pool.shutdown(wait=True)

    return run, close


def parallel_probe(threads: int = 2, seconds: float = 1.0) -> float:
    """Speedup of ``threads`` independent one-BLAS-thread GEMM loops run in threads over running them in
    turn: about ``threads`` on idle cores, near 1 when other processes hold the cores (then no thread
    pool can speed anything up, and the figures below say little)."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    a = np.ones((64, 784), np.float32)
    b = np.ones((784, 512), np.float32)

    def work(n):
        for _ in range(n):
            a @ b

    limits = _limits(1)
    with limits if limits is not None else contextlib.nullcontext():
        start = time.perf_counter()
        n = 0
        while time.perf_counter() - start < seconds / 4:
            work(10)
            n += 10
        start = time.perf_counter()
        for _ in range(threads):
            work(n)
        serial = time.perf_counter() - start
        with ThreadPoolExecutor(threads) as pool:
            start = time.perf_counter()
            list(pool.map(work, [n] * threads))
            parallel = time.perf_counter() - start
    return serial / parallel


def bench_workload(name: str, workers: int, seconds: float, repeats: int, warmup: float) -> dict:
    workload = get(name)
    config = workload.config()
    x, y = make_data(workload, config)
    cores = os.cpu_count() or 1
    configs = {"1 worker": (1, None)}
    if _limits(1) is not None:
        configs[f"{workers} workers, BLAS {max(1, cores // workers)} each"] = (
            workers,
            max(1, cores // workers),
        )
    configs[f"{workers} workers, BLAS default"] = (workers, None)
    runners, closers = {}, []
    for label, (n, blas) in configs.items():
        run, close = _runner(workload, config, x, y, n, blas)
        runners[label] = run
        closers.append(close)
    try:
        samples = interleave(runners, seconds, repeats, warmup)
    finally:
        for close in closers:
            close()
    base = median([s["ms"] for s in samples["1 worker"]])
    rows = {}
    for label, values in samples.items():
        ms = [s["ms"] for s in values]
        cpu = median([s["cpu_ms"] for s in values])
        rows[label] = {
            "ms": median(ms),
            "min": min(ms),
            "max": max(ms),
            "cpu_ms": cpu,
            "speedup": base / median(ms),
        }
    return {"title": workload.title, "rows": rows}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench workers", description=__doc__.split("\n\n")[0])
    p.add_argument("--workloads", default="W1,W2", help="comma-separated workload names (default W1,W2)")
    p.add_argument("--workers", type=int, default=2, help="workers of the thread pool (default 2)")
    p.add_argument("--seconds", type=float, default=6.0, help="timed seconds per configuration")
    p.add_argument("--repeats", type=int, default=6, help="interleaved blocks per configuration")
    p.add_argument("--warmup", type=float, default=0.5)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = p.parse_args(argv)
    print(tune_allocator())
    try:
        from threadpoolctl import threadpool_info

        blas = [f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)" for i in threadpool_info()]
    except ImportError:
        blas = ["threadpoolctl not installed: BLAS threads cannot be limited per run"]
    print(f"cores {os.cpu_count()}; BLAS: {', '.join(blas) or '?'}")
    results = {"probe_before": parallel_probe(args.workers)}
    print(
        f"parallel probe: {args.workers} one-thread GEMM loops in threads run {results['probe_before']:.2f}x "
        f"faster than in turn (about {args.workers} on idle cores; near 1 means the cores are taken)"
    )
    for name in args.workloads.split(","):
        result = results[name] = bench_workload(name, args.workers, args.seconds, args.repeats, args.warmup)
        print(f"\n{name}: {result['title']}")
        print(f"  {'configuration':30s} {'ms/step':>9s} {'min-max':>15s} {'CPU ms':>8s} {'speedup':>8s}")
        for label, row in result["rows"].items():
            spread = f"{row['min']:.2f}-{row['max']:.2f}"
            print(f"  {label:30s} {row['ms']:9.2f} {spread:>15s} {row['cpu_ms']:8.2f} {row['speedup']:8.2f}")
    results["probe_after"] = parallel_probe(args.workers)
    print(f"\nparallel probe after: {results['probe_after']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
