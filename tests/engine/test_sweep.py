"""Sweeps: axes, trials as recorded runs, and a killed sweep that resumes its remaining trials."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import templates
from engine.runs import list_runs
from engine.runs.sweep import (
    SweepError,
    apply_values,
    create_sweep,
    load_sweep,
    parse_axis,
    remaining_trials,
    run_sweep,
    trial_runs,
)

ROOT = Path(__file__).resolve().parents[2]


def wait_for_orphaned_trials(timeout: float = 30.0) -> None:
    """Until no sweep trial process is left (an orphan ends itself within about half a second of its
    coordinator's death; see engine.runs.trial)."""
    import psutil

    deadline = time.monotonic() + timeout
    while True:
        left = []
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = proc.info["cmdline"] or []
            if "_sweep-trial" in cmdline and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(proc.pid)
        if not left:
            return
        assert time.monotonic() < deadline, f"orphaned sweep trials still running: {left}"
        time.sleep(0.05)


def _project(folder, **training):
    project = templates.digits_project()
    project.network = templates.mlp(inputs=64, hidden=(16,), classes=10)
    project.training.update({"epochs": 1, "batch_size": 128, **training})
    project.training["checkpoint"]["every_epochs"] = 0  # trials need no periodic checkpoints here
    project.save(folder / "tiny.sigma")
    return project


def test_axes_parse_and_apply():
    assert parse_axis("optimiser.learning_rate=1e-3,3e-3") == ("optimiser.learning_rate", [0.001, 0.003])
    assert parse_axis("batch_size=32, 64") == ("batch_size", [32, 64])
    assert parse_axis("optimiser=adam,sgd") == ("optimiser", ["adam", "sgd"])
    for bad in ("learning_rate", "=1,2", "a..b=1", "seed=1,,2"):
        with pytest.raises(SweepError):
            parse_axis(bad)
    project = templates.digits_project()
    apply_values(project, {"optimiser.learning_rate": 0.1, "optimiser": "sgd", "network.fc*.units": 8})
    assert project.training["optimiser"] == {"type": "sgd", "learning_rate": 0.1}
    units = {n["name"]: n.get("units") for n in project.network["nodes"]}
    assert units["fc1"] == units["fc2"] == 8 and units["logits"] == 10
    with pytest.raises(SweepError, match="no layer matches 'conv\\*'"):
        apply_values(project, {"network.conv*.filters": 8})
    with pytest.raises(SweepError, match="have no argument 'filters'"):
        apply_values(project, {"network.fc1.filters": 8})


def test_a_2x2_grid_on_digits_gives_4_runs_with_their_settings_and_metrics(tmp_path):
    project = _project(tmp_path)
    axes = [parse_axis("optimiser.learning_rate=1e-3,3e-3"), parse_axis("batch_size=32,64")]
    path = create_sweep(project, axes)
    assert len(load_sweep(path)["trials"]) == 4
    results = run_sweep(path, parallel=2, cores=2)
    assert sorted(results) == [(0, 0), (1, 0), (2, 0), (3, 0)]
    assert remaining_trials(path) == []
    runs = list_runs(project.path)
    seen = set()
    for record in runs:
        training = record.settings["training"]
        values = record.meta["sweep"]["values"]
        assert training["optimiser"]["learning_rate"] == values["optimiser.learning_rate"]
        assert training["batch_size"] == values["batch_size"]
        assert record.status["state"] == "finished" and 0 < record.status["final"]["val_accuracy"] <= 1
        seen.add((values["optimiser.learning_rate"], values["batch_size"]))
    assert seen == {(0.001, 32), (0.001, 64), (0.003, 32), (0.003, 64)}
    random_path = create_sweep(project, axes, random_count=3, seed=1)
    picked = [tuple(t["values"].values()) for t in load_sweep(random_path)["trials"]]
    assert len(set(picked)) == 3 and set(picked) <= seen


def test_a_killed_sweep_resumes_its_remaining_trials(tmp_path):
    project = _project(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "engine.cli", "sweep", str(project.path), "--grid", "seed=1,2,3"]
    coordinator = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if any(r.status.get("state") == "finished" for r in list_runs(project.path)):
                break
            time.sleep(0.1)
        else:
            pytest.fail("the first trial never finished")
        coordinator.send_signal(signal.SIGKILL)  # as a studio killed mid-sweep: no clean-up at all
        coordinator.wait(10)
    finally:
        if coordinator.poll() is None:
            coordinator.kill()
        coordinator.stdout.close()
        coordinator.stderr.close()
    sweep = tmp_path / "tiny.sigma.runs" / "sweeps" / "sweep-0001.json"
    left = remaining_trials(sweep)
    assert 1 <= len(left) <= 2
    wait_for_orphaned_trials()  # an orphaned trial notices its coordinator is gone and ends
    results = run_sweep(sweep, cores=2)
    assert sorted(i for i, _ in results) == [t["index"] for t in left]
    assert remaining_trials(sweep) == []
    finished = {
        i: [r for r in runs if r.status["state"] == "finished"] for i, runs in trial_runs(sweep).items()
    }
    assert sorted(finished) == [0, 1, 2] and all(len(runs) == 1 for runs in finished.values())
    states = {r.status["state"] for runs in trial_runs(sweep).values() for r in runs}
    assert states <= {"finished", "lost"}


def test_cli_errors_are_one_line(tmp_path, capsys):
    from engine.cli import main

    project = _project(tmp_path)
    assert main(["sweep", str(project.path), "--grid", "network.conv*.filters=8,16"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["sigma sweep: error: network.conv*.filters: no layer matches 'conv*'"]
    assert main(["sweep", str(project.path)]) == 2
    assert "give at least one --grid" in capsys.readouterr().err
    assert main(["sweep", str(project.path), "--resume"]) == 3
    assert "no sweep to resume" in capsys.readouterr().err
    assert main(["runs", str(tmp_path / "missing.sigma")]) == 3
    assert "missing.sigma: file not found" in capsys.readouterr().err
    assert main(["runs", str(project.path)]) == 0
    assert "no runs recorded yet" in capsys.readouterr().out
    assert list_runs(project.path) == [] and not (tmp_path / "tiny.sigma.runs" / "sweeps").exists()
