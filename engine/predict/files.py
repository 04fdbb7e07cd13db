"""Reading prediction files (images, CSV/TSV rows, ``.npy`` arrays) into a network input's samples.

See :mod:`engine.predict` for what each kind of file gives.
"""

from __future__ import annotations

import csv
import math
import os

import numpy as np

__all__ = ["IMAGE_SUFFIXES", "TABLE_SUFFIXES", "PredictInputError", "read_file", "read_samples", "read_files"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt")


class PredictInputError(ValueError):
    """A prediction file (or network) that cannot be used; the message names the file and row.

    Attributes
    ----------
    file : str or None
    row : int or None
        1-based line of a CSV file, when the problem is in one row.
    """

    def __init__(self, message: str, file: str | None = None, row: int | None = None):
        super().__init__(message)
        self.file, self.row = file, row


# ---------------------------------------------------------------------------------------------- reading
def read_file(path, input_shape, integer: bool = False) -> np.ndarray:
    """The samples in one file for an input of per-sample shape ``input_shape``.

    Returns
    -------
    ndarray, shape (N, *input_shape), float32 (int64 when ``integer``: an Embedding input)

    Raises
    ------
    PredictInputError
        Naming the file (and row): missing, unreadable, wrong size, not numbers, NaN, ...
    """
    shape = tuple(int(d) for d in input_shape)
    path = os.fspath(path)
    if not os.path.exists(path):
        raise PredictInputError(f"{path}: file not found", path)
    if os.path.isdir(path):
        raise PredictInputError(f"{path}: is a folder; give the files in it", path)
    from engine.data.budget import check_regular_file
    from engine.data.errors import DataImportError

    try:
        check_regular_file(path)  # a device or FIFO is refused without being opened
    except DataImportError as exc:
        raise PredictInputError(f"{path}: {exc.reason}", path) from None
    except OSError as exc:
        raise PredictInputError(f"{path}: {exc.strerror or exc}", path) from None
    lower = path.lower()
    if lower.endswith(IMAGE_SUFFIXES):
        batch = _image(path, shape)
    elif lower.endswith(".npy"):
        batch = _npy(path, shape)
    elif lower.endswith(TABLE_SUFFIXES):
        batch = _table(path, shape)
    else:
        ext = os.path.splitext(path)[1] or "(no extension)"
        raise PredictInputError(
            f"{path}: cannot predict from a {ext} file; give images, .csv rows or .npy arrays", path
        )
    if not np.all(np.isfinite(batch)):
        raise PredictInputError(f"{path}: contains NaN or infinite values", path)
    if integer:
        if np.any(batch != np.round(batch)) or np.any(batch < 0):
            raise PredictInputError(f"{path}: this network takes indices (whole numbers >= 0)", path)
        batch = batch.astype(np.int64)
    return batch


def read_samples(files, input_shape, integer: bool = False):
    """Read every file; the first bad one raises (nothing is predicted then).

    Returns
    -------
    inputs : ndarray, shape (N, *input_shape), float32 (int64 when ``integer``)
    origins : list of (str, int)
        The file (as given) and the 1-based sample number within it, one per sample.
    """
    inputs, origins, _problems = _read(files, input_shape, integer, stop_at_first=True)
    return inputs, origins


def read_files(files, input_shape, integer: bool = False):
    """Read every file that can be read; bad files are skipped, not fatal.

    Returns
    -------
    inputs, origins
        As :func:`read_samples`, for the good files only.
    problems : list of PredictInputError
        One per skipped file, in the order given.
    """
    return _read(files, input_shape, integer, stop_at_first=False)


def _read(files, input_shape, integer, stop_at_first):
    shape = tuple(int(d) for d in input_shape)
    chunks, origins, problems = [], [], []
    for file in files:
        path = os.fspath(file)
        try:
            batch = read_file(path, shape, integer)
        except PredictInputError as exc:
            if stop_at_first:
                raise
            problems.append(exc)
            continue
        chunks.append(batch)
        origins += [(path, i + 1) for i in range(len(batch))]
    dtype = np.int64 if integer else np.float32
    inputs = np.concatenate(chunks) if chunks else np.zeros((0, *shape), dtype)
    return inputs, origins, problems


def _fit(path, array: np.ndarray, shape: tuple) -> np.ndarray:
    """``array`` as a batch (N, *shape): one sample of the shape or size, or several along axis 0."""
    size = math.prod(shape)
    if array.shape == shape or (array.ndim <= 1 and array.size == size):
        return array.reshape(1, *shape)
    if array.ndim >= 1 and array.shape[1:] == shape:
        return array
    if array.ndim >= 2 and math.prod(array.shape[1:]) == size:
        return array.reshape(len(array), *shape)
    raise PredictInputError(
        f"{path}: holds an array of shape {array.shape}; the network takes samples of shape {shape} "
        f"({size} values each)",
        path,
    )


def _npy(path, shape):
    from engine.data.budget import check_declared
    from engine.data.errors import DataImportError
    from engine.data.readers.arrays import load_npy
    from engine.data.storage import default_memory_budget

    # The data pipeline's reader checks the header (shape, dtype, truncation) before mapping the file,
    # and the declared size is checked against the memory budget before anything is read.
    try:
        array = load_npy(path)
        check_declared(array.shape, 4, path, "the array", default_memory_budget(), None)
    except DataImportError as exc:
        raise PredictInputError(f"{path}: {exc.reason}", path) from None
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float32 becomes inf, refused later
        return _fit(path, np.asarray(array, dtype=np.float32), shape)


def _table(path, shape):
    size = math.prod(shape)
    rows = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            sample = fh.read(4096)
            fh.seek(0)
            tabs = path.lower().endswith(".tsv") or ("\t" in sample and "," not in sample)
            for line, row in enumerate(csv.reader(fh, delimiter="\t" if tabs else ","), start=1):
                cells = [c.strip() for c in row]
                if not cells or all(c == "" for c in cells):
                    continue
                try:
                    values = [float(c) for c in cells]
                except ValueError:
                    if line == 1:
                        continue  # a header
                    bad = next(c for c in cells if not _is_number(c))
                    raise PredictInputError(
                        f"{path}, row {line}: {bad!r} is not a number", path, line
                    ) from None
                if len(values) != size:
                    raise PredictInputError(
                        f"{path}, row {line}: {len(values)} values; the network takes {size} per "
                        f"sample (shape {shape})",
                        path,
                        line,
                    )
                rows.append(values)
    except UnicodeDecodeError:
        raise PredictInputError(f"{path}: not a text (CSV) file", path) from None
    except csv.Error as exc:
        raise PredictInputError(f"{path}: malformed CSV ({exc})", path) from None
    except OSError as exc:
        raise PredictInputError(f"{path}: {exc.strerror or exc}", path) from None
    if not rows:
        raise PredictInputError(f"{path}: no rows of numbers", path)
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
        raise PredictInputError(
            f"{path}: the network takes samples of shape {shape}, which are not images", path
        )
    color, size, order = layout
    from engine.data.errors import DataImportError
    from engine.data.readers.images import decode_image

    try:
        pixels, _ = decode_image(path, color=color, size=tuple(size))
    except DataImportError as exc:
        raise PredictInputError(str(exc), path) from None
    if order == "chw":
        pixels = pixels.transpose(2, 0, 1)
    elif order == "hw":
        pixels = pixels[..., 0]
    return np.ascontiguousarray(pixels, dtype=np.float32).reshape(1, *shape)
