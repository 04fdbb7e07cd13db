"""Checkpoint format 3: the iteration history as a float64 table, hook states without groups, and
files of the earlier layouts still read the same."""

import json
import shutil

import h5py
import numpy as np
import pytest

from engine import checkpoint
from engine.checkpoint import CheckpointError
from engine.hooks import MetricReporter, every
from tests.engine.checkpoint_files import as_version_1, as_version_2
from tests.engine.training.nets import blobs, small_trainer

X, Y = blobs(n=64)  # batch 24: 3 iterations per epoch


def reporting_trainer():
    return small_trainer(hooks=[MetricReporter(every(1))], batch_size=24)


@pytest.fixture()
def trained(tmp_path):
    trainer = reporting_trainer()
    trainer.fit((X, Y), epochs=3)
    return trainer, checkpoint.save(trainer, tmp_path / "v3.h5")


def objects(path):
    names = []
    with h5py.File(path, "r") as f:
        f.visit(names.append)
    return names


def test_the_history_is_a_table_that_reads_back_exactly(trained):
    trainer, path = trained
    with h5py.File(path, "r") as f:
        assert f.attrs["format_version"] == 3
        table = f["/.iteration_history"][()]
        meta = json.loads(f["/.meta"][()].tobytes())
    assert table.shape == (9, 1 + len(meta["iteration_history_columns"]))
    assert meta["iteration_history"] is None
    assert table[:, 0].tolist() == [i for i, _ in trainer.iteration_history]
    read = checkpoint.load(path)["meta"]
    assert "iteration_history_columns" not in read
    # bit for bit: the same floats, names and order as the trainer's own records
    assert json.dumps(read["iteration_history"]) == json.dumps(trainer.iteration_history)


def test_hook_states_without_arrays_are_values_not_groups(trained):
    trainer, path = trained
    names = objects(path)
    assert not any(n.startswith("hooks/") and n != "hooks/.values" for n in names)
    assert checkpoint.load(path)["hooks"] == json.loads(json.dumps(trainer.hooks.state_dict()))


@pytest.mark.parametrize("convert", [as_version_2, as_version_1])
def test_files_of_the_earlier_layouts_resume_the_same(trained, tmp_path, convert):
    trainer, path = trained
    old = tmp_path / "old.h5"
    shutil.copy(path, old)
    convert(old)
    content = checkpoint.load(old)
    assert content["format_version"] == (2 if convert is as_version_2 else 1)
    assert json.dumps(content["meta"]["iteration_history"]) == json.dumps(trainer.iteration_history)
    resumed, whole = reporting_trainer(), reporting_trainer()
    checkpoint.restore(resumed, old, data=(X, Y))
    resumed.fit((X, Y), epochs=5)
    whole.fit((X, Y), epochs=5)
    assert json.dumps(resumed.iteration_history) == json.dumps(whole.iteration_history)
    for k, p in whole.parameters.items():
        np.testing.assert_array_equal(resumed.parameters[k].data, p.data)


@pytest.mark.parametrize(
    "records",
    [
        [[1, {"loss": 0.5, "steps": 3}]],  # an int value: would come back a float
        [[1, {"loss": 0.5}], [2, {"loss": 0.25, "accuracy": 1.0}]],  # names differ
        [[1, {"loss": float("nan")}], [2, {"loss": 0.25, "note": "text"}]],
    ],
)
def test_a_history_that_is_not_a_float_table_stays_json(tmp_path, records):
    trainer = reporting_trainer()
    trainer.fit((X, Y), epochs=1)
    trainer.iteration_history[:] = records
    path = checkpoint.save(trainer, tmp_path / "json.h5")
    assert ".iteration_history" not in objects(path)
    assert json.dumps(checkpoint.load(path)["meta"]["iteration_history"]) == json.dumps(records)


def _replace_table(f, table):
    from tests.engine.test_checkpoint_fuzz import _resign

    del f["/.iteration_history"]
    f.create_dataset(".iteration_history", data=table)
    _resign(f)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda t: t[:, :2], "wrong shape"),
        (lambda t: t.astype(np.float32), "wrong shape"),
        (lambda t: np.where(np.arange(t.shape[1]) == 0, 0.5, t), "not a count"),
        (lambda t: np.where(np.arange(t.shape[1]) == 0, -1.0, t), "not a count"),
    ],
)
def test_a_crafted_history_table_is_refused(trained, tmp_path, edit, match):
    _, path = trained
    crafted = tmp_path / "crafted.h5"
    shutil.copy(path, crafted)
    with h5py.File(crafted, "r+") as f:
        _replace_table(f, edit(f["/.iteration_history"][()]))
    with pytest.raises(CheckpointError, match=match):
        checkpoint.load(crafted)


def test_a_table_in_a_version_2_file_is_refused(trained, tmp_path):
    _, path = trained
    crafted = tmp_path / "v2-with-table.h5"
    shutil.copy(path, crafted)
    with h5py.File(crafted, "r+") as f:
        f.attrs["format_version"] = np.int64(2)
    with pytest.raises(CheckpointError, match="unexpected object '/.iteration_history'"):
        checkpoint.load(crafted)
