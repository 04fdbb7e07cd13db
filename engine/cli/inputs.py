"""Reading the files given to ``sigma predict`` into batches of the network's input shape.

Each file gives one or more samples:

- an image (png, jpg, bmp, gif, tif, webp): one sample, read as the data pipeline reads images (floats
  in [0, 1]), resized to the input's height and width and laid out as the input wants it: (C, H, W)
  channels first, (H, W, C), (H, W), or flat (H*W*C in (H, W, C) order) for a flat input whose size is
  a square (grayscale) or three times a square (RGB);
- a CSV/TSV file: one sample per row, numbers only (a first row that is not numbers is a header);
- a ``.npy`` array: one sample of the input's shape (or its size), or several along the first axis.

Every problem raises :class:`~engine.cli.errors.BadInput` naming the file (and row).
"""

from __future__ import annotations

import csv
import math
import os

import numpy as np

from engine.cli.errors import BadInput

__all__ = ["read_samples", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_TABLE_SUFFIXES = (".csv", ".tsv", ".txt")


def read_samples(files, input_shape, integer: bool = False):
    """Read samples for a network input of per-sample shape ``input_shape``.

    Parameters
    ----------
    files : sequence of str or os.PathLike
    input_shape : tuple of int
    integer : bool
        The input takes indices (an Embedding input): values are checked to be whole numbers.

    Returns
    -------
    inputs : ndarray, shape (N, *input_shape), float32 (int64 when ``integer``)
    origins : list of (str, int)
        The file and the 1-based row (sample) number of each sample.
    """
    shape = tuple(int(d) for d in input_shape)
    chunks, origins = [], []
    for file in files:
        path = os.fspath(file)
        if not os.path.exists(path):
            raise BadInput(f"{path}: file not found")
        if os.path.isdir(path):
            raise BadInput(f"{path}: is a folder; give the files in it")
        lower = path.lower()
        if lower.endswith(IMAGE_SUFFIXES):
            batch = _image(path, shape)
        elif lower.endswith(".npy"):
            batch = _npy(path, shape)
        elif lower.endswith(_TABLE_SUFFIXES):
            batch = _table(path, shape)
        else:
            ext = os.path.splitext(path)[1] or "(no extension)"
            raise BadInput(f"{path}: cannot predict from a {ext} file; give images, .csv rows or .npy arrays")
        if not np.all(np.isfinite(batch)):
            raise BadInput(f"{path}: contains NaN or infinite values")
        if integer:
            if np.any(batch != np.round(batch)) or np.any(batch < 0):
                raise BadInput(f"{path}: this network takes indices (whole numbers >= 0)")
            batch = batch.astype(np.int64)
        chunks.append(batch)
        origins += [(path, i + 1) for i in range(len(batch))]
    dtype = np.int64 if integer else np.float32
    return (np.concatenate(chunks) if chunks else np.zeros((0, *shape), dtype)), origins


def _fit(path, array: np.ndarray, shape: tuple) -> np.ndarray:
    """``array`` as a batch (N, *shape): one sample of the shape or size, or several along axis 0."""
    size = math.prod(shape)
    if array.shape == shape or (array.ndim <= 1 and array.size == size):
        return array.reshape(1, *shape)
    if array.ndim >= 1 and array.shape[1:] == shape:
        return array
    if array.ndim >= 2 and math.prod(array.shape[1:]) == size:
        return array.reshape(len(array), *shape)
    raise BadInput(
        f"{path}: holds an array of shape {array.shape}; the network takes samples of shape {shape} "
        f"({size} values each)"
    )


def _npy(path, shape):
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:  # object arrays need pickle, which we never load
        raise BadInput(f"{path}: not a plain numeric .npy array ({exc})") from None
    except (OSError, EOFError) as exc:
        raise BadInput(f"{path}: not a readable .npy file ({exc})") from None
    if array.dtype.kind not in "biuf":
        raise BadInput(f"{path}: holds {array.dtype} values; numbers are needed")
    return _fit(path, array.astype(np.float32), shape)


def _table(path, shape):
    size = math.prod(shape)
    rows = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            sample = fh.read(4096)
            fh.seek(0)
            delimiter = (
                "\t" if path.lower().endswith(".tsv") or ("\t" in sample and "," not in sample) else ","
            )
            for line, row in enumerate(csv.reader(fh, delimiter=delimiter), start=1):
                cells = [c.strip() for c in row]
                if not cells or all(c == "" for c in cells):
                    continue
                try:
                    values = [float(c) for c in cells]
                except ValueError:
                    if line == 1:
                        continue  # a header
                    bad = next(c for c in cells if not _is_number(c))
                    raise BadInput(f"{path}, row {line}: {bad!r} is not a number") from None
                if len(values) != size:
                    raise BadInput(
                        f"{path}, row {line}: {len(values)} values; the network takes {size} per "
                        f"sample (shape {shape})"
                    )
                rows.append(values)
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not a text (CSV) file") from None
    if not rows:
        raise BadInput(f"{path}: no rows of numbers")
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), *shape)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _image_layout(shape):
    """(color, (H, W), layout) for an input shape that takes images, or None."""
    if len(shape) == 3 and shape[0] in (1, 3):
        return ("grayscale" if shape[0] == 1 else "rgb"), shape[1:], "chw"
    if len(shape) == 3 and shape[2] in (1, 3):
        return ("grayscale" if shape[2] == 1 else "rgb"), shape[:2], "hwc"
    if len(shape) == 2:
        return "grayscale", shape, "hw"
    if len(shape) == 1:
        n = shape[0]
        side = math.isqrt(n)
        if side * side == n:
            return "grayscale", (side, side), "flat"
        side = math.isqrt(n // 3)
        if n % 3 == 0 and side * side * 3 == n:
            return "rgb", (side, side), "flat"
    return None


def _image(path, shape):
    layout = _image_layout(shape)
    if layout is None:
        raise BadInput(f"{path}: the network takes samples of shape {shape}, which are not images")
    color, size, order = layout
    from engine.data.errors import DataImportError
    from engine.data.readers.images import decode_image

    try:
        pixels, _ = decode_image(path, color=color, size=tuple(size))
    except DataImportError as exc:
        raise BadInput(str(exc)) from None
    if order == "chw":
        pixels = pixels.transpose(2, 0, 1)
    elif order == "hw":
        pixels = pixels[..., 0]
    return np.ascontiguousarray(pixels, dtype=np.float32).reshape(1, *shape)
