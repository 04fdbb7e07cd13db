"""Smoke test of ``python -m bench train``: every workload runs a few tiny steps and the report is sane."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.workloads import WORKLOADS, Unavailable, build_step, make_data
from bench.workloads.engine_steps import EPOCH_BATCHES

ROOT = Path(__file__).resolve().parents[2]


def _bench_train(*args, env=None, timeout=120) -> subprocess.CompletedProcess:
    """``python -m bench.train_bench ARGS`` from the repository root, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "bench.train_bench", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_tiny_suite_runs_and_writes_json(tmp_path):
    out = tmp_path / "report.json"
    names = ["W1", "W3-GRU"]  # two workloads keep this quick; every workload runs in-process below
    args = ["--tiny", "--seconds", "0.1", "--repeats", "2", "--warmup", "0.02", "--threads", "1"]
    args += ["--implementations", "engine,fit,studio,numpy", "--workloads", ",".join(names)]
    args += ["--json", str(out)]
    proc = _bench_train(*args)
    assert proc.returncode == 0, proc.stderr
    assert "allocator:" in proc.stdout and "ms/step" in proc.stdout
    report = json.loads(out.read_text())
    rows = {(r["workload"], r["implementation"]): r for r in report["results"]}
    assert set(rows) == {(w, i) for w in names for i in ("engine", "fit", "studio", "numpy")}
    assert report["meta"]["allocator"] and report["meta"]["seconds"] == 0.1
    for name in names:
        ref = rows[(name, "numpy")]
        assert ref["available"] and ref["ms_per_step"] > 0 and len(ref["samples_ms"]) == 2
        assert ref["vs_numpy"] == pytest.approx(1.0)
        assert 10 < ref["peak_rss_mib"] < 1000
        assert ref["threads"] == 1  # --threads reached the worker
        engine = rows[(name, "engine")]
        # the engine either ran or says why not, in the table too
        assert engine["available"] or engine["reason"]
        if not engine["available"]:
            assert f"{name:<9} engine  not available" in proc.stdout
        for impl in ("fit", "studio"):  # several iterations per call, reported per iteration
            assert rows[(name, impl)]["available"] and rows[(name, impl)]["ms_per_step"] > 0


@pytest.mark.parametrize("name", list(WORKLOADS))
@pytest.mark.parametrize("implementation", ["numpy", "engine", "fit", "studio"])
def test_each_workload_trains_a_few_steps_or_says_why_not(name, implementation):
    workload = WORKLOADS[name]
    config = workload.config(tiny=True)
    x, y = make_data(workload, config)
    try:
        step = build_step(implementation, workload, config, x, y)
    except Unavailable as exc:
        assert implementation != "numpy" and str(exc)
        return
    losses = [float(np.asarray(getattr(loss, "data", loss))) for loss in (step() for _ in range(3))]
    assert all(np.isfinite(losses))
    if implementation in ("fit", "studio"):  # a call is several iterations of Trainer.fit
        trainer = step.trainer
        assert step.iterations > 1 and trainer.iteration == 3 * step.iterations
        assert trainer.epoch == 3 * step.iterations // EPOCH_BATCHES
        hooks = {h.name for h in trainer.hooks} - {"BenchGate"}  # the bench's own hook (one long fit)
        if implementation == "fit":
            assert hooks == set()
        else:  # the hooks engine.run.build_run installs
            assert {"NaNGuard", "MetricReporter", "ResourceReporter", "HistogramReporter"} <= hooks


def test_unknown_workload_is_a_clear_error():
    proc = _bench_train("--workloads", "W9", timeout=60)
    assert proc.returncode == 2 and "Unknown workload 'W9'" in proc.stderr and "W1" in proc.stderr


def test_compare_puts_two_reports_side_by_side():
    from bench.workloads.report import compare

    def report(commit, ms):
        rows = [{"workload": "W1", "implementation": "numpy", "ms_per_step": ms}]
        return {"meta": {"commit": commit, "date": "today"}, "results": rows}

    text = compare(report("aaa", 2.0), report("bbb", 3.0))
    assert "aaa" in text and "bbb" in text
    assert text.splitlines()[-1].split() == ["W1", "numpy", "2.00", "3.00", "1.50"]


def test_an_implementation_that_cannot_load_is_reported_not_available(tmp_path):
    # a `torch` module that fails to import, first on the path: the torch worker must say why and the
    # rest of the suite must still run
    (tmp_path / "torch.py").write_text("raise ImportError('no torch in this test')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    args = ["--tiny", "--seconds", "0.05", "--repeats", "1", "--warmup", "0.01", "--workloads", "W1"]
    proc = _bench_train(*args, "--implementations", "numpy,torch", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "W1        torch   not available (PyTorch is not installed (ImportError))" in proc.stdout
    numpy_row = next(line for line in proc.stdout.splitlines() if line.startswith("W1        numpy"))
    assert "1.00" in numpy_row


def test_hook_costs_attribute_the_studio_iteration_to_its_stages(tmp_path):
    """``--hook-costs``: the stages and hooks of the studio's iteration, with the probes' cost out."""
    from bench.train_costs import format_costs, hook_costs
    from engine.data.iterators import MinibatchIterator

    epoch_batches = MinibatchIterator._epoch_batches

    result = hook_costs("W1", seconds=0.9, block=0.3, tiny=True, log=None)
    block = result["blocks"][0]
    assert block["bare"] > 0 and block["fit"] > 0 and block["fit_thread"] > block["probes"] > 0
    stages = block["stages"]
    for stage in ("compute (forward, loss, backward)", "optimiser step", "gather (next batch)"):
        assert stages[stage] > 0
    assert "hook NaNGuard.run" in stages and "hook MetricReporter.run" in stages
    text = format_costs(result)
    assert "studio / bare" in text and "the loop's own Python" in text
    # the command line in a process of its own: it tunes the allocator, which a test process must not
    # with --threads, in a child started with that BLAS environment (this one's BLAS is loaded already)
    out = tmp_path / "c.json"
    proc = _bench_train(
        "--hook-costs", "W1", "--tiny", "--threads", "1", "--seconds", "0.3", "--json", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    saved = json.loads(out.read_text())[0]
    assert saved["workload"] == "W1" and saved["blas_threads"] == 1
    assert "BLAS threads: 1" in proc.stdout
    assert MinibatchIterator._epoch_batches is epoch_batches  # the probe on the class is taken off
