"""Bundled samples: digits, the cat, XOR and the text corpus."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data import samples


def test_resource_path_finds_files_and_says_where_it_looked():
    assert samples.resource_path("digits.csv.gz").is_file()
    with pytest.raises(FileNotFoundError, match="looked in"):
        samples.resource_path("nope.bin")


def test_digits():
    ds = samples.digits()
    assert len(ds) == 1797 and ds.shape_of("inputs") == (64,) and ds.classes == [str(i) for i in range(10)]
    assert 0.0 <= ds["inputs"].min() and ds["inputs"].max() == 1.0
    assert sum(ds.statistics()["class_counts"].values()) == 1797
    assert samples.digits(flat=False).shape_of("inputs") == (8, 8, 1)


def test_cat_image_and_coordinate_dataset():
    image = samples.cat()
    assert image.shape == (128, 128, 3) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.1
    ds = samples.cat_dataset()
    assert len(ds) == 128 * 128 and ds.shape_of("inputs") == (2,) and ds.shape_of("targets") == (3,)
    assert ds["inputs"].min() == -1.0 and ds["inputs"].max() == 1.0
    np.testing.assert_array_equal(ds["targets"].reshape(ds.meta["image_shape"]), image)
    np.testing.assert_allclose(ds["inputs"][1], [-1 + 2 / 127, -1], rtol=1e-6)  # x runs along a row first


def test_xor_and_text():
    xor = samples.xor()
    np.testing.assert_array_equal(xor["targets"], [0, 1, 1, 0])
    assert samples.xor("regression")["targets"].shape == (4, 1)
    text = samples.text(sequence_length=16, stride=8)
    vocab = text.vocabulary
    first = "".join(vocab[int(i)] for i in text["inputs"][0])
    assert text.meta["text"].startswith(first) and len(text.meta["text"]) > 2000
