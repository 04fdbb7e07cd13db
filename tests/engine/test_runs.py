"""Runs that persist with their project: run folders, metric series, lineage, the run table."""

import io
import json
import time

import numpy as np
import pytest

from engine import templates
from engine.project import Project
from engine.run import build_run
from engine.runs import (
    RunError,
    SeriesReader,
    SeriesWriter,
    annotate,
    delete_run,
    find_run,
    list_runs,
    open_run,
    run_table,
    runs_dir,
)
from engine.templates import mlp


def _project(folder, name="tiny.sigma", **training):
    project = templates.digits_project()
    project.network = mlp(inputs=64, hidden=(16,), classes=10)
    project.training.update({"epochs": 2, "batch_size": 128, **training})
    project.save(folder / name)
    return project


# ---------------------------------------------------------------------------------------------- series
def test_series_reader_never_reads_past_the_committed_count(tmp_path):
    writer = SeriesWriter(tmp_path)
    writer.extend("iteration/loss", [[1, 0.5], [2, 0.25]])
    writer.commit()
    writer.append("iteration/loss", 3, 0.125)  # queued, not committed
    # A torn record on disk (a writer killed mid-write) is past the count too.
    with open(tmp_path / "s0.f64", "ab") as fh:
        fh.write(b"\x00" * 11)
    x, y = SeriesReader(tmp_path).read("iteration/loss")
    assert x.tolist() == [1, 2] and y.tolist() == [0.5, 0.25]
    writer.commit()
    assert SeriesReader(tmp_path).count("iteration/loss") == 3


def test_a_million_points_read_from_the_levels_keep_every_spike(tmp_path):
    writer = SeriesWriter(tmp_path)
    n = 1_000_000
    x = np.arange(1, n + 1, dtype=np.float64)
    y = np.exp(-x / 2e5) + 0.01 * np.sin(x)
    y[123_456], y[654_321], y[777_777] = 5.0, -3.0, np.nan
    for start in range(0, n, 250_000):  # as a long run commits: in pieces
        writer.extend("iteration/loss", np.stack([x[start : start + 250_000], y[start : start + 250_000]], 1))
        writer.commit()
    writer.extend("iteration/loss", [[n + 1, 0.5], [n + 2, 0.75]])
    writer.commit()
    reader = SeriesReader(tmp_path)
    start = time.perf_counter()
    xs, ys = reader.read("iteration/loss", max_points=10_000)
    assert time.perf_counter() - start < 0.2
    assert len(xs) <= 10_000 and np.all(np.diff(xs) >= 0)
    assert np.nanmax(ys) == 5.0 and np.nanmin(ys) == -3.0
    assert xs[-2:].tolist() == [n + 1, n + 2]  # the raw tail after the last finished block
    summary = reader.summary("iteration/loss")
    assert summary["min"] == -3.0 and summary["max"] == 5.0 and summary["last"] == 0.75
    assert len(reader.read("iteration/loss", max_points=100)[0]) < 400  # level 2
    assert len(reader.read("iteration/loss")[0]) == n + 2


# ---------------------------------------------------------------------------------------------- recording
def test_a_run_is_recorded_in_its_folder(tmp_path):
    project = _project(tmp_path)
    run = build_run(project)
    assert run.folder == runs_dir(tmp_path / "tiny.sigma") / "run-0001"
    history = run.fit()
    record = open_run(run.folder)
    assert record.settings == project.to_dict()
    assert record.meta["seed"] == 0 and "numpy" in record.meta["versions"]
    assert record.status["state"] == "finished"
    assert (record.status["epoch"], record.status["iteration"]) == (2, run.trainer.iteration)
    assert record.status["final"]["val_accuracy"] == history[-1]["val_accuracy"]
    series = record.series()
    x, y = series.read("epoch/val_loss")
    assert x.tolist() == [1, 2] and y.tolist() == [h["val_loss"] for h in history]
    assert series.count("iteration/loss") == run.trainer.iteration
    # Named after the project and the iteration (issue 15), as the studio's Save checkpoint now names them.
    # The default save floor (5 s) skips both epochs' saves of this short run: its end writes last.h5.
    checkpoints = sorted(p.name for p in (run.folder / "checkpoints").glob("*.h5"))
    assert checkpoints == ["last.h5"] and record.status["last_checkpoint"].endswith("last.h5")
    project.training["checkpoint"] = {**project.training.checkpoint, "min_seconds": 0}
    again = build_run(project)
    again.fit()
    checkpoints = sorted(p.name for p in (again.folder / "checkpoints").glob("*.h5"))
    assert checkpoints == ["last.h5", "tiny-it000012.h5", f"tiny-it{again.trainer.iteration:06d}.h5"]


def test_unsaved_projects_and_record_false_leave_no_folder(tmp_path):
    project = templates.digits_project()
    assert build_run(project).folder is None
    _project(tmp_path)
    saved = _project(tmp_path)
    assert build_run(saved, record=False).folder is None
    assert list_runs(saved.path) == []


def test_lineage_of_a_resumed_and_a_branched_run(tmp_path):
    project = _project(tmp_path, epochs=1)
    first = build_run(project)
    first.fit()
    last = sorted((first.folder / "checkpoints").glob("*.h5"))[-1]

    project.training["epochs"] = 2  # more epochs: the same experiment, continued
    resumed = build_run(project, parent_checkpoint=last)
    from engine import checkpoint

    checkpoint.restore(resumed.trainer, last)
    resumed.fit()
    project.training["optimiser"] = {"type": "sgd", "learning_rate": 0.1}  # another experiment from there
    branched = build_run(project, parent_checkpoint=last)

    runs = {r.name: r for r in list_runs(project.path)}
    assert runs["run-0001"].parent is None
    assert runs["run-0002"].parent == {"run": "run-0001", "kind": "resume", "checkpoint": str(last)}
    assert runs["run-0003"].parent["kind"] == "branch" and runs["run-0003"].parent["run"] == "run-0001"
    assert runs["run-0002"].status["epoch"] == 2
    assert branched.folder.name == "run-0003"


