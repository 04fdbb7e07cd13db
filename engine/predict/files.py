"""Reading prediction files (images, CSV/TSV rows, ``.npy`` arrays) into a network input's samples.

See :mod:`engine.predict` for what each kind of file gives.
"""

from __future__ import annotations

import csv
import math
import os

import numpy as np

__all__ = [
    "IMAGE_SUFFIXES",
    "TABLE_SUFFIXES",
    "PredictInputError",
    "input_summary",
    "read_file",
    "read_samples",
    "read_files",
]

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


_SUMMARY_SAMPLES = 4096  # records looked at for the training data's value range
_SUMMARY_BLOCK = 256  # records read at a time


def input_summary(inputs) -> dict:
    """What prediction files are compared with: ``{"shape": [...], "min": float, "max": float}`` of the
    training inputs (per-sample shape; the range over the first 4,096 samples, so a large dataset on
    disk is not read whole). Stored in checkpoints (``meta["input_summary"]``)."""
    count = min(len(inputs), _SUMMARY_SAMPLES)
    # In blocks and in the data's own dtype (a float32 or integer minimum is exactly the float64 one):
    # a float64 copy of 4,096 samples at once was the largest allocation of a run's start (52 MB for
    # W3's sequences, more than the whole dataset; issue 22's memory limit).
    shape, lo, hi, finite = None, [], [], True
    for start in range(0, max(count, 1), _SUMMARY_BLOCK):
        block = np.asarray(inputs[np.arange(start, min(start + _SUMMARY_BLOCK, count))])
        if block.dtype.kind not in "biuf":
            block = block.astype(np.float64)  # what cannot be read as numbers fails here, as before
        shape = [int(d) for d in block.shape[1:]]
        if block.size:
            finite = finite and bool(np.all(np.isfinite(block)))
            lo.append(float(block.min()))
            hi.append(float(block.max()))
    if not lo or not finite:
        return {"shape": shape}
    return {"shape": shape, "min": min(lo), "max": max(hi)}


def _range(summary) -> tuple[float, float] | None:
    if not isinstance(summary, dict):
        return None
    lo, hi = summary.get("min"), summary.get("max")
    if not isinstance(lo, int | float) or not isinstance(hi, int | float) or not lo <= hi:
        return None
    return float(lo), float(hi)


def _g(value: float) -> str:
    return f"{value:.4g}"


def _range_note(path, batch: np.ndarray, summary) -> str | None:
    """A warning when the values lie well outside the training data's range (nothing converted)."""
    known = _range(summary)
    if known is None or batch.size == 0:
        return None
    lo, hi = known
    margin = 0.1 * max(hi - lo, 1e-12)
    low, high = float(batch.min()), float(batch.max())
    if low >= lo - margin and high <= hi + margin:
        return None
    return (
        f"{path}: values {_g(low)} to {_g(high)}, but the training data's are {_g(lo)} to {_g(hi)}; nothing "
        "was converted, so the predictions may mean little (scale the file as the training data was)"
    )


