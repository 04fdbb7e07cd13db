"""The ``training.kernels`` setting: saved with the project and checked; applied by ``build_run`` for
its run (the run's own choice outranks the process's, which outranks the project's) and recorded in
run.json; compiled kernels train to the same bits as numpy's; without numba a run trains with numpy's
kernels and says so once (in the run's log, and one line on ``sigma train``'s stderr)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from engine import kernels, templates
from engine.hooks import FunctionHook, TimeStep
from engine.ops import compiled
from engine.project import Project, ProjectError
from engine.run import build_run
from tests.engine.test_cli import ROOT, sigma

#: Makes numba unimportable in a child process, as on a machine without the ``fast`` extra.
NO_NUMBA = """
import sys

class NoNumba:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("numba", "llvmlite"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoNumba())
"""


@pytest.fixture
def no_process_choice(monkeypatch):
    """As if neither SIGMA_KERNELS nor set_kernels had chosen (the process's state comes back after)."""
    monkeypatch.setattr(compiled, "_chosen", None)
    monkeypatch.setattr(compiled, "_wanted", False)


def _cnn(choice: str = "numpy") -> Project:
    """The digits CNN (two 2x2 max poolings: the compiled kernels' case) for one epoch."""
    project = templates.digits_cnn_project()
    project.training["epochs"] = 1
    project.training.kernels = choice
    return project


def _child(code: str, cwd, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    env.pop("SIGMA_KERNELS", None)
    done = subprocess.run(
        [sys.executable, "-c", NO_NUMBA + code, *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_the_setting_round_trips_through_a_saved_project_and_old_files_load(tmp_path):
    project = _cnn("compiled")
    path = project.save(tmp_path / "cnn.sigma")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["training"]["kernels"] == "compiled"
    assert Project.load(path).training.kernels == "compiled"
    del doc["training"]["kernels"]  # a file from before the setting
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert Project.load(path).training.kernels == "numpy"


def test_a_bad_value_is_a_project_error_naming_the_field_and_the_choices(tmp_path):
    project = _cnn()
    with pytest.raises(
        ProjectError, match=r"training\.kernels: expected one of numpy, compiled, got 'numba'"
    ):
        project.training.kernels = "numba"
    assert project.training.kernels == "numpy"
    path = project.save(tmp_path / "cnn.sigma")
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["training"]["kernels"] = "fast"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ProjectError, match=r"cnn\.sigma: training\.kernels: expected one of") as info:
        Project.load(path)
    assert info.value.field == "training.kernels"


def test_the_runs_choice_outranks_the_process_and_the_process_the_project(no_process_choice):
    assert kernels.resolve("numpy") == kernels.KernelChoice("numpy", "numpy", "project")
    assert kernels.resolve("compiled", "numpy") == kernels.KernelChoice("numpy", "numpy", "run")
    compiled.set_kernels("numpy")  # what SIGMA_KERNELS=numpy says
    assert kernels.process_choice() == "numpy"
    assert kernels.resolve("compiled") == kernels.KernelChoice("numpy", "numpy", "process")
    with pytest.raises(ValueError, match="Expected one of numpy, compiled. Received: 'fast'"):
        kernels.resolve("numpy", "fast")


def test_the_environment_variable_is_read_and_a_typo_is_not_taken_for_numpy(tmp_path):
    code = "from engine.ops import compiled; print(compiled.choice())"
    for value, expected in (
        ("numba", "compiled"),
        ("compiled", "compiled"),
        ("numpy", "numpy"),
        ("", "None"),
    ):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SIGMA_KERNELS": value}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.stdout.strip() == expected, (value, done.stderr)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SIGMA_KERNELS": "numab"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "None" and "SIGMA_KERNELS='numab' is not one of" in done.stderr


def _train(choice: str):
    """(run, whether the compiled kernels were on at each iteration, the parameters after 6 steps)."""
    on = []
    hook = FunctionHook(lambda trainer: on.append(compiled.enabled()), TimeStep(1, "iteration"))
    run = build_run(_cnn(choice), extra_hooks=[hook], record=False)
    run.fit(max_iterations=6)
    return run, on, {name: p.data.copy() for name, p in run.trainer.parameters.items()}


def test_a_run_with_compiled_kernels_trains_to_the_same_bits_as_numpys(no_process_choice):
    pytest.importorskip("numba")
    numpy_run, numpy_on, numpy_params = _train("numpy")
    run, on, params = _train("compiled")
    assert numpy_run.kernels == kernels.KernelChoice("numpy", "numpy", "project") and not any(numpy_on)
    assert run.kernels == kernels.KernelChoice("compiled", "compiled", "project")
    assert len(on) == 6 and all(on), "the compiled kernels are on while the run trains"
    assert not compiled.enabled(), "the process's kernels (numpy's) are back when the run ends"
    from engine.ops import compiled_kernels

    assert compiled_kernels.pair_pool_nchw.signatures, "the pooling kernel ran"
    for name, value in numpy_params.items():
        assert params[name].dtype == value.dtype == np.float32
        np.testing.assert_array_equal(params[name].view(np.uint32), value.view(np.uint32), err_msg=name)


def test_sigma_train_kernels_overrides_the_project_and_run_json_records_it(tmp_path):
    pytest.importorskip("numba")
    path = _cnn("numpy").save(tmp_path / "cnn.sigma")
    done = sigma("train", path, "--kernels", "compiled", "--no-checkpoints")
    assert done.returncode == 0, done.stderr
    assert "backend cpu, compiled kernels" in done.stdout
    meta = json.loads((tmp_path / "cnn.sigma.runs" / "run-0001" / "run.json").read_text(encoding="utf-8"))
    assert meta["kernels"] == "compiled" and "kernels_note" not in meta
    assert meta["settings"]["training"]["kernels"] == "numpy"  # the project is unchanged
    done = sigma("train", path, "--kernels", "fast")
    assert done.returncode == 2 and "invalid choice: 'fast'" in done.stderr


def test_without_numba_the_run_trains_with_numpys_kernels_and_says_so_once(tmp_path):
    _cnn("compiled").save(tmp_path / "cnn.sigma")
    code = """
import json, warnings
from engine.events import LogMessage
from engine.project import Project
from engine.run import build_run

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    run = build_run(Project.load("cnn.sigma"))
    said = []
    run.trainer.events.subscribe(lambda e: said.append([e.source, e.level, e.message]), LogMessage)
    run.fit(max_iterations=2)
    run.fit(max_iterations=4)
print(json.dumps({"said": said, "warned": [str(w.message) for w in caught], "used": run.kernels.used,
                  "iteration": run.trainer.iteration}))
"""
    out = json.loads(_child(code, tmp_path).stdout)
    assert out["used"] == "numpy" and out["iteration"] == 4 and out["warned"] == []
    notes = [m for m in out["said"] if m[0] == kernels.SOURCE]
    assert len(notes) == 1, out["said"]
    source, level, message = notes[0]
    assert level == "warning"
    assert "compiled kernels were asked for by the project's training.kernels" in message
    assert "numba cannot be imported" in message and 'pip install "sigma-studio[fast]"' in message
    meta = json.loads((tmp_path / "cnn.sigma.runs" / "run-0001" / "run.json").read_text(encoding="utf-8"))
    assert meta["kernels"] == "numpy" and meta["kernels_note"] == message


def test_sigma_train_without_numba_says_it_in_one_line_on_stderr(tmp_path):
    _cnn("numpy").save(tmp_path / "cnn.sigma")
    code = "from engine.cli import main; sys.exit(main(sys.argv[1:]))"
    done = _child(
        code, tmp_path, "train", "cnn.sigma", "--kernels", "compiled", "--quiet", "--no-checkpoints"
    )
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        "warning: compiled kernels were asked for by this run's options (--kernels), but numba cannot"
    )
    assert lines[0].endswith('to get them: pip install "sigma-studio[fast]"')
    help_text = _child(code, tmp_path, "train", "--help").stdout
    assert "numba cannot be imported" in " ".join(help_text.split())


def test_other_kernels_continue_a_run_as_a_resume_even_from_a_run_recorded_before_the_setting(tmp_path):
    from engine.runs import parent_of

    project = _cnn()
    project.save(tmp_path / "cnn.sigma")
    checkpoint = build_run(project).folder / "checkpoints" / "last.h5"
    project.training.kernels = "compiled"  # the same bits: the same experiment, continued
    assert parent_of(project, checkpoint)["kind"] == "resume"
    run_json = checkpoint.parents[1] / "run.json"
    meta = json.loads(run_json.read_text(encoding="utf-8"))
    del meta["settings"]["training"]["kernels"]  # as a run recorded by an older version
    run_json.write_text(json.dumps(meta), encoding="utf-8")
    assert parent_of(project, checkpoint)["kind"] == "resume"
    project.training["batch_size"] = 16  # another experiment
    assert parent_of(project, checkpoint)["kind"] == "branch"


def test_the_run_table_shows_the_kernels_runs_trained_with_and_old_runs_as_numpy(tmp_path):
    from engine.runs import list_runs, run_table

    project = _cnn()
    project.training["batch_size"] = 256
    project.save(tmp_path / "cnn.sigma")
    for _ in range(2):
        build_run(project, kernels="numpy")
    old = tmp_path / "cnn.sigma.runs" / "run-0001" / "run.json"  # as recorded before the setting
    meta = json.loads(old.read_text(encoding="utf-8"))
    del meta["kernels"], meta["settings"]["training"]["kernels"]
    old.write_text(json.dumps(meta), encoding="utf-8")
    assert "kernels" not in run_table(list_runs(project.path)).setting_columns  # numpy both: no column
    if compiled.available():
        build_run(project, kernels="compiled")
        table = run_table(list_runs(project.path))
        assert table.setting_columns == ["kernels"]
        assert [table.text(i, "kernels") for i in range(3)] == ["numpy", "numpy", "compiled"]
