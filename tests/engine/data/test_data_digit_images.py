"""``samples.write_digit_images``: the README's prediction inputs, made from the bundled digits."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data import samples
from engine.predict.files import read_file


def test_written_digits_read_back_as_the_network_sees_them(tmp_path):
    written = samples.write_digit_images([0, 5, 42], tmp_path / "out")
    assert [p.name for p in written] == ["digit0.png", "digit5.png", "digit42.png"]
    inputs = np.asarray(samples.digits()["inputs"])
    for path, i in zip(written, (0, 5, 42)):
        pixels = read_file(path, (64,))[0]  # as `sigma predict` reads an image for a 64-input network
        np.testing.assert_allclose(pixels, inputs[i], atol=1 / 255)


def test_a_sample_that_does_not_exist_is_named(tmp_path):
    with pytest.raises(IndexError, match="digits sample 1797 does not exist"):
        samples.write_digit_images([3, 1797], tmp_path / "none")
    assert not (tmp_path / "none").exists()  # nothing written when one number is wrong


def test_an_existing_file_is_never_replaced(tmp_path):
    (tmp_path / "digit5.png").write_bytes(b"mine")
    with pytest.raises(FileExistsError, match="digit5.png already exists"):
        samples.write_digit_images([0, 5], tmp_path)
    assert (tmp_path / "digit5.png").read_bytes() == b"mine" and not (tmp_path / "digit0.png").exists()