# ---------------------------------------------------------------------------------------------- reading
def read_file(path, input_shape, integer: bool = False, summary=None, notes=None) -> np.ndarray:
    """The samples in one file for an input of per-sample shape ``input_shape``.

    ``summary`` (:func:`input_summary` of the training inputs, from the checkpoint) lets an image's
    pixels be scaled to the training data's range; every conversion applied (resized, made grey,
    values scaled, reshaped) and every value range far from the training data's is appended to
    ``notes`` (a list) as one sentence naming the file, e.g. ``"photo.jpg: 640x480 RGB -> resized to 8x8
    grey"``.

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
    said: list[str] = []
    if lower.endswith(IMAGE_SUFFIXES):
        batch = _image(path, shape, summary, said)
    elif lower.endswith(".npy"):
        batch = _npy(path, shape, said)
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
    elif not lower.endswith(IMAGE_SUFFIXES):  # an image's range is converted, not warned about
        warning = _range_note(path, batch, summary)
        if warning:
            said.append(warning)
    if notes is not None:
        notes.extend(said)
    return batch


def read_samples(files, input_shape, integer: bool = False, summary=None, notes=None):
    """Read every file; the first bad one raises (nothing is predicted then). ``summary`` and ``notes``
    as for :func:`read_file`.

    Returns
    -------
    inputs : ndarray, shape (N, *input_shape), float32 (int64 when ``integer``)
    origins : list of (str, int)
        The file (as given) and the 1-based sample number within it, one per sample.
    """
    inputs, origins, _problems = _read(files, input_shape, integer, True, summary, notes)
    return inputs, origins


def read_files(files, input_shape, integer: bool = False, summary=None, notes=None):
    """Read every file that can be read; bad files are skipped, not fatal. ``summary`` and ``notes``
    as for :func:`read_file`.

    Returns
    -------
    inputs, origins
        As :func:`read_samples`, for the good files only.
    problems : list of PredictInputError
        One per skipped file, in the order given.
    """
    return _read(files, input_shape, integer, False, summary, notes)


def _read(files, input_shape, integer, stop_at_first, summary=None, notes=None):
    shape = tuple(int(d) for d in input_shape)
    chunks, origins, problems = [], [], []
    for file in files:
        path = os.fspath(file)
        try:
            batch = read_file(path, shape, integer, summary, notes)
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


def _fit(path, array: np.ndarray, shape: tuple, notes=None) -> np.ndarray:
    """``array`` as a batch (N, *shape): one sample of the shape or size, or several along axis 0."""
    size = math.prod(shape)
    if array.shape == shape:
        return array.reshape(1, *shape)
    if array.ndim >= 1 and array.shape[1:] == shape:
        return array
    said = notes if notes is not None else []
    if array.ndim <= 1 and array.size == size:
        said.append(f"{path}: an array of shape {array.shape} -> reshaped to one sample of shape {shape}")
        return array.reshape(1, *shape)
    if array.ndim >= 2 and math.prod(array.shape[1:]) == size:
        said.append(
            f"{path}: {len(array)} sample(s) of shape {array.shape[1:]} -> reshaped to {shape} like the "
            "training data"
        )
        return array.reshape(len(array), *shape)
    raise PredictInputError(
        f"{path}: holds an array of shape {array.shape}; the network takes samples of shape {shape} "
        f"({size} values each)",
        path,
    )


def _npy(path, shape, notes=None):
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
        return _fit(path, np.asarray(array, dtype=np.float32), shape, notes)


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


_MODES = {"L": "grey", "LA": "grey with alpha", "1": "black-and-white", "P": "palette", "RGB": "RGB"}
_MODES.update({"RGBA": "RGBA", "CMYK": "CMYK", "I;16": "16-bit grey", "I": "32-bit grey", "F": "float grey"})


def _mode_and_top(path) -> tuple[str, float]:
    """The image's colour mode in words and its largest pixel value (header only)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            mode = img.mode
    except Exception:  # it decoded a moment ago; a header that fails now just says less
        return "image", 255.0
    top = {"1": 1.0, "I;16": 65535.0, "I": 65535.0, "F": 1.0}.get(mode, 255.0)
    return _MODES.get(mode, mode), top


def _image(path, shape, summary=None, notes=None):
    layout = _image_layout(shape)
    if layout is None:
        raise PredictInputError(
            f"{path}: the network takes samples of shape {shape}, which are not images", path
        )
    color, size, order = layout
    from engine.data.errors import DataImportError
    from engine.data.readers.images import decode_image

    try:
        pixels, original = decode_image(path, color=color, size=tuple(size))
    except DataImportError as exc:
        raise PredictInputError(str(exc), path) from None
    if order == "chw":
        pixels = pixels.transpose(2, 0, 1)
    elif order == "hw":
        pixels = pixels[..., 0]
    pixels = np.ascontiguousarray(pixels, dtype=np.float32).reshape(1, *shape)
    mode, top = _mode_and_top(path)
    want = "grey" if color == "grayscale" else "RGB"
    changes = []
    resized = tuple(original) != tuple(size)
    if resized or mode != want:
        where = f"resized to {size[1]}x{size[0]}" if resized else "made"
        changes.append(f"{where} {want}" if mode != want else where)
    known = _range(summary)
    if known is not None and not (abs(known[0]) <= 0.05 and abs(known[1] - 1.0) <= 0.05):
        lo, hi = known  # the training images were not in [0, 1]: map the pixels onto their range
        pixels = (np.float32(lo) + pixels * np.float32(hi - lo)).astype(np.float32)
        changes.append(f"values scaled 0-{_g(top)} -> {_g(lo)}-{_g(hi)} like the training data")
    if changes and notes is not None:
        notes.append(f"{path}: {original[1]}x{original[0]} {mode} -> " + ", ".join(changes))
    return pixels
