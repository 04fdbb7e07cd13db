"""HDF5 data files: datasets chosen by name, checked before they are read, copied by slabs.

Only plain datasets reached through hard links are used. Before a byte of data is read, each chosen
dataset is checked: a real shape (not ``h5py.Empty``, not a scalar), a numeric dtype (text allowed for
labels), no external storage or virtual layout (they read other files), its declared size against the
memory and disk-cache budgets, and its declared size against the bytes the file actually stores (a
dataset declared ``(10**11, 4)`` and never written is refused instead of read as zeros).
"""

from __future__ import annotations

import h5py

from engine.data.budget import check_expansion, declared_bytes
from engine.data.dataset import Dataset
from engine.data.errors import DataImportError
from engine.data.readers.arrays import check_array_kind, collect, pick_sections, unreadable
from engine.data.readers.common import check_readable

__all__ = ["read_hdf5", "MAX_OBJECTS"]

#: Objects visited at most while listing a file's datasets (a damaged or hostile file can hold millions).
MAX_OBJECTS = 10_000

# What h5py raises for damaged files, unsupported filters and odd types besides OSError.
_H5_ERRORS = (OSError, RuntimeError, ValueError, KeyError, TypeError, IndexError, OverflowError, SystemError)


def _datasets(f: h5py.File, path) -> list[str]:
    """Names of the datasets reachable through hard links, at most :data:`MAX_OBJECTS` visits."""
    names: list[str] = []
    visits = 0

    def visit(name, obj):
        nonlocal visits
        visits += 1
        if visits > MAX_OBJECTS:
            return True  # stops the walk
        if isinstance(obj, h5py.Dataset):
            names.append(name)
        return None

    if f.visititems(visit):
        raise DataImportError(f"the file holds more than {MAX_OBJECTS} objects; refusing to list them", path)
    return names


def _check_dataset(dset: h5py.Dataset, path, role: str) -> None:
    what = f"dataset {dset.name!r}"
    dtype = dset.dtype
    if dtype.kind == "O":
        if h5py.check_string_dtype(dtype) is None:
            raise DataImportError(f"{what} holds references or variable-length data, not numbers", path)
        if role != "targets":
            raise DataImportError(f"{what} holds text; only labels may be text", path)
        # Variable-length strings live in HDF5's global heap, and one flipped bit in a heap object's
        # size makes the HDF5 library loop forever while reading them (no Python-level timeout can
        # stop it). Fixed-length strings and integer labels are stored inline and read safely.
        raise DataImportError(
            f"{what} holds variable-length strings, which a damaged file can make the HDF5 library hang "
            "on; store the labels as integers or fixed-length strings (h5py: np.array(labels, dtype='S'))",
            path,
        )
    check_array_kind(dset.shape, dtype, path, what, targets=role == "targets")
    if dset.external:
        raise DataImportError(f"{what} stores its data in external files; refusing to read them", path)
    if dset.is_virtual:
        raise DataImportError(f"{what} is a virtual dataset that reads other files; refusing it", path)
    itemsize = 16 if dtype.kind == "O" else dtype.itemsize
    check_expansion(declared_bytes(dset.shape, itemsize), dset.id.get_storage_size(), path, what)


def read_hdf5(
    path,
    ctx,
    *,
    inputs=None,
    targets=None,
    classes=None,
    memory_budget: int,
    cache_dir=None,
    disk_budget=None,
) -> Dataset:
    """Read datasets from an HDF5 file; paths chosen by ``inputs=``/``targets=`` or common names.

    Returns
    -------
    Dataset
        ``inputs`` float32 of the stored record shape; ``targets`` int64 classes or float32 values.

    Raises
    ------
    DataImportError
        Naming the file and the dataset for anything damaged, unsupported or over budget.
    """
    check_readable(path)
    try:
        with h5py.File(path, "r") as f:
            keys = _datasets(f, path)
            if not keys:
                raise DataImportError("the HDF5 file holds no datasets", path)
            xk, yk = pick_sections(keys, inputs, targets, path)
            x = f[xk]
            _check_dataset(x, path, "inputs")
            y = f[yk] if yk else None
            if y is not None:
                _check_dataset(y, path, "targets")
            return collect(path, x, y, ctx, classes, memory_budget, cache_dir, "hdf5", disk_budget)
    except DataImportError:
        raise
    except _H5_ERRORS as exc:
        raise unreadable(exc, path, "HDF5") from exc
