"""The checkpoint policy of a project's run: the save floor (``training.checkpoint.min_seconds``), the
final checkpoint (``last.h5``) at the end, at a stop and after a pause, exact resumes from what it
leaves, and the engine-API saver's floor (held best states, its own state in the file)."""

import json
import os
import threading

import numpy as np
import pytest

from engine import checkpoint, templates
from engine.events import CheckpointSaved
from engine.hooks import CheckpointSaver, FunctionHook, TimeStep
from engine.optim import SGD
from engine.project import Project, ProjectError
from engine.run import build_run
from engine.templates import mlp
from tests.engine.training.nets import blobs, small_trainer

FOREVER = 3600.0  # a floor no test run reaches: every periodic save is skipped


def _project(folder, min_seconds=FOREVER, **training):
    project = templates.digits_project()
    project.network = mlp(inputs=64, hidden=(16,), classes=10)
    project.training.update({"epochs": 3, "batch_size": 128, **training})
    project.training["checkpoint"] = {
        **project.training.checkpoint,
        "every_epochs": 1,
        "min_seconds": min_seconds,
    }
    project.save(folder / "tiny.sigma")
    return project


def every(n):
    return TimeStep(n, "iteration")


def _saved(run) -> list:
    events = []
    run.trainer.events.subscribe(events.append, CheckpointSaved)
    return events


def _files(run) -> list[str]:
    return sorted(p.name for p in run.checkpoint_dir.glob("*.h5"))


