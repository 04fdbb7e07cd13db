"""``python -m bench live``: what recording a run into its live run folder costs per training step.

For each workload (W1: MLP batch 128, W2: CNN batch 64; see ``bench/workloads/__init__.py``) two
identical trainers are built with the reporting hooks every run has (``MetricReporter`` every iteration,
as :func:`engine.run.build_run` installs it, ``ResourceReporter``, ``LayerHealth``); one also has the
run folder's writer (:class:`engine.runs.RunRecorder`: metric series, events log, status heartbeat) and
the control-folder reader (:class:`engine.runs.RunController`). They are trained with ``Trainer.fit`` on
the same synthetic data in alternating blocks of ``--iterations`` iterations (``--repeats`` pairs, the
order swapped each time) so both see the same machine phases. Two figures per workload:

- **training-thread share**: the writer's CPU time on the training thread (its event listener, which
  queues, and its per-iteration hooks) per step over the plain trainer's time per step; measured by
  replaying the events a block emitted 20 times into a fresh recorder (timing each call inside the run
  would cost more than the calls: a thread CPU clock is a system call);
- **commit share**: the CPU time of the commits (once a second, on the recorder's writer thread, and at
  state changes) over the same: together with the first, what the writer costs wherever it runs;
- **fit ratio**: time/step with the writer over time/step without, per pair of blocks: the end-to-end
  figure (it also holds the heartbeat and control threads), noisier on a busy machine.

All are reported as median [min .. max] over the repeats. The goal (issue 21): the two shares together
at most 1% of a step. The listener's work at a run's start and end (once per run, not per step; each
block here is a separate ``fit``) is left out of the training-thread share; the commits at those state
changes are in the commit share, and everything is in the ratio.

Run ``python -m bench live --help`` for the options.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench import harness
from bench.workloads import get, make_data
from bench.workloads.engine_steps import make_trainer

__all__ = ["main", "measure"]


def _timed_recorder(commit_tick):
    from engine.runs import RunRecorder

    class TimedRecorder(RunRecorder):
        """RunRecorder that adds up its commits' CPU time, on whichever thread they run."""

        commit_seconds = 0.0

        def commit(self, final=False):
            start = commit_tick()
            try:
                return super().commit(final)
            finally:
                self.commit_seconds += commit_tick() - start

    return TimedRecorder


def _listener_seconds(events, folder: Path, iterations: int, trainer, tick, replays: int = 20) -> float:
    """CPU seconds per step the writer spends on the training thread: the events one block emitted,
    replayed ``replays`` times into a fresh recorder's listener (its queueing, no commits), plus the
    per-iteration hooks of the recorder and the controller."""
    from engine.runs import RunController, RunRecorder

    recorder = RunRecorder(folder)
    controller = RunController(folder, recorder)
    stream = [e for e in events if type(e).__name__ != "RunStateChanged"]  # those commit (measured)
    listen = recorder._on_event
    start = tick()
    for _ in range(replays):
        for event in stream:
            listen(event)
        for _ in range(iterations):
            recorder.maybe_run("iteration", trainer)
            controller.maybe_run("iteration", trainer)
    return (tick() - start) / (replays * iterations)


def _reporting_hooks():
    from engine.hooks import LayerHealth, MetricReporter, ResourceReporter, TimeStep

    return [
        MetricReporter(TimeStep(1, "iteration")),
        ResourceReporter(TimeStep(25, "iteration")),
        LayerHealth(),
    ]


def measure(name: str, iterations: int, repeats: int, tiny: bool = False, clock: str = "cpu") -> dict:
    """Time ``fit`` with and without the run-folder writer on workload ``name`` (see the module doc).
    ``clock`` is ``"cpu"`` (this process's CPU time, all threads: steadier on a busy machine) or
    ``"wall"``."""
    tick = time.process_time if clock == "cpu" else time.perf_counter
    commit_clock = time.thread_time if clock == "cpu" else time.perf_counter  # once a second: cheap
    workload = get(name)
    config = workload.config(tiny)
    data = make_data(workload, dict(config, batch=config["batch"] * 16))  # 16 batches per epoch
    with tempfile.TemporaryDirectory(prefix="sigma-live-bench-") as tmp:
        folder = Path(tmp) / "run-0001"
        for path in (folder, Path(tmp) / "replay"):
            (path / "checkpoints").mkdir(parents=True)
            (path / "run.json").write_text(json.dumps({"format": "sigma.run/1", "created": time.time()}))
        from engine.runs import RunController

        recorder = _timed_recorder(commit_clock)(folder)
        plain = make_trainer(workload, config, hooks=_reporting_hooks())
        live = make_trainer(
            workload, config, hooks=[*_reporting_hooks(), recorder, RunController(folder, recorder)]
        )
        emitted: list = []
        live.events.subscribe(emitted.append)
        for trainer in (plain, live):  # warm up: first allocations, BLAS threads, the first commits
            trainer.fit(data, epochs=10**9, max_iterations=60)
        ratios, shares, commit_shares, ms = [], [], [], {"plain": [], "live": []}
        for r in range(repeats):
            order = [("plain", plain), ("live", live)]
            if r % 2:
                order.reverse()
            block = {}
            for label, trainer in order:
                emitted.clear()
                commits_before = recorder.commit_seconds
                start = tick()
                trainer.fit(data, epochs=10**9, max_iterations=trainer.iteration + iterations)
                block[label] = (tick() - start) / iterations
                ms[label].append(block[label] * 1e3)
                if label == "live":
                    committed = recorder.commit_seconds - commits_before
                    events = list(emitted)
            ratios.append(block["live"] / block["plain"])
            listener = _listener_seconds(events, Path(tmp) / "replay", iterations, live, tick)
            shares.append(listener / block["plain"])
            commit_shares.append(committed / (block["plain"] * iterations))
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {
        "workload": name,
        "clock": clock,
        "iterations_per_block": iterations,
        "repeats": repeats,
        "ms_plain": ms["plain"],
        "ms_live": ms["live"],
        "fit_ratio": ratios,
        "training_thread_share": shares,
        "commit_share": commit_shares,
        "folder_bytes": size,
        "iterations_recorded": live.iteration,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench live", description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="W1,W2", help="comma-separated (default W1,W2)")
    parser.add_argument("--iterations", type=int, default=400, help="iterations per block (default 400)")
    parser.add_argument("--repeats", type=int, default=6, help="pairs of blocks (default 6)")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="cpu", help="CPU (default) or wall time")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (set before numpy loads)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    harness.limit_blas_threads(args.threads)
    print(harness.tune_allocator())
    results = []
    for name in args.workloads.split(","):
        result = measure(name.strip(), args.iterations, args.repeats, args.tiny, args.clock)
        results.append(result)
        share, commits, ratio = (
            harness.spread(result[key], percent)
            for key, percent in (
                ("training_thread_share", True),
                ("commit_share", True),
                ("fit_ratio", False),
            )
        )
        print(
            f"{result['workload']}: {args.clock} clock, step {statistics.median(result['ms_plain']):.2f} ms "
            f"without the writer, on the training thread {share}, "
            f"commits {commits}, "
            f"fit ratio {ratio}, run folder {result['folder_bytes'] / 1024:.0f} KiB "
            f"for {result['iterations_recorded']} iterations",
            flush=True,
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
