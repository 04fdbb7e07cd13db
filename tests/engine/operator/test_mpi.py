"""Two MPI ranks on loopback give the same training as one process on the whole batch."""

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.operator.mpi import mpi_status
from engine.testing.mpi import local_mpi_environment

SCRIPT = Path(__file__).with_name("mpi_script.py")


def load_script():
    spec = importlib.util.spec_from_file_location("sigma_mpi_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_ranks_equal_one_process(tmp_path):
    ok, why = mpi_status()
    if not ok:
        pytest.skip(why)
    mpirun = shutil.which("mpirun") or shutil.which("mpiexec")
    if mpirun is None:
        pytest.skip("mpirun is not installed (Debian: apt-get install openmpi-bin libopenmpi-dev)")
    out = tmp_path / "ranks.npz"
    command = [mpirun, "-n", "2", "--oversubscribe", sys.executable, str(SCRIPT), str(out), "mpi"]
    done = subprocess.run(command, env=local_mpi_environment(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    reports = [json.loads((tmp_path / f"ranks.rank{k}.json").read_text()) for k in (0, 1)]
    assert [r["size"] for r in reports] == [2, 2]
    assert [r["writer"] for r in reports] == [True, False]
    assert reports[0]["events"] > 0 and reports[1]["events"] == 0  # rank 1's event bus is quiet
    assert [r["state"] for r in reports] == ["finished", "finished"]

    reference, _ = load_script().train("single")
    got = np.load(out)
    for key, p in reference.network.parameters().items():
        np.testing.assert_allclose(got[f"p:{key}"], p.data, rtol=1e-4, atol=1e-5, err_msg=key)
    for key, b in reference.network.buffers().items():
        np.testing.assert_allclose(got[f"b:{key}"], b, rtol=1e-4, atol=1e-5, err_msg=key)
    np.testing.assert_allclose(got["loss"], [r["loss"] for r in reference.history], rtol=1e-5)
    np.testing.assert_array_equal(got["accuracy"], [r["accuracy"] for r in reference.history])


def test_mpi_operator_needs_one_worker_per_rank():
    from engine.operator import make_operator

    with pytest.raises(ValueError, match="each MPI rank runs one worker"):
        make_operator(object(), 2, "mpi")


def test_sigma_train_with_two_ranks_prints_and_writes_once(tmp_path):
    ok, why = mpi_status()
    if not ok:
        pytest.skip(why)
    mpirun = shutil.which("mpirun") or shutil.which("mpiexec")
    if mpirun is None:
        pytest.skip("mpirun is not installed")
    from engine.templates import digits_project, mlp

    project = digits_project()
    project.network = mlp(inputs=64, hidden=(16,), classes=10)
    project.training.update({"epochs": 1, "batch_size": 128})
    path = project.save(tmp_path / "tiny.sigma")
    folder = tmp_path / "checkpoints"
    command = [mpirun, "-n", "2", "--oversubscribe", sys.executable, "-m", "engine.cli", "train", str(path)]
    command += ["--operator", "mpi", "--checkpoint-dir", str(folder)]
    done = subprocess.run(command, env=local_mpi_environment(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("done: 1 epoch(s)") == 1  # rank 1 is quiet
    assert (folder / "last.h5").is_file()
