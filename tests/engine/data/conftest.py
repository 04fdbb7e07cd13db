"""Fixtures for the data pipeline tests: every test writes real files into ``tmp_path``."""

from __future__ import annotations

import pytest
from datafiles import pattern, write_image


@pytest.fixture
def class_folder(tmp_path):
    """``root/{cat,dog,fish}/NN.png``: 4, 3 and 2 grayscale 8x8 PNGs; returns ``(root, pixels)``."""
    root = tmp_path / "pets"
    pixels = {}
    for c, (name, count) in enumerate([("cat", 4), ("dog", 3), ("fish", 2)]):
        for i in range(count):
            arr = pattern(10 * c + i)
            write_image(root / name / f"{i:02d}.png", arr)
            pixels[(name, i)] = arr
    return root, pixels


@pytest.fixture
def no_leaked_threads():
    """Fail the test if it leaves a prefetch thread running."""
    import threading

    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.name.startswith("sigma-prefetch")]
    assert not leaked, f"leaked threads: {leaked}"
