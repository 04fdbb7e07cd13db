"""Windows behaviour the engine must respect, checked here under emulation where Linux is more lenient.

- ``os.replace`` onto (or from) a file that is open fails on Windows (sharing violation), where POSIX
  allows it: checkpoint saves never replace a file that an HDF5 handle of this process holds open.
- CSVs saved by Windows tools: CRLF line ends, UTF-16 with a byte-order mark (Excel's "Unicode text").
- Child processes: Windows has only the "spawn" start method, so any ``multiprocessing`` use names it.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

import engine.data
from engine import checkpoint
from engine import layers as L
from engine.data import DataImportError
from engine.hooks import CheckpointSaver, TimeStep
from engine.network import Network
from engine.training import Trainer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def windows_replace(monkeypatch):
    """``os.replace`` with Windows' rule: neither end may be open (here: by an h5py handle)."""
    real = os.replace
    calls = []

    def replace(src, dst, *args, **kwargs):
        open_files = {
            os.path.realpath(i.name.decode()) for i in h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE)
        }
        for end in (src, dst):
            if os.path.exists(end) and os.path.realpath(end) in open_files:
                raise PermissionError(13, "The process cannot access the file (it is open)", str(end))
        calls.append(str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    return calls


def test_the_emulation_refuses_to_replace_an_open_file(tmp_path, windows_replace):
    target, new = tmp_path / "a.h5", tmp_path / "b.h5"
    new.write_bytes(b"x")
    with h5py.File(target, "w"):
        with pytest.raises(PermissionError):
            os.replace(new, target)
    os.replace(new, target)  # closed: fine
    assert target.read_bytes() == b"x"


def test_checkpoints_are_replaced_only_when_closed(tmp_path, windows_replace):
    net = Network(L.Input((4,)) + L.Dense(3) + L.SoftmaxCrossEntropy())
    folder = tmp_path / "ckpt"
    trainer = Trainer(
        net,
        batch_size=4,
        seed=0,
        hooks=[
            CheckpointSaver(folder, TimeStep(1, "epoch"), keep_last=2),  # rotates files
            CheckpointSaver(folder, best_only=True, monitor="loss", mode="min"),  # overwrites best.h5
        ],
    )
    x, y = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32), np.arange(16) % 3
    trainer.fit((x, y), epochs=4)
    path = folder / "manual.h5"
    checkpoint.save(trainer, path)
    checkpoint.info(path)  # read it (and close it), then save over it again
    checkpoint.save(trainer, path)
    assert any(c.endswith("best.h5") for c in windows_replace) and str(path) in windows_replace
    assert checkpoint.info(path)["epoch"] == 4
    assert h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE) == []  # nothing left open either


def _rows() -> list[str]:
    return ["a,b,label"] + [f"{i / 10},{1 - i / 10},{'kätzchen' if i % 2 else 'hund'}" for i in range(6)]


@pytest.mark.parametrize(
    ("encoding", "newline"),
    [("utf-8", "\r\n"), ("utf-8-sig", "\r\n"), ("utf-16", "\r\n"), ("utf-16-le", None), ("cp1252", "\r\n")],
)
def test_windows_csvs_read_like_unix_ones(tmp_path, encoding, newline):
    reference = tmp_path / "unix.csv"
    reference.write_text("\n".join(_rows()) + "\n", encoding="utf-8")
    windows = tmp_path / "windows.csv"
    text = (newline or "\r\n").join(_rows()) + (newline or "\r\n")
    if encoding == "utf-16-le":  # with the BOM Windows tools write, in little-endian order
        windows.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    else:
        windows.write_bytes(text.encode(encoding))
    want, got = engine.data.load(reference), engine.data.load(windows)
    assert got.classes == want.classes == ["hund", "kätzchen"]
    np.testing.assert_array_equal(np.asarray(got["inputs"]), np.asarray(want["inputs"]))
    np.testing.assert_array_equal(np.asarray(got["targets"]), np.asarray(want["targets"]))


def test_a_broken_utf16_csv_is_named_not_misread(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfea\x00,\x00b")  # odd byte count: not UTF-16
    with pytest.raises(DataImportError, match="bad.csv.*UTF-16"):
        engine.data.load(bad)


def _multiprocessing_uses(tree: ast.AST):
    """(line, call) for every multiprocessing call that starts processes without naming a context."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            starts = name.endswith(("Process", "Pool", "ProcessPoolExecutor"))
            through_context = "get_context" in name or any(k.arg == "mp_context" for k in node.keywords)
            if starts and ("multiprocessing" in name or "ProcessPool" in name) and not through_context:
                yield node.lineno, name
            if name.endswith("set_start_method") and not (
                node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "spawn"
            ):
                yield node.lineno, name


def test_child_processes_use_spawn_everywhere():
    """Any process the engine or studio starts through multiprocessing uses a "spawn" context, the only
    start method Windows has (fork-only code works on Linux and fails there)."""
    offenders = []
    for package in ("engine", "studio"):
        for path in (ROOT / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            if "multiprocessing" not in source and "ProcessPool" not in source:
                continue
            for line, call in _multiprocessing_uses(ast.parse(source)):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {call}")
            contexts = [seg for seg in source.split("get_context(")[1:]]
            for seg in contexts:
                if not seg.lstrip().startswith(('"spawn"', "'spawn'")):
                    offenders.append(f"{path.relative_to(ROOT)}: get_context({seg[:20]}...")
    assert offenders == []
