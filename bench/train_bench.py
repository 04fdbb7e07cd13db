"""``python -m bench train``: training-step speed and peak memory of our engine, numpy and PyTorch.

For each workload (see ``bench/workloads/__init__.py``) every available implementation is built on the
same synthetic batch (fixed seed) in its own worker process, warmed up, then timed in interleaved
blocks: ``--repeats`` rounds, each giving every implementation one block of ``--seconds / --repeats``
seconds, in rotating order, while the others wait idle. The median block's ms/step is reported with its
ratios to the numpy reference and to PyTorch, and each worker's peak RSS is its implementation's alone.

Why worker processes rather than one process: each implementation keeps its own thread pools and heap,
and none inherits another's. Idle pool threads still spin for a while after their work (OpenBLAS's for
~85 ms, OpenMP's too) in whichever process they live, so with more than one thread every block starts
after a pause of ``SETTLE_SECONDS`` in which the previous block's spinners go to sleep; without it, the
implementation that follows a spinning one in the rotation paid for it in every round. The allocator
thresholds of ``bench.harness`` apply to every worker alike.

Run ``python -m bench train --help`` (or ``python -m bench.train_bench``) for the options.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench import harness
from bench.workloads import IMPLEMENTATIONS, WORKLOADS, Unavailable, build_step, get, make_data
from bench.workloads.report import check_targets, compare, format_table

__all__ = ["main", "run"]

MIB = 1024 * 1024
#: Idle pause before each timed block with more than one thread (see ``harness.interleave``'s ``settle``).
SETTLE_SECONDS = 0.25


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text if isinstance(exc, Unavailable) else f"{type(exc).__name__}: {text}"


def _build(impl, workload, config, x, y):
    """(step, None) or (None, reason): builds and runs the first step, which must not fail."""
    try:
        step = build_step(impl, workload, config, x, y)
        step()
        return step, None
    except Exception as exc:  # an engine part missing or broken must not stop the suite
        return None, _describe(exc)


def _reply(obj: dict) -> None:
    print(harness.PROTOCOL_PREFIX + json.dumps(obj), flush=True)


def _worker(spec: str, tiny: bool) -> None:
    """Worker-process entry: build one (workload, implementation), then answer timing commands.

    Commands on stdin, one per line: ``block SECONDS`` (train that long; replies ms/step and steps) and
    ``memory`` (replies the peak RSS so far). End of input ends the worker.
    """
    name, impl = spec.split(":")
    start = harness.peak_rss_bytes()
    workload = get(name)
    config = workload.config(tiny)
    x, y = make_data(workload, config)
    step, reason = _build(impl, workload, config, x, y)
    from bench.workloads.torch_steps import blas_threads

    _reply({"ready": step is not None, "reason": reason, "threads": blas_threads()})
    if step is None:
        return
    for line in sys.stdin:
        command, *args = line.split()
        if command == "block":
            _reply(harness.measure_block(step, float(args[0])))
        elif command == "memory":
            _reply({"peak_rss_mib": harness.peak_rss_bytes() / MIB, "rss_at_start_mib": start / MIB})


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _versions() -> dict:
    """Library versions, read from the installed metadata (importing torch here would cost seconds)."""
    from importlib import metadata

    out = {"python": platform.python_version(), "numpy": np.__version__}
    try:
        out["torch"] = metadata.version("torch")
    except metadata.PackageNotFoundError:
        out["torch"] = None
    return out


def _start_workers(name, implementations, tiny, rows, log, threads=None):
    """One ready worker process per available implementation; unavailable ones are noted in ``rows``."""
    workers = {}
    root = str(Path(__file__).resolve().parent.parent)
    for impl in implementations:
        args = ["-m", "bench.train_bench", "--worker", f"{name}:{impl}"] + (["--tiny"] if tiny else [])
        worker = harness.Worker(args, cwd=root, env=harness.thread_env(threads))
        try:
            hello = worker.read()
        except RuntimeError as exc:
            hello = {"ready": False, "reason": _describe(exc)}
        rows[impl] = {
            "workload": name,
            "implementation": impl,
            "available": hello["ready"],
            "reason": hello["reason"],
            "threads": hello.get("threads"),
        }
        if hello["ready"]:
            workers[impl] = worker
        else:
            worker.close()
            log(f"{name}: {impl}: not available ({hello['reason']})")
    return workers


_FAILED = {"ms": float("nan"), "cpu_ms": float("nan")}


def _runner(worker, row):
    """A block runner for :func:`harness.interleave` that records a crashing worker instead of raising."""

    def run_block(seconds: float) -> dict:
        if "error" in row:
            return _FAILED
        try:
            return worker.ask(f"block {seconds}", timeout=300 + 2 * seconds)
        except RuntimeError as exc:
            row["error"] = _describe(exc)
            return _FAILED

    return run_block


def _in_process_runners(name, workers, tiny, rows) -> dict:
    """Block runners timing each implementation in THIS process (``--same-process``)."""
    workload = get(name)
    config = workload.config(tiny)
    x, y = make_data(workload, config)
    runners = {}
    for impl in workers:
        step, reason = _build(impl, workload, config, x, y)
        if step is None:
            rows[impl]["error"] = reason
            continue
        runners[impl] = (lambda f: lambda seconds: harness.measure_block(f, seconds))(step)
    return runners


#: Interleaved pairs reported as per-round ratios: (numerator, denominator).
PAIRS = (("studio", "torch"), ("fit", "torch"), ("engine", "torch"), ("fit", "engine"), ("studio", "engine"))


def _pair_ratios(rows, samples, clock) -> None:
    """Per-round time ratios of each pair in :data:`PAIRS` (blocks of one round ran back to back), as
    ``rows[a]["pairs"][b] = {"median", "min", "max", "n"}``: steadier than a ratio of medians when the
    machine's speed drifts between rounds."""
    key = "ms" if clock == "wall" else "cpu_ms"
    for a, b in PAIRS:
        if a not in samples or b not in samples:
            continue
        ratios = [
            x[key] / y[key] for x, y in zip(samples[a], samples[b], strict=False) if x[key] > 0 < y[key]
        ]
        ratios = [r for r in ratios if r == r]  # a round where a worker died
        if ratios:
            rows[a].setdefault("pairs", {})[b] = {
                "median": harness.median(ratios),
                "min": min(ratios),
                "max": max(ratios),
                "n": len(ratios),
            }


