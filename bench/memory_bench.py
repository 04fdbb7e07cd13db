"""``python -m bench memory [--workloads W1,W2] [--batches 64,512] [--repeats 3]``

The memory estimate (:func:`engine.estimate.estimate_cost`, from shape inference alone) against the
measured peak RSS increase of the engine's training step: for each workload and batch size, a fresh
process builds the workload's data, records its resident memory, builds the trainer, runs four steps and
reads its peak RSS (``getrusage``). Processes are interleaved over the repeats; the table gives the
estimate, the median measured increase with its spread, and their ratio (the goal: within 25 %).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, sys
import numpy as np
from bench.workloads import get, make_data
from bench.workloads.engine_steps import build
import engine.training, engine.layers, engine.optim  # imported before the baseline: code is not data

def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096

name, batch = sys.argv[1], int(sys.argv[2])
workload = get(name)
config = workload.config()
config["batch"] = batch
x, y = make_data(workload, config, 0)
base = rss()
step = build(workload, config, x, y)
for _ in range(4):
    step()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"increase": peak - base}))
"""


def _measure(name: str, batch: int) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, name, str(batch)], env=env, capture_output=True, text=True, check=True
    )
    return int(json.loads(done.stdout.strip().splitlines()[-1])["increase"])


def _estimate(name: str, batch: int) -> int:
    from bench.workloads import get
    from bench.workloads.engine_steps import make_trainer
    from engine.estimate import estimate_cost

    workload = get(name)
    config = workload.config()
    trainer = make_trainer(workload, config)
    classes = config.get("classes") or config.get("sizes", (0,))[-1]
    return estimate_cost(trainer.network, batch, trainer.optimiser, loss_classes=classes).total_bytes


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench memory", description=__doc__.split("\n\n")[1])
    p.add_argument("--workloads", default="W1,W2")
    p.add_argument("--batches", default="64,512")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = p.parse_args(argv)
    cases = [(w, int(b)) for w in args.workloads.split(",") for b in args.batches.split(",")]
    measured: dict = {case: [] for case in cases}
    for _ in range(args.repeats):  # interleaved: a slow phase of the machine touches every case alike
        for case in cases:
            measured[case].append(_measure(*case))
    rows = []
    print(f"{'workload':8s} {'batch':>5s} {'estimate':>10s} {'measured (min-max)':>24s} {'ratio':>6s}")
    for case in cases:
        values = sorted(measured[case])
        median = values[len(values) // 2]
        estimate = _estimate(*case)
        ratio = estimate / median
        rows.append({"workload": case[0], "batch": case[1], "estimate": estimate, "measured": values})
        span = f"{median / 2**20:.1f} ({values[0] / 2**20:.1f}-{values[-1] / 2**20:.1f}) MiB"
        print(f"{case[0]:8s} {case[1]:5d} {estimate / 2**20:7.1f} MiB {span:>24s} {ratio:6.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
