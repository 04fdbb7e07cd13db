"""Predictions on files: what ``sigma predict`` and the studio's Training > Predict on files… share.

Reading
-------
Each file gives one or more samples for a network input of per-sample shape ``S``:

- an image (png, jpg, bmp, gif, tif, webp): one sample, read as the data pipeline reads images (floats
  in [0, 1]), resized to the input's height and width and laid out as the input wants it: (C, H, W)
  channels first, (H, W, C), (H, W), or flat (H*W*C in (H, W, C) order) for a flat input whose size is
  a square (grayscale) or three times a square (RGB);
- a CSV/TSV file: one sample per row, numbers only (a first row that is not numbers is a header);
- a ``.npy`` array: one sample of shape ``S`` (or of its size), or several along the first axis.

Every problem with a file raises :class:`PredictInputError` naming the file (and the row).
:func:`read_samples` stops at the first bad file (the CLI's contract: nothing is written then);
:func:`read_files` skips bad files and returns their errors, so the good ones still predict.

Predicting
----------
:func:`predict` runs the network in inference mode and applies the loss head's prediction (softmax,
sigmoid), giving one row of values per sample; :func:`predictions` wraps them with where each sample
came from as a :class:`Predictions` table (CSV columns ``file, sample, class, probability, p_<class>…``
for classifiers, ``file, sample, output_0…`` otherwise) that :func:`write_csv` writes atomically.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import sys
from pathlib import Path

import numpy as np

__all__ = [
    "IMAGE_SUFFIXES",
    "TABLE_SUFFIXES",
    "PredictInputError",
    "network_input",
    "read_file",
    "read_samples",
    "read_files",
    "predict",
    "predictions",
    "Predictions",
    "write_csv",
    "load_network",
    "DEFAULT_BATCH_SIZE",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
DEFAULT_BATCH_SIZE = 256


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


# ---------------------------------------------------------------------------------------------- network
def load_network(path):
    """The trained network stored in a checkpoint (spec, parameters and buffers), on the CPU.

    Returns
    -------
    (Network, dict)
        The network and the checkpoint's meta (counters, history, ...).

    Raises
    ------
    engine.checkpoint.CheckpointError
        The file is missing or not a readable checkpoint.
    PredictInputError
        The stored network cannot be rebuilt.
    """
    from engine import checkpoint
    from engine.network import Network

    content = checkpoint.load(path)
    try:
        net = Network.from_spec(content["spec"])
        net.load_parameters(content["parameters"])
        if content["buffers"]:
            net.load_buffers(content["buffers"])
    except ValueError as exc:  # NetworkError / LayerError: the stored network does not build
        raise PredictInputError(
            f"{path}: the stored network cannot be rebuilt ({exc})", os.fspath(path)
        ) from None
    return net, content["meta"]


def network_input(network) -> tuple[str, tuple, bool]:
    """``(name, per-sample shape, integer)`` of a one-input network's input.

    Raises
    ------
    PredictInputError
        For a network with several inputs (predicting from files handles one).
    """
    if len(network.input_names) != 1:
        raise PredictInputError(
            f"the network takes {len(network.input_names)} inputs; predicting from files handles "
            "one-input networks"
        )
    name = network.input_names[0]
    integer = getattr(network.layers[name], "dtype", "float") == "int"
    return name, tuple(int(d) for d in network.input_shapes[name]), integer


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
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:  # object arrays need pickle, which we never load
        raise PredictInputError(f"{path}: not a plain numeric .npy array ({exc})", path) from None
    except (OSError, EOFError) as exc:
        raise PredictInputError(f"{path}: not a readable .npy file ({exc})", path) from None
    if array.dtype.kind not in "biuf":
        raise PredictInputError(f"{path}: holds {array.dtype} values; numbers are needed", path)
    return _fit(path, array.astype(np.float32), shape)


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


# ---------------------------------------------------------------------------------------------- predicting
def predict(network, inputs, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """The network's predictions for ``inputs``, after its loss head's prediction.

    Parameters
    ----------
    network : engine.network.Network
        One input; with several outputs, the loss head's (or the first) is used.
    inputs : ndarray, shape (N, *input_shape)
    batch_size : int
        Samples per forward pass (memory bound only: the values do not depend on it beyond rounding).

    Returns
    -------
    ndarray, shape (N, K), on the host
        Probabilities for a ``softmax_cross_entropy`` (K classes) or ``binary_cross_entropy`` head,
        raw outputs (flattened per sample) otherwise.
    """
    from engine.autodiff import no_grad

    head = network.loss_head
    outputs = []
    with no_grad():
        for start in range(0, len(inputs), int(batch_size)):
            out = network(inputs[start : start + int(batch_size)], training=False)
            if isinstance(out, dict):
                out = out[head.name] if head is not None and head.name in out else next(iter(out.values()))
            if head is not None:
                out = head.predict(out)
            outputs.append(np.asarray(network.backend.to_host(out.data)))
    if not outputs:
        return np.zeros((0, 0), np.float32)
    return np.concatenate(outputs).reshape(len(inputs), -1)


@dataclasses.dataclass
class Predictions:
    """A table of predictions, one row per sample.

    Attributes
    ----------
    origins : list of (str, int)
        File and 1-based sample number within it.
    values : ndarray, shape (N, K)
        What :func:`predict` returned.
    classifier : bool
        A ``softmax_cross_entropy`` network: the rows carry the best class and its probability.
    class_names : list of str
        K names (given classes when there are K of them, else ``"0"``, ``"1"``, ...); empty for
        non-classifiers.
    """

    origins: list
    values: np.ndarray
    classifier: bool
    class_names: list

    def __len__(self) -> int:
        return len(self.origins)

    @property
    def header(self) -> list[str]:
        """The CSV header: ``file, sample, class, probability, p_<class>…`` or ``file, sample, output_i…``."""
        if self.classifier:
            return ["file", "sample", "class", "probability", *[f"p_{n}" for n in self.class_names]]
        width = self.values.shape[1] if self.values.ndim == 2 else 0
        return ["file", "sample", *[f"output_{i}" for i in range(width)]]

    def best(self, i: int) -> tuple[str, float]:
        """The class name and probability of sample ``i`` (classifiers only)."""
        k = int(np.argmax(self.values[i]))
        return self.class_names[k], float(self.values[i][k])

    def rows(self):
        """The CSV rows as lists of cells (strings; values with 6 significant digits)."""
        for i, ((file, sample), v) in enumerate(zip(self.origins, self.values)):
            cells = [f"{x:.6g}" for x in v]
            if self.classifier:
                name, p = self.best(i)
                cells = [name, f"{p:.6g}", *cells]
            yield [file, str(sample), *cells]


def predictions(network, inputs, origins, classes=None, batch_size: int = DEFAULT_BATCH_SIZE) -> Predictions:
    """Run :func:`predict` and label the rows.

    Parameters
    ----------
    network : Network
    inputs : ndarray, shape (N, *input_shape)
    origins : list of (str, int), length N
    classes : sequence of str, optional
        Class names, used when there is one per output of a classifier.
    """
    values = predict(network, inputs, batch_size)
    head = network.loss_head
    classifier = head is not None and head.type_name == "softmax_cross_entropy"
    width = values.shape[1] if values.ndim == 2 else 0
    names = []
    if classifier:
        given = [str(c) for c in classes] if classes is not None else []
        names = given if len(given) == width else [str(i) for i in range(width)]
    return Predictions(list(origins), values, classifier, names)


def write_csv(table: Predictions, path=None) -> None:
    """Write ``table`` as CSV to ``path`` (stdout when None).

    The file is written under a temporary name and renamed when complete: a failure never leaves a
    half-written CSV in place of the user's previous one.
    """
    tmp = Path(path).with_name(f".{Path(path).name}.tmp-{os.getpid()}") if path else None
    out = open(tmp, "w", newline="", encoding="utf-8") if tmp else sys.stdout  # noqa: SIM115
    try:
        writer = csv.writer(out)
        writer.writerow(table.header)
        writer.writerows(table.rows())
        if tmp:
            out.close()
            os.replace(tmp, path)
    finally:
        if tmp:
            out.close()
            tmp.unlink(missing_ok=True)
