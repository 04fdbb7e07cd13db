"""Issue 14's project-file reproducers: every one ends in ``ProjectError`` naming the file and field,
before anything is built, and ``sigma`` says so in one line with exit code 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from engine import templates
from engine.project import Project, ProjectError
from engine.project_checks import KNOWN_AUGMENT, network_memory
from engine.run import build_run

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path, doc, name="p.sigma.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def _doc(**changes) -> dict:
    doc = templates.digits_project().to_dict()
    for dotted, value in changes.items():
        where = doc
        *parents, last = dotted.split("__")
        for key in parents:
            where = where[key]
        where[last] = value
    return doc


def _refused(path, match: str) -> ProjectError:
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ProjectError, match=match) as info:
            Project.load(path)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 5 and peak < 64 << 20
    assert str(path) in str(info.value)
    return info.value


def test_deep_nesting(tmp_path):
    _refused(_write(tmp_path, "[" * 100_000 + "]" * 100_000), "nested")
    _refused(_write(tmp_path, _nested(100)), "nested")


def _nested(depth: int) -> str:
    doc = _doc()
    doc["network"]["extra"] = json.loads("[" * depth + "]" * depth)
    return json.dumps(doc)


def test_huge_integer_and_non_finite_numbers(tmp_path):
    _refused(_write(tmp_path, json.dumps(_doc()).replace('"seed": 0', '"seed": ' + "9" * 5000)), "digits")
    _refused(_write(tmp_path, json.dumps(_doc()).replace('"seed": 0', '"seed": 1e999')), "too large")
    _refused(_write(tmp_path, json.dumps(_doc()).replace('"seed": 0', '"seed": NaN')), "NaN")


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"dataset__source": 5}, "dataset.source"),
        ({"dataset__source": ["a.csv", None]}, "dataset.source"),
        ({"dataset__validation_split": 1.0}, "dataset.validation_split"),
        ({"dataset__validation_split": -0.1}, "dataset.validation_split"),
        ({"dataset__validation_split": "0.2"}, "dataset.validation_split"),
        ({"training__workers": 1_000_000}, "training.workers"),
        ({"training__workers": 0}, "training.workers"),
        ({"training__batch_size": 2.5}, "training.batch_size"),
        ({"training__epochs": True}, "training.epochs"),
        ({"training__optimiser": {"type": "adam", "learning_rate": [1]}}, "training.optimiser.learning_rate"),
        ({"name": {"a": 1}}, "name"),
        ({"last_checkpoint": 3}, "last_checkpoint"),
    ],
)
def test_field_types_and_ranges(tmp_path, changes, field):
    err = _refused(_write(tmp_path, _doc(**changes)), field)
    assert err.field == field


def test_unknown_augment_and_normalise_list_the_known_ones(tmp_path):
    err = _refused(_write(tmp_path, _doc(dataset__augment=[{"type": "os.system"}])), "unknown augmentation")
    assert all(name in str(err) for name in KNOWN_AUGMENT) and err.field == "dataset.augment[0]"
    err = _refused(_write(tmp_path, _doc(dataset__normalise="zscore")), "unknown normalisation")
    assert "minmax" in str(err) and "standard" in str(err)
    ok = Project.load(
        _write(tmp_path, _doc(dataset__augment=["flip", {"type": "noise"}], dataset__normalise="minmax"))
    )
    assert ok.dataset["augment"] == ["flip", {"type": "noise"}]


def test_huge_dense_is_refused_before_allocating(tmp_path):
    project = templates.digits_project()
    for node in project.network["nodes"]:
        if node.get("type") == "dense":
            node["units"] = 10**7
            break
    need, params, _ = network_memory(project.network, 64)
    assert params > 10**8 and need > 16 * params - 1
    tracemalloc.start()
    try:
        with pytest.raises(ProjectError, match="needs about") as info:
            build_run(project)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.field == "network" and peak < 64 << 20


def test_workers_beyond_the_cores(tmp_path):
    project = templates.digits_project()
    project.training["workers"] = (os.cpu_count() or 1) + 1
    with pytest.raises(ProjectError, match="CPU cores") as info:
        build_run(project)
    assert info.value.field == "training.workers"


def test_devices_fifos_and_folders_are_not_read(tmp_path):
    _refused(Path("/dev/zero"), "device")
    _refused(tmp_path, "folder")
    fifo = tmp_path / "pipe.sigma.json"
    os.mkfifo(fifo)
    errors = []
    thread = threading.Thread(target=lambda: errors.append(_catch(fifo)), daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), "Project.load blocked on a FIFO"
    assert "FIFO" in str(errors[0])


def _catch(path):
    try:
        Project.load(path)
    except ProjectError as exc:
        return exc
    return None


def test_sigma_train_refuses_dev_zero_and_a_fifo(tmp_path):
    fifo = tmp_path / "pipe.sigma.json"
    os.mkfifo(fifo)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for source in ("/dev/zero", fifo):
        done = subprocess.run(
            [sys.executable, "-m", "engine.cli", "train", str(source)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 3, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and str(source) in lines[0] and "Traceback" not in done.stderr
