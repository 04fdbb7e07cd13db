"""A missing optional dependency (extras cuda, mpi, export): one line naming the pip install, exit code 5.

The packages are hidden the way a machine without them behaves: ``sys.modules[name] = None`` makes
``import name`` raise ModuleNotFoundError for this test only.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from engine import checkpoint
from engine import layers as L
from engine.cli import main
from engine.cli.errors import EXIT_MISSING_DEPENDENCY, exit_code_for
from engine.network import Network
from engine.optional import MissingDependency, require
from engine.training import Trainer


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    net = Network(L.Input((4,), name="x") + L.Dense(3, name="out") + L.SoftmaxCrossEntropy(name="loss"))
    trainer = Trainer(net, batch_size=4, seed=0)
    trainer.fit((np.zeros((8, 4), np.float32), np.arange(8) % 3), epochs=1)
    path = tmp_path_factory.mktemp("optional") / "small.h5"
    checkpoint.save(trainer, path)
    return path


def test_require_names_the_feature_the_package_and_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MissingDependency) as info:
        require("onnx", feature="ONNX export", extra="export")
    message = str(info.value)
    assert "ONNX export needs the 'onnx' package" in message
    assert 'pip install "sigma-studio[export]"' in message
    assert isinstance(info.value, ImportError)  # callers that catch ImportError keep working
    assert exit_code_for(info.value) == EXIT_MISSING_DEPENDENCY == 5


def test_require_returns_the_module_when_installed():
    assert require("json", feature="anything", extra="export").dumps([1]) == "[1]"


def test_export_without_onnx_exits_5_in_one_line_and_writes_nothing(monkeypatch, capsys, small_checkpoint):
    monkeypatch.setitem(sys.modules, "onnx", None)
    out = small_checkpoint.parent / "small.onnx"
    code = main(["export", str(small_checkpoint), "--onnx", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 5, err
    assert err.count("\n") == 0 and err.startswith("sigma export: error: ONNX export needs the 'onnx'")
    assert "sigma-studio[export]" in err
    assert not out.exists()


def test_export_check_without_onnxruntime_exits_5_after_writing(monkeypatch, capsys, small_checkpoint):
    pytest.importorskip("onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    out = small_checkpoint.parent / "checked.onnx"
    code = main(["export", str(small_checkpoint), "--onnx", str(out), "--check"])
    err = capsys.readouterr().err.strip()
    assert code == 5, err
    assert "'onnxruntime' package" in err and f"{out} was written" in err
    assert out.exists()  # the export itself worked; only the check could not run


def test_cuda_backend_without_cupy_is_a_missing_dependency(monkeypatch):
    from engine import backend

    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setattr(backend, "_cupy", None)  # forget what an earlier probe found
    monkeypatch.setattr(backend, "_cupy_reason", None)
    monkeypatch.setattr(backend, "_cupy_missing", False)
    with pytest.raises(MissingDependency, match=r"cupy-cuda12x.*sigma-studio\[cuda\]") as info:
        backend.get_backend("cuda")
    assert isinstance(info.value, ValueError)  # any unusable backend is a ValueError, as before
    assert backend.get_backend("auto").name == "cpu"  # auto still falls back quietly


def test_mpi_operator_without_mpi4py_exits_5(monkeypatch, capsys, tmp_path):
    from engine.templates import digits_project, mlp

    project = digits_project()
    project.network = mlp(inputs=64, hidden=(8,), classes=10)
    project.training.update({"epochs": 1})
    path = project.save(tmp_path / "p.sigma")
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    code = main(["train", str(path), "--operator", "mpi", "--no-checkpoints"])
    err = capsys.readouterr().err.strip()
    assert code == 5, err
    assert "mpi4py" in err and "sigma-studio[mpi]" in err
