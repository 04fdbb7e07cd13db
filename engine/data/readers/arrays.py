"""NumPy ``.npy``/``.npz`` files and HDF5 datasets.

Arrays are copied block by block into a :class:`~engine.data.storage.SectionBuilder`, so an array
larger than the memory budget goes to the cache without ever being whole in RAM (``.npy`` is memory
mapped, HDF5 read by slabs; ``.npz`` members are decompressed whole by numpy, a limit of the format).
"""

from __future__ import annotations

import os
import zipfile

import h5py
import numpy as np

from engine.data.dataset import Dataset
from engine.data.errors import DataImportError
from engine.data.readers.common import check_readable, class_index, natural_key, open_failure_reason
from engine.data.storage import SectionBuilder

__all__ = ["read_npy", "read_npz", "read_hdf5", "targets_kind"]

INPUT_NAMES = ("inputs", "x", "X", "data", "images", "features", "x_train")
TARGET_NAMES = ("targets", "y", "Y", "labels", "label", "target", "y_train")
_BLOCK_BYTES = 4 << 20


def targets_kind(array) -> str:
    """``"class"`` for 1-D integer (or bool/text) targets, else ``"regression"``."""
    kind = np.dtype(array.dtype).kind
    return "class" if len(array.shape) == 1 and kind in "iubUSO" else "regression"


def _pick(keys: list, wanted, defaults: tuple, what: str, path, required: bool):
    if wanted is not None:
        if wanted not in keys:
            raise DataImportError(f"{what} array {wanted!r} not found; the file holds {keys}", path)
        return wanted
    for name in defaults:
        if name in keys:
            return name
    if what == "inputs" and len(keys) == 1:
        return keys[0]
    if required:
        raise DataImportError(
            f"cannot tell which array holds the {what}; name it with {what}=... (arrays: {keys})", path
        )
    return None


def _collect(path, x, y, ctx, classes, memory_budget, cache_dir, kind: str) -> Dataset:
    """Copy ``x`` (and ``y``) into a dataset, block by block; ``x``/``y`` index like arrays."""
    n = x.shape[0]
    if y is not None and y.shape[0] != n:
        raise DataImportError(f"inputs have {n} records but targets have {y.shape[0]}", path)
    class_names, ids = None, None
    if y is not None and targets_kind(y) == "class":
        labels = np.asarray(y[:])
        labels = labels.astype(str) if labels.dtype.kind in "SO" else labels
        text = [v.decode() if isinstance(v, bytes) else str(v) for v in labels.tolist()]
        if classes is None:
            classes = sorted(set(text), key=natural_key)
        ids, class_names = class_index(text, classes, path, list(range(1, n + 1)), ctx)
    dtypes = {
        "inputs": np.float32,
        **({"targets": np.int64 if ids is not None else np.float32} if y is not None else {}),
    }
    builder = SectionBuilder(dtypes, memory_budget, cache_dir, expected_records=n)
    record_bytes = max(1, int(np.prod(x.shape[1:], dtype=np.int64)) * np.dtype(x.dtype).itemsize)
    step = max(1, _BLOCK_BYTES // record_bytes)
    try:
        for start in range(0, n, step):
            block = {"inputs": np.asarray(x[start : start + step], dtype=np.float32)}
            if ids is not None:
                part = ids[start : start + step]
                keep = part >= 0
                block = {"inputs": block["inputs"][keep], "targets": part[keep]}
            elif y is not None:
                block["targets"] = np.asarray(y[start : start + step], dtype=np.float32)
            if not np.all(np.isfinite(block["inputs"])):
                bad = start + int(
                    np.flatnonzero(~np.isfinite(block["inputs"].reshape(len(block["inputs"]), -1)).any(1))[0]
                )
                ctx.warn(f"inputs contain NaN or Inf (first at record {bad})", path)
            builder.append(block)
            ctx.tick(min(n, start + step), n, path)
    except BaseException:
        builder.abort()
        raise
    return Dataset(builder.finish(), class_names, ctx.report, {"kind": kind})


def read_npy(path, ctx, *, targets_path=None, classes=None, memory_budget: int, cache_dir=None) -> Dataset:
    """Read a ``.npy`` file as inputs (and optionally a second ``.npy`` as targets).

    Returns
    -------
    Dataset
        ``inputs`` float32 of the stored shape; ``targets`` int64 classes or float32 values.
    """
    x = _load_npy(path)
    y = _load_npy(targets_path) if targets_path is not None else None
    return _collect(path, x, y, ctx, classes, memory_budget, cache_dir, "npy")


def _load_npy(path):
    check_readable(path)
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except OSError as exc:
        raise DataImportError(open_failure_reason(exc), path) from exc
    except ValueError as exc:
        raise DataImportError(f"not a readable .npy file ({exc})", path) from exc
    if array.ndim == 0:
        raise DataImportError("array is a scalar; expected records along the first axis", path)
    return array


def read_npz(
    path, ctx, *, inputs=None, targets=None, classes=None, memory_budget: int, cache_dir=None
) -> Dataset:
    """Read a ``.npz`` archive; arrays chosen by ``inputs=``/``targets=`` or by common names (x, y...)."""
    check_readable(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = list(npz.files)
            xk = _pick(keys, inputs, INPUT_NAMES, "inputs", path, True)
            yk = (
                None
                if targets is False
                else _pick([k for k in keys if k != xk], targets, TARGET_NAMES, "targets", path, False)
            )
            x = npz[xk]
            y = npz[yk] if yk is not None else None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        reason = (
            open_failure_reason(exc)
            if isinstance(exc, FileNotFoundError)
            else f"not a readable .npz file ({exc})"
        )
        raise DataImportError(reason, path) from exc
    return _collect(path, x, y, ctx, classes, memory_budget, cache_dir, "npz")


def read_hdf5(
    path, ctx, *, inputs=None, targets=None, classes=None, memory_budget: int, cache_dir=None
) -> Dataset:
    """Read datasets from an HDF5 file; paths chosen by ``inputs=``/``targets=`` or common names."""
    check_readable(path)
    try:
        with h5py.File(path, "r") as f:
            keys = []
            f.visititems(lambda name, obj: keys.append(name) if isinstance(obj, h5py.Dataset) else None)
            xk = _pick(keys, inputs, INPUT_NAMES, "inputs", path, True)
            yk = (
                None
                if targets is False
                else _pick([k for k in keys if k != xk], targets, TARGET_NAMES, "targets", path, False)
            )
            return _collect(
                path, f[xk], f[yk] if yk else None, ctx, classes, memory_budget, cache_dir, "hdf5"
            )
    except OSError as exc:
        reason = (
            open_failure_reason(exc)
            if isinstance(exc, FileNotFoundError)
            else f"not a readable HDF5 file ({exc})"
        )
        raise DataImportError(reason, os.fspath(path)) from exc
