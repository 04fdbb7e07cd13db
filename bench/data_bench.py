"""Data pipeline benchmark: ``python -m bench.data_bench`` (or ``python -m bench data``).

Four measurements, each printed as a line, then one JSON line with every figure:

1. **PNG import**: 10,000 grayscale 28x28 PNGs in ten class folders (written to a temp folder first),
   imported with ``engine.data.load``; records per second.
2. **Iteration**: a 60,000 x 784 float32 dataset in RAM, one shuffled epoch in batches of 128 with no
   work per step; records per second (with and without prefetch).
3. **Keeping up with training**: the same epoch while the consumer does the numpy work of an MLP step
   (784-512-10, forward and backward matmuls: about 2.9 ms on a quiet 2-core machine); the time spent waiting
   for batches as a percentage of step time (target: under 5%).
4. **Disk cache**: the same 188 MB of records loaded with a memory budget of a quarter of that, so they
   stream from the HDF5 cache; run in a fresh process to measure its peak RSS against the budget.

``--quick`` shrinks every size (a smoke test, not a measurement).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import psutil
from PIL import Image

from engine.data import Dataset, MinibatchIterator, load

STEP_TARGET_S = 2.9e-3


def _png_folder(root: str, n: int, side: int = 28) -> None:
    rng = np.random.default_rng(0)
    for c in range(10):
        os.makedirs(os.path.join(root, str(c)), exist_ok=True)
    for i in range(n):
        pixels = rng.integers(0, 256, size=(side, side), dtype=np.uint8)
        Image.fromarray(pixels).save(os.path.join(root, str(i % 10), f"{i:05d}.png"), compress_level=1)


def bench_png_import(n: int) -> dict:
    root = tempfile.mkdtemp(prefix="sigma-bench-png-")
    try:
        t0 = time.perf_counter()
        _png_folder(root, n)
        made = time.perf_counter() - t0
        t0 = time.perf_counter()
        ds = load(root)
        took = time.perf_counter() - t0
        assert len(ds) == n and ds.shape_of("inputs") == (28, 28, 1)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"png_files": n, "png_write_s": made, "png_import_s": took, "png_import_records_per_s": n / took}


class _MLPStep:
    """The numpy work of one 784-512-10 MLP training step on a batch (forward, backward, SGD update).

    About 2.9 ms for a batch of 128 on a quiet 2-core machine: two 128x784 @ 784x512-sized matmuls
    dominate. Where it runs much faster (many BLAS threads) ``calibrate`` repeats it to reach about
    2.9 ms; the measured median is reported next to the wait figures.
    """

    def __init__(self, hidden: int = 512):
        self._build(hidden)
        self.repeats = 1

    def _build(self, hidden: int) -> None:
        rng = np.random.default_rng(0)
        self.hidden = hidden
        self.w1 = rng.normal(0, 0.05, size=(784, hidden)).astype(np.float32)
        self.w2 = rng.normal(0, 0.05, size=(hidden, 10)).astype(np.float32)
        self.onehot = np.eye(10, dtype=np.float32)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> None:
        for _ in range(self.repeats):
            self._step(x, y)

    def _step(self, x: np.ndarray, y: np.ndarray) -> None:
        x = x.reshape(len(x), -1)
        t = self.onehot[y % 10]
        h = np.maximum(x @ self.w1, 0)
        logits = h @ self.w2
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - t) / len(x)
        gw2 = h.T @ g
        gh = (g @ self.w2.T) * (h > 0)
        gw1 = x.T @ gh
        self.w1 -= 1e-3 * gw1
        self.w2 -= 1e-3 * gw2

    def calibrate(self, batch: int, target_s: float = STEP_TARGET_S) -> float:
        """Repeat the step so it takes at least about ``target_s`` here (a many-core BLAS does one in
        less); returns the measured median seconds."""
        self.repeats = 1
        one = self.measure(batch)
        self.repeats = max(1, round(target_s / one))
        return self.measure(batch) if self.repeats > 1 else one

    def measure(self, batch: int, n: int = 40) -> float:
        """Median seconds of one step on this machine (after a warm-up)."""
        x = np.random.default_rng(1).random((batch, 784), dtype=np.float32)
        y = np.arange(batch)
        for _ in range(10):
            self(x, y)  # wake BLAS threads and caches
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            self(x, y)
            times.append(time.perf_counter() - t0)
        return float(np.median(times))


def _epoch(ds, batch: int, step=None, prefetch: int = 2, rss=None) -> dict:
    """One shuffled epoch; returns wall time, time waiting for batches and time in ``step``."""
    wait = work = 0.0
    peak = 0
    with MinibatchIterator(ds, batch, seed=0, prefetch=prefetch) as it:
        gen = iter(it)
        t_start = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            try:
                b = next(gen)
            except StopIteration:
                break
            t1 = time.perf_counter()
            if step is not None:
                step(b["inputs"], b["targets"])
            t2 = time.perf_counter()
            wait += t1 - t0
            work += t2 - t1
            if rss is not None:
                peak = max(peak, rss())
        total = time.perf_counter() - t_start
    return {"s": total, "wait_s": wait, "work_s": work, "records": len(ds), "peak_rss": peak}


def bench_iteration(n: int, batch: int) -> dict:
    rng = np.random.default_rng(0)
    x = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=n).astype(np.int64)
    ds = Dataset({"inputs": x, "targets": y}, [str(i) for i in range(10)])
    out = {"iter_records": n, "batch": batch}
    _epoch(ds, batch)  # warm up page faults and caches
    for prefetch in (2, 0):
        r = _epoch(ds, batch, prefetch=prefetch)
        out[f"iter_records_per_s_prefetch{prefetch}"] = n / r["s"]
    step = _MLPStep()
    out["step_s"] = step.calibrate(batch)
    out["step_hidden"] = step.hidden
    out["step_repeats"] = step.repeats
    r = _epoch(ds, batch, step)
    out["train_wait_pct"] = 100 * r["wait_s"] / (r["wait_s"] + r["work_s"])
    out["train_records_per_s"] = n / r["s"]
    return out


def _write_idx(path: str, n: int, side: int) -> None:
    """An MNIST-like images/labels IDX pair, written in pieces (never whole in memory)."""
    rng = np.random.default_rng(0)
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 0x08, 3]) + struct.pack(">3I", n, side, side))
        for s in range(0, n, 4096):
            f.write(rng.integers(0, 256, size=(min(4096, n - s), side, side), dtype=np.uint8).tobytes())
    with open(path.replace("images", "labels").replace("idx3", "idx1"), "wb") as f:
        f.write(
            bytes([0, 0, 0x08, 1]) + struct.pack(">I", n) + (np.arange(n) % 10).astype(np.uint8).tobytes()
        )


def cache_child(n: int, batch: int) -> dict:
    """Runs in a fresh process: load 4x over budget, train one epoch from the disk cache."""
    proc = psutil.Process()
    work = tempfile.mkdtemp(prefix="sigma-bench-cache-")
    try:
        path = os.path.join(work, "big-images-idx3-ubyte")
        _write_idx(path, n, 28)
        path = os.path.dirname(path)
        step = _MLPStep()
        step_s = step.calibrate(batch)
        gc.collect()
        base = proc.memory_info().rss
        budget = n * 784 * 4 // 4
        t0 = time.perf_counter()
        ds = load(path, memory_budget=budget, cache_dir=os.path.join(work, "cache"))
        load_s = time.perf_counter() - t0
        after_load = proc.memory_info().rss
        plain = _epoch(ds, batch, prefetch=2, rss=lambda: proc.memory_info().rss)
        trained = _epoch(ds, batch, step, prefetch=2, rss=lambda: proc.memory_info().rss)
        peak = max(after_load, plain["peak_rss"], trained["peak_rss"])
        return {
            "cache_records": n,
            "cache_bytes": ds.nbytes,
            "cache_budget": budget,
            "cache_on_disk": ds.on_disk,
            "cache_load_s": load_s,
            "cache_iter_records_per_s": n / plain["s"],
            "cache_train_wait_pct": 100 * trained["wait_s"] / (trained["wait_s"] + trained["work_s"]),
            "cache_step_s": step_s,
            "cache_rss_base": base,
            "cache_rss_peak": peak,
            "cache_rss_growth": peak - base,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_cache(n: int, batch: int) -> dict:
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run(
        [sys.executable, "-m", "bench.data_bench", "--child-cache", str(n), "--batch", str(batch)],
        capture_output=True,
        text=True,
        cwd=repo,
        timeout=900,
    )
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"cache benchmark child failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.data_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test, not a measurement")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--child-cache", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_cache is not None:
        print(json.dumps(cache_child(args.child_cache, args.batch)))
        return 0
    n_png, n_rec = (500, 6000) if args.quick else (10_000, 60_000)
    mib = 2**20
    results = {"cpus": os.cpu_count(), "quick": args.quick}

    r = bench_png_import(n_png)
    results.update(r)
    print(
        f"PNG import: {n_png} files of 28x28 in {r['png_import_s']:.2f} s = "
        f"{r['png_import_records_per_s']:,.0f} records/s"
    )

    r = bench_iteration(n_rec, args.batch)
    results.update(r)
    print(
        f"iterate {n_rec}x784 float32, shuffled batches of {args.batch}: "
        f"{r['iter_records_per_s_prefetch2']:,.0f} records/s with prefetch, "
        f"{r['iter_records_per_s_prefetch0']:,.0f} without"
    )
    verdict = "OK" if r["train_wait_pct"] < 5 else "ABOVE TARGET"
    print(
        f"MLP step (784-{r['step_hidden']}-10, x{r['step_repeats']}) of {r['step_s'] * 1e3:.2f} ms: "
        f"waiting for batches {r['train_wait_pct']:.2f}% of step time "
        f"(target < 5%: {verdict}); {r['train_records_per_s']:,.0f} records/s"
    )

    r = bench_cache(n_rec, args.batch)
    results.update(r)
    print(
        f"disk cache: {r['cache_bytes'] / mib:.0f} MiB of records, budget {r['cache_budget'] / mib:.0f} MiB "
        f"(on disk: {r['cache_on_disk']}); load {r['cache_load_s']:.2f} s; "
        f"{r['cache_iter_records_per_s']:,.0f} records/s; waiting {r['cache_train_wait_pct']:.2f}% of "
        f"a {r['cache_step_s'] * 1e3:.2f} ms step; peak RSS {r['cache_rss_peak'] / mib:.0f} MiB = "
        f"base {r['cache_rss_base'] / mib:.0f} MiB + {r['cache_rss_growth'] / mib:.0f} MiB"
    )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
