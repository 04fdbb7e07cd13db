"""``sigma train --health``: layer findings printed as warnings, on a real project, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def sigma(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _project(folder: Path, learning_rate: float) -> Path:
    from engine.templates import digits_project, mlp

    project = digits_project()
    project.network = mlp(inputs=64, hidden=(16,), classes=10)
    project.training.update(
        {"epochs": 1, "batch_size": 64, "optimiser": {"type": "sgd", "learning_rate": learning_rate}}
    )
    return project.save(folder / "tiny.sigma")


def test_health_prints_findings_as_warnings(tmp_path):
    project = _project(tmp_path, 1e-9)
    done = sigma("train", project, "--no-checkpoints", "--health", "--health-every", "5")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "health at iteration 5" in line]
    assert any("fc1: updates" in line and "barely learning" in line for line in warnings), done.stderr
    assert sum("fc1: updates" in line for line in done.stderr.splitlines()) == 1  # said once, not every time
    assert "health at iteration 23: " in done.stdout and "barely learning" in done.stdout

    quiet = sigma("train", project, "--no-checkpoints", "--health-every", "5", "--quiet")
    assert quiet.returncode == 0 and "warning: health at iteration 5: fc1: updates" in quiet.stderr


def test_healthy_project_says_no_findings_and_applies_its_edits(tmp_path):
    project = _project(tmp_path, 0.05)
    doc = json.loads(project.read_text())
    doc["dataset"]["edits"] = [
        {"record": 3, "action": "relabel", "label": "7"},
        {"record": 4, "action": "exclude"},
        {"record": 5, "action": "check"},
    ]
    project.write_text(json.dumps(doc))
    done = sigma("train", project, "--no-checkpoints", "--health")
    assert done.returncode == 0, done.stderr
    assert "1437 training samples, 359 validation" in done.stdout
    assert "sample edits: 1 relabelled, 1 excluded (1 marked to check later)" in done.stdout
    assert "health at iteration 23: no findings" in done.stdout
    assert "health at iteration" not in done.stderr
