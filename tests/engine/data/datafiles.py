"""File makers for the data pipeline tests (a uniquely named module, so no other conftest shadows it)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
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