# ---------------------------------------------------------------------------------------------- table
def test_the_table_shows_what_differs_and_the_final_and_best_metrics(tmp_path):
    project = _project(tmp_path, epochs=1)
    build_run(project).fit()
    project.training["batch_size"] = 64
    build_run(project).fit()
    table = run_table(list_runs(project.path))
    assert table.setting_columns == ["batch_size"]
    assert [table.text(i, "batch_size") for i in range(2)] == ["128", "64"]
    for i, record in enumerate(table.records):
        assert table.rows[i]["final val_accuracy"] == record.status["final"]["val_accuracy"]
        assert table.rows[i]["best val_loss"] == min(record.series().read("epoch/val_loss")[1])
    assert table.columns[:5] == ["run", "label", "star", "state", "batch_size"]
    assert table.columns[-4:] == ["progress", "parent", "started", "note"]
    text = io.StringIO()
    table.write_csv(text)
    lines = text.getvalue().splitlines()
    assert lines[0].split(",") == table.columns and len(lines) == 3


def test_annotate_and_delete(tmp_path):
    project = _project(tmp_path, epochs=1)
    run = build_run(project)
    annotate(run.folder, label="baseline", starred=True, note="first try")
    record = find_run(project.path, "1")
    assert (record.label, record.starred, record.note) == ("baseline", True, "first try")
    annotate(run.folder, starred=False)
    assert find_run(project.path, "run-0001").label == "baseline"
    with pytest.raises(RunError, match="not a run folder"):
        delete_run(tmp_path)  # never removes what is not a run folder
    delete_run(run.folder)
    assert not run.folder.exists() and list_runs(project.path) == []
    with pytest.raises(RunError, match="no run 'run-0001'"):
        find_run(project.path, "run-0001")


def test_damaged_run_files_are_skipped_or_named(tmp_path):
    project = _project(tmp_path, epochs=1)
    run = build_run(project)
    (run.folder / "status.json").write_text("{not json")
    (runs_dir(project.path) / "run-0009").mkdir()  # a folder without run.json: not a run
    records = list_runs(project.path)
    assert [r.name for r in records] == ["run-0001"] and records[0].status == {}
    assert run_table(records).text(0, "state") == "?"
    (run.folder / "run.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(RunError, match="run-0001: not a run folder"):
        open_run(run.folder)


def test_a_run_folder_that_cannot_be_made_is_a_clear_error(tmp_path):
    from engine.project import ProjectError

    project = _project(tmp_path)
    runs_dir(project.path).write_text("a file where the runs folder goes")  # as a read-only disk would
    with pytest.raises(ProjectError, match="cannot make a run folder next to the project"):
        build_run(project)
    assert build_run(project, record=False).folder is None


def test_continuing_on_edited_data_is_a_branch_from_the_parents_iteration(tmp_path):
    """Issue 16: after sample edits, a run continued from a checkpoint is a recorded, non-exact branch."""
    from engine import checkpoint
    from engine.runs.continuation import latest_checkpoint, restore_run

    project = _project(tmp_path, epochs=1)
    first = build_run(project)
    first.fit()
    last = latest_checkpoint(first.folder)
    assert last is not None and checkpoint.info(last)["iteration"] == first.trainer.iteration
    left = first.trainer.iteration
    records = [int(r) for r in first.train_records[:3]]
    labels = [int(first.dataset["targets"][r]) for r in records]
    project.dataset["edits"] = [
        {"record": records[0], "action": "relabel", "label": str((labels[0] + 1) % 10)},
        {"record": records[1], "action": "relabel", "label": str((labels[1] + 1) % 10)},
        {"record": records[2], "action": "exclude"},
    ]
    project.training["epochs"] = 2
    with pytest.raises(checkpoint.CheckpointError, match="dataset differs"):  # an exact resume refuses
        exact = build_run(project, record=False)
        checkpoint.restore(exact.trainer, last, data=exact.train_data)

    child = build_run(project, parent_checkpoint=last)
    note = restore_run(child, last)
    assert note.startswith(f"branch of run-0001 from iteration {left} (epoch 1): the training data differs")
    assert "2 sample(s) relabelled, 1 excluded" in note and "not an exact resume" in note
    assert len(child.train_data) == len(first.train_data) - 1
    child.fit()
    assert child.trainer.epoch == 2 and child.trainer.iteration > left

    record = open_run(child.folder)
    assert record.parent["kind"] == "branch" and record.parent["run"] == "run-0001"
    assert record.parent["iteration"] == left and record.parent["exact"] is False
    assert record.parent["note"] == note and record.status["state"] == "finished"
    xs, _ = record.series().read("iteration/loss")
    assert xs[0] == left + 1  # drawn from where the parent left
    parent_xs, _ = open_run(first.folder).series().read("iteration/loss")
    assert parent_xs[-1] == left  # the parent's series is untouched


def test_a_project_opened_by_a_relative_path_keeps_its_checkpoints_in_its_run_folder(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    _project(tmp_path / "sub", epochs=1)
    monkeypatch.chdir(tmp_path)
    run = build_run(Project.load("sub/tiny.sigma"))  # as "sigma train sub/tiny.sigma" opens it
    folder = tmp_path / "sub" / "tiny.sigma.runs" / "run-0001"
    assert run.checkpoint_dir == folder / "checkpoints"
    run.fit()
    assert (folder / "checkpoints" / "last.h5").is_file()
    assert not (tmp_path / "sub" / "sub").exists()
