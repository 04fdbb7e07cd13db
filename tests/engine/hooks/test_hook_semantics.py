"""Every kind of hook fires at the same iterations, with the view its placement promises, whatever the
operator: one worker, a thread pool of 1, 2 or 4 workers, or 1, 2 (and, slow, 4) MPI ranks.

Global hooks run once per iteration on the trainer (the operator's merged view); local hooks run on each
worker that computed a shard, with that worker's shard (its rows and its own mean loss), before the step.
"""

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.operator.mpi import mpi_status

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "hook_semantics_script.py"


def _script():
    spec = importlib.util.spec_from_file_location("sigma_hook_semantics_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = _script()
ITERATIONS = script.EPOCHS * script.SAMPLES // script.BATCH  # 15

#: What each global hook must see: (iteration, epoch) at each firing, whatever the operator.
GLOBAL_EXPECTED = {
    "global every 4": [(4, 0), (8, 1), (12, 2)],
    "global epoch": [(5, 1), (10, 2), (15, 3)],
    "global start": [(0, 0)],
    "global stop": [(15, 3)],
    "global gated": [(i, (i - 1) // 5) for i in range(1, ITERATIONS + 1)],
}
#: Runs counted per hook (a local hook's firing on N workers is one run).
RUNS_EXPECTED = {"NaNGuard": 15, "g4": 3, "ge": 3, "gs": 1, "gt": 1, "gc": 15, "l4": 3, "l1": 15, "gl": 15}


def check(result: dict, workers: int, rank: int | None = None) -> None:
    log = result["log"]
    for kind, expected in GLOBAL_EXPECTED.items():
        seen = [(r["iteration"], r["epoch"]) for r in log if r["kind"] == kind]
        assert seen == expected, (kind, seen)
    assert result["runs"] == RUNS_EXPECTED
    losses = {int(k): v for k, v in result["losses"].items()}
    for kind, every in (("local every 4", 4), ("local every 1", 1)):
        firings = [r for r in log if r["kind"] == kind]
        iterations = sorted({r["iteration"] for r in firings})
        assert iterations == list(range(every, ITERATIONS + 1, every)), (kind, iterations)
        for it in iterations:
            views = [r for r in firings if r["iteration"] == it]
            assert all(v["epoch"] == (it - 1) // 5 for v in views)
            if rank is None:  # threads: every worker, in order; their rows add up to the batch
                assert [v["worker"] for v in views] == list(range(workers))
                assert sum(v["rows"] for v in views) == script.BATCH
                mean = sum(v["loss"] * v["rows"] for v in views) / script.BATCH
                assert mean == pytest.approx(losses[it], rel=1e-5, abs=1e-6)
            else:  # MPI: this rank's one worker, with its share of the rows
                assert len(views) == 1
                assert views[0]["rows"] == script.BATCH // workers


@pytest.mark.parametrize(
    "operator,workers", [("single", 1), ("threads", 1), ("threads", 2), ("threads", 4)], ids=str
)
def test_hooks_fire_alike_in_process(operator, workers):
    check(script.run(operator, workers), workers)


def _mpi(tmp_path, ranks: int) -> list[dict]:
    from engine.testing.mpi import local_mpi_environment

    ok, why = mpi_status()
    mpirun = shutil.which("mpirun") or shutil.which("mpiexec")
    if not ok or mpirun is None:
        pytest.skip(f"MPI is not available here: {why or 'no mpirun'}")
    out = tmp_path / "hooks.json"
    command = [mpirun, "-n", str(ranks), "--oversubscribe", sys.executable, str(SCRIPT), str(out), "mpi", "1"]
    done = subprocess.run(command, env=local_mpi_environment(), capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return [json.loads(out.with_name(f"hooks.rank{k}.json").read_text()) for k in range(ranks)]


@pytest.mark.parametrize("ranks", [1, 2])
def test_hooks_fire_alike_under_mpi(tmp_path, ranks):
    results = _mpi(tmp_path, ranks)
    for rank, result in enumerate(results):
        check(result, ranks, rank=rank)
    # every rank's global hooks saw the same merged losses
    assert all(r["losses"] == results[0]["losses"] for r in results)


@pytest.mark.slow
def test_hooks_fire_alike_under_four_mpi_ranks(tmp_path):
    results = _mpi(tmp_path, 4)
    for rank, result in enumerate(results):
        check(result, 4, rank=rank)
