"""Preprocessors: fitting on the training split, batch/dataset agreement, augmentation, state round trips."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from engine.data import (
    Compose,
    Dataset,
    Flip,
    Noise,
    Normalise,
    OneHot,
    Permute,
    RandomCrop,
    Resize,
    Rotate,
    Shuffle,
    preprocessor_from_state,
)
from engine.data.storage import SectionBuilder


def _ds(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(n, 3)) * [1, 10, 100] + [0, 5, -50]).astype(np.float32)
    return Dataset({"inputs": x, "targets": (np.arange(n) % 4).astype(np.int64)}, ["a", "b", "c", "d"])


def test_normalise_fits_on_train_only():
    ds = _ds()
    parts = ds.split([0.5, 0.5], seed=0)
    norm = Normalise("standard", per_feature=True).fit(parts["train"])
    train = norm.transform(parts["train"])["inputs"]
    np.testing.assert_allclose(train.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(train.std(0), 1, atol=1e-5)
    test = norm.transform(parts["test"])["inputs"]
    assert not np.allclose(test.mean(0), 0, atol=1e-3)  # test statistics were not used


def test_minmax_global_and_constant_feature():
    x = np.array([[0, 5], [2, 5], [4, 5]], np.float32)
    ds = Dataset({"inputs": x})
    out = Normalise("minmax", per_feature=True).fit_transform(ds)["inputs"]
    np.testing.assert_allclose(out, [[0, 0], [0.5, 0], [1, 0]])  # constant column only shifted
    out = Normalise("minmax").fit_transform(ds)["inputs"]
    np.testing.assert_allclose(out, x / 5)
    with pytest.raises(RuntimeError, match="not fitted"):
        Normalise().apply({"inputs": x})


def test_normalise_on_disk_dataset_streams_and_stays_on_disk(tmp_path):
    b = SectionBuilder({"inputs": np.float32}, memory_budget=1000, cache_dir=tmp_path)
    x = np.random.default_rng(0).uniform(3, 9, size=(5000, 4)).astype(np.float32)
    b.append({"inputs": x})
    ds = Dataset(b.finish())
    out = Normalise("minmax", per_feature=True).fit_transform(ds)
    assert out.on_disk
    np.testing.assert_allclose(
        out["inputs"][np.arange(5000)], (x - x.min(0)) / (x.max(0) - x.min(0)), atol=1e-6
    )


def test_one_hot_shuffle_permute_resize():
    ds = _ds(8)
    oh = OneHot().fit(ds).transform(ds)
    assert oh["targets"].shape == (8, 4) and oh["targets"].dtype == np.float32
    np.testing.assert_array_equal(oh["targets"].argmax(1), ds["targets"])
    sh = Shuffle(seed=3).transform(ds)
    np.testing.assert_array_equal(sh["inputs"], ds["inputs"][np.random.default_rng(3).permutation(8)])
    img = np.random.default_rng(0).random((2, 4, 6, 3)).astype(np.float32)
    chw = Permute((2, 0, 1)).apply({"inputs": img})["inputs"]
    assert chw.shape == (2, 3, 4, 6)
    np.testing.assert_array_equal(chw[1, 2], img[1, ..., 2])
    same = Resize((4, 6)).apply({"inputs": img})["inputs"]
    np.testing.assert_allclose(same, img, atol=1e-6)
    up = Resize((8, 12)).apply({"inputs": img})["inputs"]
    assert up.shape == (2, 8, 12, 3)
    np.testing.assert_allclose(up.mean(), img.mean(), atol=0.05)


def test_augmentations_keep_shapes_and_values():
    rng = np.random.default_rng(0)
    x = rng.random((16, 10, 10, 1)).astype(np.float32)
    flipped = Flip(horizontal=True, p=1.0).apply({"inputs": x}, rng)["inputs"]
    np.testing.assert_array_equal(flipped, x[:, :, ::-1])
    crop = RandomCrop(padding=2).apply({"inputs": x}, np.random.default_rng(1))["inputs"]
    assert crop.shape == x.shape
    # Every crop is a shifted window of the zero-padded image.
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
    for i in range(16):
        assert any(
            np.array_equal(crop[i], padded[i, dy : dy + 10, dx : dx + 10])
            for dy in range(5)
            for dx in range(5)
        )
    still = Rotate(degrees=0).apply({"inputs": x}, rng)["inputs"]
    np.testing.assert_allclose(still, x, atol=1e-6)
    quarter = Rotate(degrees=90).apply_array(x[:1, :, :, 0], np.random.default_rng(0))
    assert quarter.shape == (1, 10, 10)
    noisy = Noise(std=0.1).apply({"inputs": x}, rng)["inputs"]
    assert noisy.min() >= 0 and noisy.max() <= 1 and not np.array_equal(noisy, x)


def test_rotate_by_90_degrees_matches_rot90():
    x = np.arange(25, dtype=np.float32).reshape(1, 5, 5)

    class Fixed:
        def uniform(self, lo, hi, size):
            return np.full(size, hi)

    out = Rotate(degrees=90).apply_array(x, Fixed())
    assert np.allclose(out[0], np.rot90(x[0], 1), atol=1e-4) or np.allclose(
        out[0], np.rot90(x[0], -1), atol=1e-4
    )


def test_state_round_trip_through_hdf5(tmp_path):
    ds = _ds()
    pipeline = Compose([Normalise("standard", per_feature=True), Noise(0.01, clip=None), OneHot()])
    pipeline.fit(ds)
    state = pipeline.state_dict()
    with h5py.File(tmp_path / "ckpt.h5", "w") as f:
        g = f.create_group("preprocess")
        for k, v in state.items():
            g.attrs[k] = v
    with h5py.File(tmp_path / "ckpt.h5", "r") as f:
        loaded = {k: v for k, v in f["preprocess"].attrs.items()}
    rebuilt = preprocessor_from_state(loaded)
    batch = ds.batch(np.arange(10))
    a = pipeline.apply(batch, np.random.default_rng(5))
    b = rebuilt.apply(batch, np.random.default_rng(5))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    for step in [
        RandomCrop(3),
        Rotate(7.5),
        Noise(0.2),
        Noise(0.2, clip=None),
        Resize((5, 4)),
        Permute((1, 0)),
    ]:
        again = preprocessor_from_state(step.state_dict())
        assert repr(again) == repr(step)
