"""Issue 14 in the studio: importing or opening hostile files gives one clear message, the window keeps
responding (no event-loop stall over 200 ms) and the project is unchanged."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import h5py
import pytest
from PySide6.QtCore import QTimer
from test_dataset_panel import _drop

from engine.project import Project
from studio.main_window import MainWindow
from studio.panels.dataset import DatasetPanel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine" / "data"))
from hostile import npz_of_zeros, png_declaring, zip_deep

STALL_LIMIT = 0.2


class _StallMeter:
    """Ticks every 5 ms on the GUI thread and keeps the longest gap between ticks."""

    def __init__(self):
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.last = None
        self.longest = 0.0

    def _tick(self):
        now = time.perf_counter()
        if self.last is not None:
            self.longest = max(self.longest, now - self.last)
        self.last = now

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.stop()
        return False


def _ghost_h5(path: Path) -> Path:
    with h5py.File(path, "w") as f:
        f.create_dataset("x", shape=(10**11, 4), dtype="f4", chunks=(1024, 4))
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


HOSTILE = {
    "png_bomb": lambda d: png_declaring(d / "bomb.png", 20000, 20000, rows_written=1),
    "hdf5_never_written": lambda d: _ghost_h5(d / "ghost.h5"),
    "npz_of_zeros": lambda d: npz_of_zeros(d / "zeros.npz", (9 << 20,)),
    "deep_zip": lambda d: zip_deep(d / "deep.zip", 1000),
    "fifo": lambda d: _fifo(d / "pipe.csv"),
    "damaged_npy": lambda d: _write(d / "bad.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4\n" + bytes(40)),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture
def panel(panel_host):
    panel = DatasetPanel(panel_host)
    panel_host.setCentralWidget(panel)
    yield panel
    panel.shutdown()


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_importing_a_hostile_file_gives_one_message(panel, qtbot, tmp_path, kind):
    target = HOSTILE[kind](tmp_path)
    panel._window.project.dataset = {"source": "sample:digits"}
    before = json.dumps(panel._window.project.to_dict())
    failures = []
    panel.sigImportFailed.connect(failures.append)
    with _StallMeter() as meter, qtbot.waitSignal(panel.sigImportFailed, timeout=20000):
        _drop(panel, [target])
    qtbot.wait(50)
    assert len(failures) == 1 and "Could not import" in failures[0] and target.name in failures[0]
    assert meter.longest < STALL_LIMIT, f"event loop stalled {meter.longest * 1000:.0f} ms"
    assert panel.dataset is None and json.dumps(panel._window.project.to_dict()) == before


def test_the_csv_reproducer_imports(panel, qtbot, tmp_path):
    path = tmp_path / "pets.csv"
    path.write_text("a,label\ncat,0\ndog,1\n5,0\n")
    with qtbot.waitSignal(panel.sigImported, timeout=20000):
        _drop(panel, [path])
    assert panel.dataset is not None and len(panel.dataset) == 3


PROJECTS = {
    "deep_nesting": lambda d: _write(d / "deep.sigma.json", b"[" * 100_000 + b"]" * 100_000),
    "huge_integer": lambda d: _write(
        d / "digits.sigma.json", b'{"format": "sigma.project/1", "training": {"seed": ' + b"9" * 5000 + b"}}"
    ),
    "unknown_augment": lambda d: _write(
        d / "aug.sigma.json",
        json.dumps({"format": "sigma.project/1", "dataset": {"augment": [{"type": "os.system"}]}}).encode(),
    ),
    "fifo": lambda d: _fifo(d / "pipe.sigma.json"),
}


@pytest.mark.parametrize("kind", sorted(PROJECTS))
def test_opening_a_hostile_project_gives_one_message(qtbot, tmp_path, kind):
    window = MainWindow(Project(name="mine"))
    qtbot.addWidget(window)
    actions = window.project_actions
    before = json.dumps(window.project.to_dict())
    target = PROJECTS[kind](tmp_path)
    count = len(actions.messages)
    t0 = time.perf_counter()
    actions.files.open_now(target)
    elapsed = time.perf_counter() - t0
    errors = [m for m in actions.messages[count:] if m[0] == "error"]
    assert len(errors) == 1 and target.name in errors[0][1], actions.messages[count:]
    assert elapsed < STALL_LIMIT, f"opening blocked the GUI thread for {elapsed * 1000:.0f} ms"
    assert window.project.name == "mine" and json.dumps(window.project.to_dict()) == before
