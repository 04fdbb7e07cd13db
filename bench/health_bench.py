"""``python -m bench health``: what ``LayerHealth`` costs per training step, at its default interval.

For each workload (W1: MLP batch 128, W2: CNN batch 64; see ``bench/workloads/__init__.py``) two
identical trainers are built, one with :class:`engine.hooks.LayerHealth` and one without, and trained
with ``Trainer.fit`` (the user's path: loop, tallies, hooks) on the same synthetic data, in alternating
blocks of ``--iterations`` iterations (``--repeats`` pairs, the order swapped each time) so both see the
same machine phases. Two figures per workload:

- **hook share**: the hook's own time (weight copy, measurement, registry, event), accumulated inside
  the hook, over the plain trainer's time for the same number of steps: the precise figure;
- **fit ratio**: ms/step with the hook over ms/step without, per pair of blocks: the end-to-end figure,
  noisier on a busy machine.

Both are reported as median [min .. max] over the repeats. The measurement the hook takes when a run
ends is left out (it happens once per run, not per step; each block here is a separate ``fit``).

Run ``python -m bench health --help`` for the options.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from bench import harness
from bench.workloads import get, make_data
from bench.workloads.engine_steps import make_trainer

__all__ = ["main", "measure"]


def _hook_class():
    from engine.hooks import LayerHealth

    class TimedHealth(LayerHealth):
        """LayerHealth that adds up its own time (and skips the once-per-run measurement at the end)."""

        seconds = 0.0
        clock = time.perf_counter

        def maybe_run(self, event, trainer):
            if event == "stop":
                return False
            start = self.clock()
            try:
                return super().maybe_run(event, trainer)
            finally:
                self.seconds += self.clock() - start

    return TimedHealth


def measure(
    name: str,
    iterations: int,
    repeats: int,
    interval: int | None = None,
    tiny: bool = False,
    clock: str = "wall",
) -> dict:
    """Time ``fit`` with and without the hook on workload ``name``; returns the figures (see module doc).
    ``clock`` is ``"wall"`` or ``"cpu"`` (this process's CPU time: steadier on a busy machine with one
    thread)."""
    tick = time.process_time if clock == "cpu" else time.perf_counter
    from engine.hooks import DEFAULT_HEALTH_INTERVAL, TimeStep

    interval = int(interval or DEFAULT_HEALTH_INTERVAL)
    workload = get(name)
    config = workload.config(tiny)
    data_config = dict(config, batch=config["batch"] * 16)  # 16 batches per epoch
    data = make_data(workload, data_config)
    plain = make_trainer(workload, config)
    health = make_trainer(workload, config)
    hook = health.add_hook(_hook_class()(TimeStep(interval)))
    hook.clock = tick
    for trainer in (plain, health):  # warm up: first allocations, BLAS threads, the probe batch
        trainer.fit(data, epochs=10**9, max_iterations=interval + 1)
    ratios, shares, ms = [], [], {"plain": [], "health": []}
    for r in range(repeats):
        order = [("plain", plain), ("health", health)]
        if r % 2:
            order.reverse()
        block = {}
        for label, trainer in order:
            hook_before = hook.seconds
            start = tick()
            trainer.fit(data, epochs=10**9, max_iterations=trainer.iteration + iterations)
            block[label] = (tick() - start) / iterations
            ms[label].append(block[label] * 1e3)
            if label == "health":
                hook_seconds = hook.seconds - hook_before
        ratios.append(block["health"] / block["plain"])
        shares.append(hook_seconds / (block["plain"] * iterations))
    return {
        "workload": name,
        "interval": interval,
        "clock": clock,
        "iterations_per_block": iterations,
        "repeats": repeats,
        "ms_plain": ms["plain"],
        "ms_health": ms["health"],
        "fit_ratio": ratios,
        "hook_share": shares,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench health", description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="W1,W2", help="comma-separated (default W1,W2)")
    parser.add_argument("--iterations", type=int, default=200, help="iterations per block (default 200)")
    parser.add_argument("--repeats", type=int, default=6, help="pairs of blocks (default 6)")
    parser.add_argument(
        "--interval", type=int, default=None, help="the hook's interval (default: its default)"
    )
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="wall or CPU time")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (set before numpy loads)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    harness.limit_blas_threads(args.threads)
    print(harness.tune_allocator())
    results = []
    for name in args.workloads.split(","):
        result = measure(name.strip(), args.iterations, args.repeats, args.interval, args.tiny, args.clock)
        results.append(result)
        print(
            f"{result['workload']}: interval {result['interval']}, {args.clock} clock, "
            f"step {statistics.median(result['ms_plain']):.2f} ms without the hook, "
            f"hook share {harness.spread(result['hook_share'], percent=True)}, "
            f"fit ratio {harness.spread(result['fit_ratio'])}",
            flush=True,
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
