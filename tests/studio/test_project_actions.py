"""Projects and checkpoints from the menus, through the real main window: new/open/save/recent, autosave
and crash recovery, a damaged file offering its autosave, and a checkpoint saved from the menu during
training that resumes in a new window to exactly the parameters of an uninterrupted run."""

from __future__ import annotations

import dataclasses
import json
import os
import threading

import numpy as np
import pytest

from engine.hooks import FunctionHook
from engine.network import Network
from engine.project import Project
from engine.training import Trainer
from studio.main_window import MainWindow

_SPEC = {
    "format": "sigma.network/1",
    "nodes": [
        {"type": "input", "name": "x", "shape": [6]},
        {"type": "dense", "name": "hidden", "inputs": ["x"], "units": 12, "activation": "tanh"},
        {"type": "dense", "name": "out", "inputs": ["hidden"], "units": 3},
        {"type": "softmax_cross_entropy", "name": "loss", "inputs": ["out"]},
    ],
    "inputs": ["x"],
    "outputs": ["loss"],
}


def _project(epochs=60) -> Project:
    project = Project(name="blobs", network=json.loads(json.dumps(_SPEC)))
    project.training.update(
        batch_size=16, epochs=epochs, seed=3, optimiser={"type": "adam", "learning_rate": 0.01}
    )
    return project


