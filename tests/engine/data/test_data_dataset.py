"""Dataset: sections, subsets, splits, fingerprint, statistics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.data import Dataset, concatenate


def _toy(n=100, classes=("a", "b", "c"), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = np.repeat(np.arange(len(classes)), int(np.ceil(n / len(classes))))[:n].astype(np.int64)
    return Dataset({"inputs": x, "targets": y}, list(classes))


def test_sections_and_shapes():
    ds = _toy()
    assert len(ds) == 100 and ds.section_names == ["inputs", "targets"]
    assert ds.shape_of("inputs") == (4,) and ds.shape_of("targets") == ()
    with pytest.raises(KeyError, match="sections are"):
        ds["nope"]
    with pytest.raises(ValueError, match="different record counts"):
        Dataset({"inputs": np.zeros((3, 2)), "targets": np.zeros(4)})
    assert Dataset({"inputs": np.zeros((2, 2), np.float64)})["inputs"].dtype == np.float32


def test_subset_keeps_order_and_classes():
    ds = _toy()
    sub = ds.subset([5, 1, 1])
    np.testing.assert_array_equal(sub["inputs"], ds["inputs"][[5, 1, 1]])
    assert sub.classes == ds.classes


def test_stratified_split_keeps_class_proportions_and_is_seeded():
    ds = _toy(n=300)
    parts = ds.split({"train": 0.7, "validation": 0.1, "test": 0.2}, seed=4)
    assert [len(p) for p in parts.values()] == [210, 30, 60]
    for part in parts.values():
        counts = np.bincount(part["targets"], minlength=3)
        assert counts.max() - counts.min() <= 1
    everything = np.concatenate([p["inputs"] for p in parts.values()])
    assert len(np.unique(everything, axis=0)) == 300  # disjoint and complete
    again = ds.split({"train": 0.7, "validation": 0.1, "test": 0.2}, seed=4)
    assert all(again[k].fingerprint() == parts[k].fingerprint() for k in parts)
    other = ds.split({"train": 0.7, "validation": 0.1, "test": 0.2}, seed=5)
    assert other["test"].fingerprint() != parts["test"].fingerprint()


def test_split_names_unstratified_and_separate_test_source():
    ds = _toy(n=10)
    parts = ds.split([0.8, 0.2], stratify=False)
    assert list(parts) == ["train", "test"] and len(parts["train"]) == 8
    assert list(ds.split([0.6, 0.2, 0.2])) == ["train", "validation", "test"]
    extra = _toy(n=5, seed=9)
    parts = ds.split({"train": 1.0}, test=extra)
    assert parts["test"] is extra and len(parts["train"]) == 10
    with pytest.raises(ValueError, match="classes"):
        ds.split({"train": 1.0}, test=_toy(n=5, classes=("x", "y", "z")))
    with pytest.raises(ValueError, match="summing to <= 1"):
        ds.split([0.9, 0.3])


def test_fingerprint_tracks_content_shape_dtype_and_classes():
    ds = _toy()
    same = Dataset({"inputs": ds["inputs"].copy(), "targets": ds["targets"].copy()}, ds.classes)
    assert ds.fingerprint() == same.fingerprint() and len(ds.fingerprint()) == 64
    changed = ds["inputs"].copy()
    changed[3, 2] += 1e-3
    assert (
        Dataset({"inputs": changed, "targets": ds["targets"]}, ds.classes).fingerprint() != ds.fingerprint()
    )
    reshaped = Dataset({"inputs": ds["inputs"].reshape(100, 2, 2), "targets": ds["targets"]}, ds.classes)
    assert reshaped.fingerprint() != ds.fingerprint()
    assert (
        Dataset({"inputs": ds["inputs"], "targets": ds["targets"]}, ["a", "b", "z"]).fingerprint()
        != ds.fingerprint()
    )


def test_statistics_are_json_able_and_right():
    ds = _toy(n=90)
    stats = json.loads(json.dumps(ds.statistics()))
    assert stats["class_counts"] == {"a": 30, "b": 30, "c": 30}
    np.testing.assert_allclose(stats["feature_mean"], ds["inputs"].mean(0), atol=1e-5)
    np.testing.assert_allclose(stats["feature_std"], ds["inputs"].std(0), atol=1e-5)
    assert stats["sections"]["inputs"] == {"shape": [4], "dtype": "float32"}


def test_concatenate_remaps_classes():
    a = Dataset({"inputs": np.zeros((2, 1)), "targets": np.array([0, 1])}, ["x", "y"])
    b = Dataset({"inputs": np.ones((1, 1)), "targets": np.array([0])}, ["w"])
    ds = concatenate([a, b])
    assert ds.classes == ["w", "x", "y"]
    np.testing.assert_array_equal(ds["targets"], [1, 2, 0])


def test_channel_statistics_for_images():
    rng = np.random.default_rng(0)
    x = rng.random((30, 4, 5, 3)).astype(np.float32)
    stats = Dataset({"inputs": x}).statistics()
    np.testing.assert_allclose(stats["channel_mean"], x.reshape(-1, 3).mean(0), rtol=1e-6)
    np.testing.assert_allclose(stats["channel_std"], x.reshape(-1, 3).std(0), rtol=1e-5)