def _time_workload(
    name, implementations, seconds, repeats, warmup, tiny, log, threads=None, same_process=False, clock="wall"
) -> dict:
    """Rows (by implementation) for one workload, each implementation in its own worker process.

    With ``same_process`` the timing runs in this process instead (the workers then only train for a
    moment at the end to give each implementation's peak RSS). ``clock`` ("wall" or "cpu") picks the
    figure behind ``ms_per_step`` and the ratios; both are recorded.
    """
    rows: dict[str, dict] = {}
    workers = _start_workers(name, implementations, tiny, rows, log, threads)
    try:
        t0 = time.perf_counter()
        if same_process:
            runners = _in_process_runners(name, workers, tiny, rows)
        else:
            runners = {impl: _runner(w, rows[impl]) for impl, w in workers.items()}
        settle = 0.0 if threads == 1 else SETTLE_SECONDS
        samples = harness.interleave(runners, seconds, repeats, warmup, settle=settle)
        runners.clear()  # frees in-process models before the next workload
        log(f"{name}: timed {', '.join(samples) or 'nothing'} in {time.perf_counter() - t0:.1f} s")
        _pair_ratios(rows, samples, clock)
        for impl, blocks in samples.items():
            blocks = [b for b in blocks if b["ms"] == b["ms"]]  # drop NaN from a worker that died
            for key, label in (("ms", "wall"), ("cpu_ms", "cpu")):
                values = [b[key] for b in blocks]
                rows[impl][f"{label}_ms_per_step"] = harness.median(values) if values else None
                rows[impl][f"{label}_samples_ms"] = values
            rows[impl]["ms_per_step"] = rows[impl][f"{clock}_ms_per_step"]
            rows[impl]["samples_ms"] = rows[impl][f"{clock}_samples_ms"]
        for impl, worker in workers.items():
            if "error" in rows[impl]:
                log(f"{name}: {impl}: failed ({rows[impl]['error']})")
                continue
            if same_process:
                worker.ask(f"block {max(warmup, 0.2) + min(seconds, 1.0)}")
            rows[impl].update(worker.ask("memory"))
    finally:
        for w in workers.values():
            w.close()
    base = {k: rows[k].get("ms_per_step") for k in ("numpy", "torch") if k in rows}
    for row in rows.values():
        ms = row.get("ms_per_step")
        for ref, ref_ms in base.items():
            row[f"vs_{ref}"] = ms / ref_ms if ms and ref_ms else None
    return rows