def _data():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(256, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    return x, y


@dataclasses.dataclass
class _Run:
    trainer: object
    epochs: int
    data: tuple

    def fit(self):
        return self.trainer.fit(self.data, epochs=self.epochs)


def build_run(project):
    """A run from the project's network spec and settings, as engine.run.build_run makes one, on this
    file's small data (no data files read, no run folder)."""
    from engine.hooks import MetricReporter, TimeStep

    t = project.training
    net = Network.from_spec(project.network, seed=t["seed"])
    trainer = Trainer(
        net,
        optimiser=t["optimiser"],
        batch_size=t["batch_size"],
        seed=t["seed"],
        hooks=[MetricReporter(TimeStep(1, "iteration"))],
    )
    return _Run(trainer, int(t["epochs"]), _data())


@pytest.fixture
def make_window(qtbot):
    def make(project=None, builder=build_run):
        w = MainWindow(project=project or _project(), build_run=builder, restore_layout=False)
        qtbot.addWidget(w)
        return w

    return make


def _params(trainer) -> dict:
    return {k: np.array(p.data) for k, p in trainer.network.parameters().items()}


def test_menus_and_shortcuts_are_installed(make_window):
    w = make_window()
    actions = w.project_actions
    file_texts = [a.text() for a in w.menu("File").actions()]
    assert (
        "&New project" in file_texts and "&Open project…" in file_texts and "Save project &as…" in file_texts
    )
    assert actions.save_action.shortcut().toString() == "Ctrl+S"
    assert actions.checkpoint_action in w.menu("Training").actions()
    assert actions.autosave_timer.isActive()


def test_save_open_recent_and_new(make_window, tmp_path, qtbot):
    w = make_window()
    actions = w.project_actions
    w.project.name = "renamed"
    assert actions.dirty
    actions.save_project_as(tmp_path / "one")
    saved = tmp_path / "one.sigma.json"
    assert saved.is_file() and not actions.dirty
    assert Project.load(saved).name == "renamed"
    assert actions.recent_projects()[0] == str(saved.resolve())
    actions.files.fill_recent()
    assert "one.sigma.json" in actions.recent_menu.actions()[0].text()
    w.project.name = "changed again"
    actions.new_project()  # unsaved changes: asks first, without blocking
    assert actions.question is not None and w.project.name == "changed again"
    actions.answer("Discard changes")
    assert w.project.name == "Untitled" and actions.question is None
    actions.open_project(saved)
    assert w.project.name == "renamed" and w.project.path == saved
    assert w.network_panel.scene.node("hidden").output_shape == [12]


def test_autosave_and_recovery_after_a_crash(make_window, qtbot):
    w = make_window()
    w.project.name = "unsaved work"
    assert w.project_actions.autosave()
    auto = w.project_actions.autosave_path
    assert auto.is_file()
    # A crash leaves the file of a process that no longer runs.
    crashed = auto.with_name("autosave-999999999-dead.json")
    os.replace(auto, crashed)
    w2 = make_window()
    actions = w2.project_actions
    assert actions.question is not None and "did not close properly" in actions.question.text()
    actions.answer("Recover")
    assert w2.project.name == "unsaved work" and actions.dirty
    assert not crashed.exists()
    w2.close()  # closed without being asked (tests turn the question off): the unsaved work is kept
    assert json.loads(actions.autosave_path.read_text())["project"]["name"] == "unsaved work"


def test_damaged_project_file_offers_the_last_autosave(make_window, tmp_path):
    w = make_window()
    actions = w.project_actions
    path = tmp_path / "work.sigma.json"
    w.project.name = "work"
    assert actions.autosave()
    actions.save_project_as(path)
    assert not actions.autosave_path.exists()  # saved: nothing left to recover
    w.project.name = "edited after saving"
    assert actions.autosave()
    path.write_text('{"format": "sigma.project/1", "name": ')  # torn write
    assert actions.autosave_path.is_file()
    actions.open_project(path)
    assert "Save the changes" in actions.question.text()
    actions.answer("Discard changes")
    assert actions.messages[-1][0] == "error" and "not valid JSON" in actions.messages[-1][1]
    assert "work.sigma.json" in w.banner.text()
    assert (
        actions.question is not None and "Open the last autosave of this project" in actions.question.text()
    )
    actions.answer("Open autosave")
    assert w.project.name == "edited after saving"


def test_unreadable_or_incompatible_checkpoint_is_refused(make_window, qtbot, tmp_path):
    w = make_window()
    actions = w.project_actions
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    with qtbot.waitSignal(actions.sigCheckpointRead, timeout=60000) as read:
        assert actions.restore_checkpoint(bad)
    assert read.args == [os.fspath(bad), False]
    assert "Cannot read the checkpoint" in actions.messages[-1][1]
    from engine import checkpoint

    run = build_run(_project())
    path = checkpoint.save(run.trainer, tmp_path / "c.h5")
    w.project.network["nodes"][1]["units"] = 10
    with qtbot.waitSignal(actions.sigCheckpointRead, timeout=60000) as read:
        assert actions.restore_checkpoint(path)
    assert read.args == [os.fspath(path), False]
    text = actions.messages[-1][1]
    assert "does not fit" in text and "'hidden' units: 12 in the checkpoint, 10 in the project" in text
    assert actions.question is None and not w.bridge.busy


def _csv_project(folder) -> Project:
    """A project on a real CSV file, built by the engine's own ``build_run`` (validation, hooks and all)."""
    x, y = _data()
    rows = ["a,b,c,d,e,f,label"] + [",".join(f"{v:.5f}" for v in row) + f",c{t}" for row, t in zip(x, y)]
    (folder / "blobs.csv").write_text("\n".join(rows) + "\n")
    project = _project(epochs=12)
    project.dataset = {"source": str(folder / "blobs.csv"), "validation_split": 0.25}
    project.save(folder / "blobs.sigma.json")
    return project


@pytest.mark.parametrize("engine_run", [False, True], ids=["test_builder", "engine_run"])
def test_checkpoint_from_the_menu_resumes_exactly_in_a_new_window(make_window, qtbot, tmp_path, engine_run):
    if engine_run:
        from engine.run import build_run as builder

        make_project = lambda: _csv_project(tmp_path)  # noqa: E731
    else:
        builder, make_project = build_run, _project
    reference = builder(make_project())
    reference.fit()
    expected = _params(reference.trainer)
    total = reference.trainer.iteration

    # A short run can end before the GUI even hears "running". The window's runs wait (on the engine
    # thread, at the end of their first iteration) until the GUI has asked for the checkpoint, so the
    # save is always taken mid-run.
    asked_gate = threading.Event()

    def gated_builder(project):
        run = builder(project)
        run.trainer.add_hook(FunctionHook(lambda trainer: asked_gate.wait(30), name="wait_for_gui"))
        return run

    w = make_window(make_project(), gated_builder)
    actions = w.project_actions
    path = tmp_path / "mid.h5"
    asked = []

    def save_once(state):  # the run goes back to "running" after the save: ask only the first time
        if state == "running" and not asked:
            asked.append(actions.save_checkpoint(path))
            asked_gate.set()

    w.bridge.sigStateChanged.connect(save_once)
    # Recorded from the start: a short run may end while the test still waits for the save signal.
    ended = []
    w.bridge.sigRunFinished.connect(ended.append)
    with qtbot.waitSignal(actions.sigCheckpointSaved, timeout=30000):
        w.bridge.start(w.project)
    assert w.project.last_checkpoint == os.fspath(path)
    assert "Checkpoint saved" in actions.messages[-1][1]
    w.bridge.stop()  # the run resumed after the save; end it here (a no-op if it has ended already)
    qtbot.waitUntil(lambda: bool(ended), timeout=30000)

    from engine import checkpoint

    saved_at = checkpoint.info(path)["iteration"]
    assert 0 < saved_at < total, "the checkpoint must be taken mid-run for this test to mean anything"
    w2 = make_window(make_project(), gated_builder)
    actions2 = w2.project_actions
    with qtbot.waitSignal(actions2.sigCheckpointRead, timeout=60000):
        assert actions2.restore_checkpoint(path)
    assert f"iteration {saved_at}" in actions2.question.text()
    with qtbot.waitSignal(w2.bridge.sigRunFinished, timeout=60000) as finished:
        actions2.answer("Resume training")
    assert finished.args == ["finished"]
    trainer = w2.bridge.trainer
    assert trainer.iteration == total
    got = _params(trainer)
    for k in expected:
        np.testing.assert_array_equal(got[k], expected[k], err_msg=k)


def _damaged_checkpoints(folder):
    """A checkpoint that hangs HDF5 (the issue's flipped bit), a truncated one, one with NaN weights
    (and a valid digest), and a text file: each must end in one clear message."""
    import h5py

    from engine import checkpoint
    from tests.engine.checkpoint_files import as_version_1, hang_in_global_heap
    from tests.engine.test_checkpoint_fuzz import _resign
    from tests.engine.training.nets import blobs, small_trainer

    small = small_trainer(batch_size=24)
    small.fit(blobs(n=64), epochs=1)
    hang = checkpoint.save(small, folder / "hang.h5")
    as_version_1(hang)
    hang_in_global_heap(hang)
    good = checkpoint.save(build_run(_project()).trainer, folder / "good.h5")
    data = open(good, "rb").read()
    (folder / "truncated.h5").write_bytes(data[: len(data) // 2])
    nan = folder / "nan.h5"
    nan.write_bytes(data)
    with h5py.File(nan, "r+") as f:
        f["parameters/hidden.weights"][0, 0] = np.nan
        _resign(f)
    (folder / "notes.h5").write_text("not a checkpoint")
    return {
        "hang.h5": "did not finish within",
        "truncated.h5": "truncated|damaged|not an HDF5",
        "nan.h5": "non-finite",
        "notes.h5": "not an HDF5 file",
    }


def test_restoring_a_damaged_checkpoint_shows_one_message_and_never_stalls(
    make_window, qtbot, tmp_path, monkeypatch
):
    import re

    from PySide6.QtCore import QElapsedTimer, QTimer

    from engine import checkpoint_guard

    monkeypatch.setattr(checkpoint_guard, "TIME_LIMIT_S", 4.0)  # the hanging file gives up sooner
    cases = _damaged_checkpoints(tmp_path)
    w = make_window()
    actions = w.project_actions
    before = actions.json_of(w.project)
    clock, stalls = QElapsedTimer(), []
    ticker = QTimer()
    ticker.setInterval(5)
    ticker.timeout.connect(lambda: stalls.append(clock.restart()))
    for name, expected in cases.items():
        path = os.fspath(tmp_path / name)
        count = len(actions.messages)
        clock.start()
        ticker.start()
        with qtbot.waitSignal(actions.sigCheckpointRead, timeout=90000) as read:
            assert actions.restore_checkpoint(path)  # returns at once: the read is on the pool
        ticker.stop()
        assert read.args == [path, False]
        new = actions.messages[count:]
        assert len(new) == 1 and new[0][0] == "error" and re.search(expected, new[0][1]), new
        assert actions.question is None and not w.bridge.busy
        assert actions.json_of(w.project) == before  # the project is unchanged
    assert max(stalls[1:]) < 200, f"the event loop stalled for {max(stalls[1:])} ms"


def test_restoring_another_projects_checkpoint_asks_about_unsaved_changes_and_opens_that_project(
    make_window, qtbot, tmp_path
):
    """Issue 15: a checkpoint of another project (in its ``.runs`` folder) opens that project in place of
    the open one; when the open one has unsaved changes, Save / Discard / Cancel comes first and says so."""
    from engine import checkpoint
    from engine.run import build_run as engine_build_run

    (tmp_path / "other").mkdir()
    other = _csv_project(tmp_path / "other")
    other.training["epochs"] = 2
    other.save(other.path)
    run = engine_build_run(other)  # a recorded run: other.sigma.json.runs/run-0001/
    run.trainer.fit(run.train_data, epochs=1)
    path = checkpoint.save(run.trainer, run.folder / "checkpoints" / "one.h5")
    assert path.endswith(os.path.join("other", "blobs.sigma.json.runs", "run-0001", "checkpoints", "one.h5"))

    w = make_window(_project(), engine_build_run)
    actions = w.project_actions
    w.project.name = "edited here"
    assert actions.dirty
    with qtbot.waitSignal(actions.sigCheckpointRead, timeout=60000) as read:
        assert actions.restore_checkpoint(path)
    assert read.args == [path, True]
    text = actions.question.text()
    assert "belongs to the project blobs.sigma.json" in text and "not to the open project" in text
    assert "opens blobs.sigma.json in its place and resumes training" in text
    assert "unsaved changes" in text
    assert {b.text() for b in actions.question.buttons()} == {
        "Save, then restore",
        "Discard changes, then restore",
        "Cancel",
    }
    actions.answer("Cancel")
    assert w.project.name == "edited here" and w.project.path is None and actions.dirty
    assert not w.bridge.busy

    with qtbot.waitSignal(actions.sigCheckpointRead, timeout=60000):
        assert actions.restore_checkpoint(path)
    with qtbot.waitSignal(w.bridge.sigRunFinished, timeout=60000) as finished:
        actions.answer("Discard changes, then restore")
    assert finished.args == ["finished"]
    assert w.project.path == other.path and w.project.last_checkpoint == path
    assert w.bridge.trainer.epoch == 2  # resumed at epoch 2 of the other project
    assert not actions.autosave_path.exists()  # the discarded changes left nothing to recover

    # Not edited: one question, no Save / Discard.
    w2 = make_window(_project(), engine_build_run)
    with qtbot.waitSignal(w2.project_actions.sigCheckpointRead, timeout=60000):
        assert w2.project_actions.restore_checkpoint(path)
    labels = {b.text() for b in w2.project_actions.question.buttons()}
    assert labels == {"Open blobs.sigma.json and resume", "Cancel"}
    w2.project_actions.answer("Cancel")
    assert w2.project.name == "blobs" and w2.project.path is None


def test_save_checkpoint_now_names_the_file_after_the_project_and_iteration_in_the_runs_folder(
    make_window, qtbot, tmp_path
):
    from engine import checkpoint
    from engine.run import build_run as engine_build_run

    project = _csv_project(tmp_path)
    project.training["epochs"] = 1
    project.training["checkpoint"] = {**project.training.checkpoint, "min_seconds": 0}  # epoch 1's save
    w = make_window(project, engine_build_run)
    actions = w.project_actions
    with qtbot.waitSignal(w.bridge.sigRunFinished, timeout=60000):
        w.bridge.start(w.project)
    folder = w.bridge.run.folder / "checkpoints"
    assert actions.checkpoints.checkpoint_folder() == folder  # where Restore checkpoint… opens, too
    iteration = w.bridge.trainer.iteration
    with qtbot.waitSignal(actions.sigCheckpointSaved, timeout=30000) as saved:
        assert actions.save_checkpoint()
    assert saved.args == [os.fspath(folder / f"blobs-it{iteration:06d}.h5")]
    assert checkpoint.info(saved.args[0])["iteration"] == iteration
    assert f"blobs-it{iteration:06d}.h5 (epoch 1, iteration {iteration})" in actions.messages[-1][1]
    # the run's own saver names its checkpoints the same way (sigma train's too: engine.run.build_run)
    # (and the run's end wrote its last state as last.h5)
    assert sorted(p.name for p in folder.glob("*.h5")) == [f"blobs-it{iteration:06d}.h5", "last.h5"]
