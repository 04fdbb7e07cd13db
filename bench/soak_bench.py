"""Soak: train for a long time with per-iteration hooks on and report how resident memory grows.

``python -m bench soak --minutes 60`` trains a small MLP on synthetic blobs (64 iterations an epoch,
so both the per-iteration and the per-epoch histories grow) with every hook that runs each iteration:
a recording :class:`~engine.hooks.MetricReporter`, the NaN guard, a :class:`ResourceReporter`, a
sample-prediction streamer and parameter histograms every 10 iterations, a checkpoint saver every
5000 iterations, and an event-bus listener that keeps the last events (as a GUI would). The main thread
samples the process's RSS every ``--interval`` seconds; after ``--warmup-minutes`` it fits a line
through the samples and reports the slope in MB/min with its standard error, and the slopes of the
two halves of the measured stretch (their difference is the spread). Goal: < 0.1 MB/min.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import tempfile
import threading
import time

import numpy as np
import psutil

from bench.harness import tune_allocator


def _slope(samples: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares slope of ``(minutes, MB)`` samples and its standard error (MB/min)."""
    if len(samples) < 3:
        return float("nan"), float("nan")
    t = np.array([s[0] for s in samples])
    m = np.array([s[1] for s in samples])
    a, b = np.polyfit(t, m, 1)
    residuals = m - (a * t + b)
    spread = np.sqrt(np.sum(residuals**2) / (len(t) - 2) / np.sum((t - t.mean()) ** 2))
    return float(a), float(spread)


def _make_trainer(folder: str):
    from engine.hooks import (
        CheckpointSaver,
        HistogramReporter,
        MetricReporter,
        ResourceReporter,
        SamplePredictionStreamer,
        every,
    )
    from engine.layers import Dense, Input, SoftmaxCrossEntropy
    from engine.network import Network
    from engine.optim import Adam
    from engine.training import Trainer

    rng = np.random.default_rng(0)
    centres = rng.normal(scale=2.0, size=(4, 16))
    y = rng.integers(0, 4, size=2048)
    x = (centres[y] + rng.normal(size=(2048, 16))).astype(np.float32)
    net = Network(
        Input((16,), name="x")
        + Dense(64, activation="relu", name="fc1")
        + Dense(4, name="fc2")
        + SoftmaxCrossEntropy(name="loss"),
        seed=1,
    )
    hooks = [
        MetricReporter(every(1), record=True),
        ResourceReporter(every(1)),
        SamplePredictionStreamer(x[:16], y[:16], timestep=every(10)),
        HistogramReporter(every(10)),
        CheckpointSaver(folder, timestep=every(5000), keep_last=2),
    ]
    trainer = Trainer(net, optimiser=Adam(1e-3), batch_size=32, hooks=hooks, metrics=["accuracy"])
    return trainer, (x, y.astype(np.int64))


def run(minutes: float, warmup_minutes: float, interval: float) -> dict:
    """Train for ``minutes`` and return the RSS samples and slopes (see the module docstring)."""
    allocator = tune_allocator()
    process = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="sigma-soak-") as folder:
        trainer, data = _make_trainer(folder)
        recent = collections.deque(maxlen=256)  # a GUI keeps the latest events, not all of them
        trainer.events.subscribe(recent.append)
        failure: list[BaseException] = []

        def train():
            try:
                trainer.fit(data, epochs=10**9)
            except BaseException as exc:  # reported below; the soak must not hide an error
                failure.append(exc)

        thread = threading.Thread(target=train, name="soak-training", daemon=True)
        start = time.monotonic()
        thread.start()
        samples: list[tuple[float, float]] = []
        while thread.is_alive() and time.monotonic() - start < minutes * 60:
            samples.append(((time.monotonic() - start) / 60, process.memory_info().rss / 2**20))
            time.sleep(interval)
        trainer.operator.stop("soak finished")
        thread.join()
        if failure:
            raise RuntimeError(f"training failed during the soak: {failure[0]!r}") from failure[0]
        measured = [s for s in samples if s[0] >= warmup_minutes]
        half = len(measured) // 2
        slope, error = _slope(measured)
        first, _ = _slope(measured[:half])
        second, _ = _slope(measured[half:])
        return {
            "minutes": minutes,
            "warmup_minutes": warmup_minutes,
            "iterations": trainer.iteration,
            "epochs": trainer.epoch,
            "iteration_history": len(trainer.iteration_history),
            "history": len(trainer.history),
            "rss_start_mb": samples[0][1] if samples else None,
            "rss_after_warmup_mb": measured[0][1] if measured else None,
            "rss_end_mb": samples[-1][1] if samples else None,
            "rss_median_mb": statistics.median(s[1] for s in measured) if measured else None,
            "slope_mb_per_min": slope,
            "slope_stderr_mb_per_min": error,
            "slope_first_half": first,
            "slope_second_half": second,
            "samples": samples,
            "allocator": allocator,
        }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="how long to train (default 60)")
    parser.add_argument("--warmup-minutes", type=float, default=5.0, help="left out of the slope")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--json", help="write the full result (with every sample) to this file")
    args = parser.parse_args(argv)
    result = run(args.minutes, min(args.warmup_minutes, args.minutes / 2), args.interval)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    summary = {k: v for k, v in result.items() if k != "samples"}
    print(json.dumps(summary, indent=1))
    goal = result["slope_mb_per_min"] < 0.1
    print(
        f"RSS slope after warm-up: {result['slope_mb_per_min']:+.4f} MB/min "
        f"(± {result['slope_stderr_mb_per_min']:.4f}; halves {result['slope_first_half']:+.4f} and "
        f"{result['slope_second_half']:+.4f}) over {result['iterations']} iterations: "
        f"{'within' if goal else 'ABOVE'} the goal of 0.1 MB/min",
        file=sys.stderr if not goal else sys.stdout,
    )
    return 0 if goal else 1


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.exit(main())