def _parameters(trainer) -> dict:
    return {k: p.data.copy() for k, p in trainer.network.parameters().items()}


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def _resumed(project, path, epochs):
    project.training["epochs"] = epochs
    run = build_run(project, record=False, checkpoint_dir=path.parent / "resumed")
    checkpoint.restore(run.trainer, path, data=run.train_data)
    run.fit()
    return run


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The parameters after 4 uninterrupted epochs (what every resume below must reach)."""
    project = _project(tmp_path_factory.mktemp("straight"), epochs=4)
    run = build_run(project, record=False)
    run.fit()
    return _parameters(run.trainer), run.trainer.iteration


def test_a_floor_that_skips_every_epoch_still_leaves_the_last_state_at_the_finish(tmp_path, straight):
    project = _project(tmp_path)
    run = build_run(project)
    saved = _saved(run)
    run.fit()
    assert _files(run) == ["last.h5"]  # three due saves skipped, the end wrote the newest state once
    assert [(e.reason, e.iteration) for e in saved] == [("final", run.trainer.iteration)]
    assert checkpoint.info(run.checkpoint_dir / "last.h5")["epoch"] == 3
    resumed = _resumed(project, run.checkpoint_dir / "last.h5", epochs=4)
    _same(_parameters(resumed.trainer), straight[0])


def test_without_a_floor_every_due_epoch_has_its_file(tmp_path):
    project = _project(tmp_path, min_seconds=0)
    run = build_run(project, record=False, checkpoint_dir=tmp_path / "ck")
    run.fit()
    per_epoch = run.trainer.iteration // 3
    assert _files(run) == ["last.h5"] + [f"tiny-it{per_epoch * e:06d}.h5" for e in (1, 2, 3)]


def test_a_stop_mid_epoch_writes_the_newest_state_once_and_resumes_exactly(tmp_path, straight):
    project = _project(tmp_path)
    run = build_run(project)
    saved = _saved(run)
    stop_at = 17  # inside epoch 2 (12 iterations an epoch), after epoch 1's skipped save
    run.trainer.add_hook(FunctionHook(lambda t: t.iteration == stop_at and t.operator.stop("test"), every(1)))
    run.fit()
    assert run.trainer.operator.state == "stopped" and run.trainer.iteration == stop_at
    assert _files(run) == ["last.h5"] and [e.iteration for e in saved] == [stop_at]
    resumed = _resumed(project, run.checkpoint_dir / "last.h5", epochs=4)
    _same(_parameters(resumed.trainer), straight[0])


def test_a_pause_writes_the_skipped_save_and_the_stop_after_it_the_final_one(tmp_path):
    project = _project(tmp_path)
    run = build_run(project)
    saved = _saved(run)
    trainer = run.trainer
    pause_at = 15  # epoch 1's save was skipped: pending when the run pauses
    trainer.add_hook(FunctionHook(lambda t: t.iteration == pause_at and t.operator.pause(), every(1)))
    written = threading.Event()
    trainer.events.subscribe(lambda e: written.set(), CheckpointSaved)
    worker = threading.Thread(target=run.fit)
    worker.start()
    try:
        assert written.wait(60) and trainer.operator.wait("paused", timeout=60)
        assert _files(run) == [f"tiny-it{pause_at:06d}.h5"]
        saver = next(h for h in trainer.hooks if isinstance(h, CheckpointSaver))
        assert saver.pending == ""
    finally:
        trainer.operator.stop("test")
        worker.join(60)
    assert _files(run) == ["last.h5", f"tiny-it{pause_at:06d}.h5"]
    assert [(e.reason, e.iteration) for e in saved] == [("periodic", pause_at), ("final", pause_at)]


def test_a_failed_run_writes_no_final_checkpoint(tmp_path):
    project = _project(tmp_path)
    run = build_run(project, record=False, checkpoint_dir=tmp_path / "ck")

    def fail(t):
        if t.iteration == 20:
            raise RuntimeError("boom")

    run.trainer.add_hook(FunctionHook(fail, every(1)))
    with pytest.raises(RuntimeError, match="boom"):
        run.fit()
    assert not (tmp_path / "ck").exists() or _files(run) == []


def test_sigma_train_writes_last_h5_at_the_end_and_nothing_with_no_checkpoints(tmp_path, capsys):
    from engine.cli import main

    project = _project(tmp_path, epochs=1)
    assert main(["train", str(project.path), "--quiet", "--no-checkpoints"]) == 0
    assert list(tmp_path.rglob("*.h5")) == []
    project.training["checkpoint"] = {**project.training.checkpoint, "every_epochs": 0}
    project.save()
    assert main(["train", str(project.path), "--checkpoint-min-seconds", "0"]) == 0
    out = capsys.readouterr().out
    assert "checkpoints: at the end, in" in out and "checkpoint: " in out
    assert [p.name for p in tmp_path.rglob("*.h5")] == ["last.h5"]


def test_the_floor_and_the_policy_round_trip_through_the_project_file(tmp_path):
    project = _project(tmp_path, min_seconds=2.5)
    loaded = Project.load(project.path)
    assert loaded.training.checkpoint["min_seconds"] == 2.5
    saver = next(
        h
        for h in build_run(loaded, record=False, checkpoint_dir=tmp_path).trainer.hooks
        if isinstance(h, CheckpointSaver)
    )
    assert (saver.min_seconds, saver.final, saver.keep_last) == (2.5, "last.h5", 3)
    # A file from before the key: the checkpoint object has no min_seconds; the default floor applies.
    loaded.training["checkpoint"] = {"every_epochs": 1, "best_only": False, "keep": 3, "directory": None}
    loaded.save()
    old = Project.load(project.path)
    saver = next(
        h
        for h in build_run(old, record=False, checkpoint_dir=tmp_path).trainer.hooks
        if isinstance(h, CheckpointSaver)
    )
    assert saver.min_seconds == 5.0


@pytest.mark.parametrize("bad", [-1, "5", True, float("nan"), float("inf"), 10**9, [5]])
def test_a_bad_floor_is_a_project_error_naming_the_field(tmp_path, bad):
    project = _project(tmp_path, min_seconds=0)
    with pytest.raises(ProjectError, match=r"training\.checkpoint\.min_seconds"):
        project.training["checkpoint"] = {**project.training.checkpoint, "min_seconds": bad}
    if bad != bad or bad == float("inf"):
        return  # a project file cannot hold them (JSON): refused as not valid JSON
    doc = json.loads(project.path.read_text())
    doc["training"]["checkpoint"]["min_seconds"] = bad
    project.path.write_text(json.dumps(doc))
    with pytest.raises(ProjectError, match=r"training\.checkpoint\.min_seconds"):
        Project.load(project.path)


# ------------------------------------------------------------------------------------- the engine API
X, Y = blobs(n=64)


def test_a_best_state_the_floor_skips_is_held_and_written_at_the_end(tmp_path):
    taken = {}
    snap = FunctionHook(
        lambda t: taken.__setitem__(t.epoch, {k: p.data.copy() for k, p in t.parameters.items()}),
        TimeStep(1, "epoch"),
        priority=60,
    )
    saver = CheckpointSaver(tmp_path, best_only=True, monitor="loss", min_seconds=FOREVER)
    saved = []
    trainer = small_trainer(hooks=[snap, saver], batch_size=8, optimiser=SGD(0.3))
    trainer.events.subscribe(saved.append, CheckpointSaved)
    trainer.fit((X, Y), epochs=4)
    losses = [r["loss"] for r in trainer.history]
    best = int(np.argmin(losses)) + 1
    assert os.listdir(tmp_path) == ["best.h5"] and len(saved) == 1  # one file, at the end
    assert checkpoint.info(tmp_path / "best.h5")["epoch"] == best == saved[0].epoch
    fresh = small_trainer(batch_size=8, optimiser=SGD(0.3), hooks=[CheckpointSaver(tmp_path, best_only=True)])
    checkpoint.restore(fresh, tmp_path / "best.h5")
    _same({k: p.data for k, p in fresh.parameters.items()}, taken[best])


def test_the_saver_keeps_what_it_skipped_and_its_clock_in_its_state(tmp_path):
    saver = CheckpointSaver(tmp_path, min_seconds=FOREVER)
    states = []
    after = FunctionHook(lambda t: states.append(saver.state_dict()), TimeStep(1, "epoch"), priority=-200)
    trainer = small_trainer(hooks=[saver, after], batch_size=16)
    trainer.fit((X, Y), epochs=2)
    # Both epochs' saves were skipped; without a final file the end writes the newest state there.
    assert os.listdir(tmp_path) == [f"checkpoint-e0002-i{trainer.iteration:08d}.h5"]
    assert saver.pending == "" and [s["pending"] for s in states] == ["periodic", "periodic"]
    state = states[-1]
    assert state["pending"] == "periodic" and 0 <= state["since_save"] < 60
    again = CheckpointSaver(tmp_path, min_seconds=FOREVER)
    again.load_state_dict(state)
    assert again.pending == "periodic" and again.state_dict()["since_save"] == state["since_save"]
    for bad in ({"pending": 3}, {"since_save": -1.0}, {"since_save": "1"}):
        with pytest.raises(ValueError, match="CheckpointSaver state"):
            again.load_state_dict({**state, **bad})
    with pytest.raises(ValueError, match="min_seconds"):
        CheckpointSaver(tmp_path, min_seconds=-1)


def test_the_engine_default_saves_every_due_epoch(tmp_path):
    trainer = small_trainer(hooks=[CheckpointSaver(tmp_path)], batch_size=16)
    trainer.fit((X, Y), epochs=3)
    assert len(os.listdir(tmp_path)) == 3