def run(
    workloads,
    implementations,
    seconds=3.0,
    repeats=5,
    warmup=0.5,
    tiny=False,
    log=print,
    threads=None,
    same_process=False,
    clock="wall",
) -> dict:
    """Run the suite; returns the JSON-able report (see bench/README.md for its fields)."""
    allocator = harness.tune_allocator()
    from bench.workloads.torch_steps import blas_threads

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    report = {
        "meta": {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "commit": _git_commit(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "blas_threads": threads or blas_threads(),
            "allocator": allocator,
            "seconds": seconds,
            "repeats": repeats,
            "warmup": warmup,
            "tiny": tiny,
            "same_process": same_process,
            "clock": clock,
            "load_average_at_start": load,
            "cpu_pressure_at_start": harness.cpu_pressure(),
            **_versions(),
        },
        "results": [],
    }
    log(f"allocator: {allocator}")
    loads = "unknown" if load is None else " ".join(f"{v:.1f}" for v in load)
    log(
        f"threads per implementation: {report['meta']['blas_threads']}; load average {loads} (1, 5, 15 min); "
        f"CPU pressure {report['meta']['cpu_pressure_at_start']}% (share of time tasks waited for a CPU)"
    )
    for name in workloads:
        rows = _time_workload(
            get(name).name, implementations, seconds, repeats, warmup, tiny, log, threads, same_process, clock
        )
        report["results"].extend(rows.values())
    if hasattr(os, "getloadavg"):
        report["meta"]["load_average_at_end"] = os.getloadavg()
    report["meta"]["cpu_pressure_at_end"] = harness.cpu_pressure()
    report["targets"] = check_targets(report["results"])
    return report


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m bench train", description=__doc__.splitlines()[0])
    p.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated, from {', '.join(WORKLOADS)} (default: all)",
    )
    p.add_argument(
        "--implementations",
        default=",".join(IMPLEMENTATIONS),
        help=f"comma-separated, from {', '.join(IMPLEMENTATIONS)} (default: all)",
    )
    p.add_argument(
        "--seconds", type=float, default=3.0, help="measured seconds per implementation (default 3)"
    )
    p.add_argument("--repeats", type=int, default=5, help="interleaved blocks per implementation (default 5)")
    p.add_argument(
        "--warmup", type=float, default=0.5, help="warm-up seconds per implementation (default 0.5)"
    )
    p.add_argument(
        "--threads", type=int, help="BLAS/OpenMP threads in every worker (default: the libraries')"
    )
    p.add_argument(
        "--same-process",
        action="store_true",
        help="time every implementation in this one process (workers then only give peak RSS; "
        "--threads does not reach this process's already loaded BLAS)",
    )
    p.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="figure behind ms/step and the ratios: wall time (default) or the process's CPU time, "
        "steadier on a busy machine with --threads 1 (both are in the JSON)",
    )
    p.add_argument("--json", type=Path, help="write the report as JSON to this file")
    p.add_argument("--tiny", action="store_true", help="tiny sizes (smoke test; figures meaningless)")
    p.add_argument(
        "--profile",
        metavar="WORKLOAD[:IMPL]",
        help="profile one implementation (default engine) in this process with pyinstrument",
    )
    p.add_argument(
        "--hook-costs",
        metavar="WORKLOADS",
        help="attribute the studio row's CPU time per iteration to the loop's stages and each hook, "
        "next to the bare step and fit, in this process (--seconds in all per workload, default 3: "
        "use 40 or more)",
    )
    p.add_argument(
        "--compare", nargs=2, type=Path, metavar=("OLD.json", "NEW.json"), help="compare two saved reports"
    )
    p.add_argument("--worker", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> int:
    """Entry point of ``python -m bench train``; returns the exit status."""
    args = _parse(argv)
    if args.worker:
        harness.tune_allocator()  # the parent set the environment too; this makes it explicit
        _worker(args.worker, args.tiny)
        return 0
    if args.compare:
        old, new = (json.loads(path.read_text()) for path in args.compare)
        print(compare(old, new))
        return 0
    if args.profile:
        from bench.train_profile import profile

        name, _, impl = args.profile.partition(":")
        print(profile(name, impl or "engine", args.seconds, args.tiny))
        return 0
    if args.hook_costs:
        from bench.train_costs import format_costs, hook_costs

        wanted = harness.thread_env(args.threads)
        if any(os.environ.get(k) != v for k, v in wanted.items()):
            # numpy's BLAS is loaded already and keeps its thread count: attribute in a child that
            # starts with the environment, as the timed workers do
            child = [sys.executable, "-m", "bench.train_bench", *(sys.argv[1:] if argv is None else argv)]
            root = Path(__file__).resolve().parent.parent
            return subprocess.run(child, cwd=root, env={**os.environ, **wanted}).returncode
        harness.tune_allocator()  # as every timed worker does
        results = []
        for name in args.hook_costs.split(","):
            results.append(hook_costs(name.strip(), args.seconds, tiny=args.tiny))
            print(format_costs(results[-1]), flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
        return 0
    try:
        names = [get(n).name for n in args.workloads.split(",") if n.strip()]
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    impls = [i.strip() for i in args.implementations.split(",") if i.strip()]
    unknown = [i for i in impls if i not in IMPLEMENTATIONS]
    if unknown:
        print(f"Unknown implementation {unknown[0]!r}. Known: {', '.join(IMPLEMENTATIONS)}", file=sys.stderr)
        return 2
    report = run(
        names,
        impls,
        args.seconds,
        args.repeats,
        args.warmup,
        args.tiny,
        log=lambda s: print(s, flush=True),
        threads=args.threads,
        same_process=args.same_process,
        clock=args.clock,
    )
    print()
    print(format_table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
