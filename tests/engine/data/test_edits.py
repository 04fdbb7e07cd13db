"""Sample edits: a non-destructive overlay the data pipeline applies (relabel, exclude, check later)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from engine.data import Dataset
from engine.data.edits import DatasetEdits, EditError, SampleEdit, record_origin, split_records
from engine.project import ProjectError
from engine.run import build_run


def small():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    return Dataset({"inputs": x, "targets": np.array([0, 1] * 5)}, ["a", "b"], meta={"source": "/d/t.csv"})


def test_apply_relabels_and_excludes_without_touching_the_original():
    ds = small()
    edits = DatasetEdits([SampleEdit(3, "relabel", "a"), SampleEdit(4, "exclude"), SampleEdit(5, "check")])
    edited, records = edits.apply(ds, np.arange(10))
    assert list(records) == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert list(edited["targets"]) == [0, 1, 0, 0, 1, 0, 1, 0, 1]
    assert np.array_equal(edited["inputs"], np.delete(ds["inputs"], 4, axis=0))
    assert list(ds["targets"]) == [0, 1] * 5 and len(ds) == 10  # the original is unchanged


def test_later_edit_of_a_record_replaces_the_earlier_and_undo_takes_it_back():
    edits = DatasetEdits()
    edits.add(SampleEdit(3, "relabel", "a"))
    edits.add(SampleEdit(3, "check"))
    replaced = edits.add(SampleEdit(3, "exclude"))
    assert replaced == SampleEdit(3, "relabel", "a")
    assert [e.action for e in edits] == ["check", "exclude"]
    edits.remove(1)
    assert [e.action for e in edits] == ["check"]
    restored = DatasetEdits.from_list(json.loads(json.dumps(edits.to_list())))
    assert restored == edits


def test_bad_edits_are_named():
    with pytest.raises(EditError, match="action 'drop'"):
        SampleEdit(1, "drop")
    with pytest.raises(EditError, match="needs a `label`"):
        SampleEdit(1, "relabel")
    with pytest.raises(EditError, match=r"dataset.edits\[1\]: unknown field"):
        DatasetEdits.from_list([{"record": 1, "action": "exclude"}, {"record": 2, "action": "check", "x": 1}])
    with pytest.raises(EditError, match=r"edit 0 \(record 12: exclude\): the dataset has 10 records"):
        DatasetEdits([SampleEdit(12, "exclude")]).apply(small(), np.arange(10))
    with pytest.raises(EditError, match="no class 'z'"):
        DatasetEdits([SampleEdit(1, "relabel", "z")]).apply(small(), np.arange(10))
    with pytest.raises(EditError, match="exclude every record"):
        DatasetEdits([SampleEdit(k, "exclude") for k in range(10)]).apply(small(), np.arange(10))


def test_split_records_match_the_split():
    ds = small()
    parts = ds.split({"train": 0.6, "validation": 0.4}, seed=3)
    records = split_records(ds, {"train": 0.6, "validation": 0.4}, True, 3)
    for name in ("train", "validation"):
        assert np.array_equal(parts[name]["inputs"], ds["inputs"][records[name]])
    assert record_origin(ds, 4) == "t.csv, row 5"


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_project_edits_change_the_next_runs_data_and_leave_the_file_alone(tmp_path):
    from engine.templates import digits_project

    rng = np.random.default_rng(0)
    x = rng.random((60, 4)).round(3)
    y = np.array([0, 1, 2] * 20)
    csv = tmp_path / "table.csv"
    csv.write_text("a,b,c,d,label\n" + "".join(f"{','.join(map(str, r))},{c}\n" for r, c in zip(x, y)))
    before = _sha(csv)
    project = digits_project()
    project.dataset = {"source": "table.csv", "options": {}, "validation_split": 0.25}
    project.network = {
        "format": "sigma.network/1",
        "nodes": [
            {"type": "input", "name": "in", "shape": [4]},
            {"type": "dense", "name": "out", "inputs": ["in"], "units": 3},
        ],
        "inputs": ["in"],
        "outputs": ["out"],
    }
    path = project.save(tmp_path / "p.sigma")
    first = build_run(project)
    v = first.validation_records
    t = first.train_records
    assert len(v) == 15 and len(t) == 45 and sorted([*v, *t]) == list(range(60))
    # relabel two validation samples, exclude one training sample
    classes = first.dataset.classes
    new0 = classes[(first.dataset["targets"][v[0]] + 1) % 3]
    new1 = classes[(first.dataset["targets"][v[1]] + 2) % 3]
    edits = DatasetEdits([SampleEdit(int(v[0]), "relabel", new0), SampleEdit(int(v[1]), "relabel", new1)])
    edits.add(SampleEdit(int(t[5]), "exclude"))
    project.dataset["edits"] = edits.to_list()
    project.save(path)

    from engine.project import Project

    second = build_run(Project.load(path))
    assert np.array_equal(second.validation_records, v)  # the split did not move
    assert list(second.train_records) == [r for r in t if r != t[5]]
    assert len(second.train_data) == 44 and len(second.validation_data) == 15
    assert classes[second.validation_data["targets"][0]] == new0
    assert classes[second.validation_data["targets"][1]] == new1
    assert np.array_equal(second.validation_data["targets"][2:], first.validation_data["targets"][2:])
    assert _sha(csv) == before  # the file on disk is untouched

    project.dataset["edits"] = [{"record": 999, "action": "exclude"}]
    with pytest.raises(
        ProjectError, match=r"p.sigma: edit 0 \(record 999: exclude\): the dataset has 60 records"
    ):
        build_run(project)


def test_mistakes_from_predictions():
    from engine.hooks.validation import as_probabilities, confusion_matrix
    from engine.training.mistakes import cell_samples, class_samples, confused_pairs, worst_samples

    p = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8], [0.55, 0.45, 0.0]])
    t = np.array([1, 1, 1, 0, 0])
    assert list(cell_samples(p, t, 1, 0)) == [0, 2]  # most confident first
    assert list(class_samples(p, t, 1)) == [0, 2, 1]
    assert list(worst_samples(p, t, 2)) == [0, 3]
    m = confusion_matrix(t, p.argmax(axis=1), 3)
    assert confused_pairs(m) == [(1, 0, 2), (0, 2, 1)]
    logits = np.log(p[:2] + 1e-9) + 3.0
    assert np.allclose(as_probabilities(logits), p[:2], atol=1e-6)
    assert as_probabilities(p).dtype == np.float32
