"""File makers for the data pipeline tests: every test writes real files into ``tmp_path``."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

IDX_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(">i2"): 0x0B,
    np.dtype(">i4"): 0x0C,
    np.dtype(">f4"): 0x0D,
    np.dtype(">f8"): 0x0E,
}


def write_image(path: Path, pixels: np.ndarray, fmt: str | None = None) -> Path:
    """Save uint8 pixels ``(H, W)`` or ``(H, W, 3)`` as an image file (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path, fmt)
    return path


def pattern(seed: int, size=(8, 8), rgb=False) -> np.ndarray:
    """Deterministic uint8 test pixels."""
    rng = np.random.default_rng(seed)
    shape = (*size, 3) if rgb else size
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> Path:
    """Write an IDX file (MNIST format), gzipped by default."""
    array = np.asarray(array)
    big = array.astype(array.dtype.newbyteorder(">")) if array.dtype.itemsize > 1 else array
    header = bytes([0, 0, IDX_CODES[np.dtype(big.dtype)], array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    data = header + big.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


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
