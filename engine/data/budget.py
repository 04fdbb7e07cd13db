"""Budgets an import is checked against before anything is allocated.

Every size an importer acts on comes from the file (a header, a declared shape, an archive's table of
contents), and every file is untrusted. These checks turn such a size into a clear
:class:`~engine.data.errors.DataImportError` *before* the reader allocates memory, writes cache or
decompresses: the memory budget plus the disk-cache budget bound what a dataset may take, a pixel
budget bounds one image, and an expansion limit refuses small files that claim huge contents
(decompression bombs, HDF5 datasets declared but never written).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile

import numpy as np

from engine.data.errors import DataImportError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MAX_EXPANSION",
    "default_disk_budget",
    "human_bytes",
    "check_regular_file",
    "check_declared",
    "check_expansion",
    "pixel_budget",
]

#: Pixels one image may declare (about 64 megapixels: a 12 000 x 5 300 panorama still loads). Pillow's
#: own limit warns first and only refuses at twice its default, after the header pass has passed.
DEFAULT_MAX_PIXELS = 64 << 20

#: How many times larger than the bytes stored a compressed or sparse array may declare itself. Real
#: data (images, labels, tables) compresses 2-20 fold, zeros compress about 1000 fold.
MAX_EXPANSION = 200

# Below this many declared bytes the expansion ratio is not checked: a small file of zeros is harmless.
_EXPANSION_FLOOR = 64 << 20


def human_bytes(n: int) -> str:
    """A byte count with a binary unit: ``1536 -> '1.5 KiB'``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"  # pragma: no cover - loop always returns


def default_disk_budget(cache_dir=None) -> int:
    """Bytes the cache files of one import may take: half the cache folder's free space, at most 64 GiB."""
    folder = os.fspath(cache_dir) if cache_dir else tempfile.gettempdir()
    while folder and not os.path.isdir(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    try:
        free = shutil.disk_usage(folder or ".").free
    except OSError:
        free = 0
    return int(min(free // 2, 64 << 30))


def check_regular_file(path) -> int:
    """Return the size of ``path``, a regular file; refuse devices, FIFOs, sockets and folders.

    Uses ``stat`` only: a FIFO or ``/dev/zero`` is refused without being opened (opening a FIFO blocks,
    reading ``/dev/zero`` never ends).
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        raise  # the caller words missing/permission errors
    if stat.S_ISDIR(mode):
        raise DataImportError("expected a file, found a folder", path)
    if not stat.S_ISREG(mode):
        kind = (
            "a named pipe (FIFO)"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise DataImportError(f"is {kind}, not a data file; refusing to read it", path)
    return os.stat(path).st_size


def declared_bytes(shape, itemsize: int) -> int:
    """Bytes of an array of ``shape`` with ``itemsize``-byte items, as an exact Python int (no overflow)."""
    total = int(itemsize)
    for s in shape:
        total *= int(s)
    return total


def check_declared(shape, itemsize: int, path, what: str, memory_budget: int, disk_budget: int | None) -> int:
    """Refuse a declared array whose converted size would exceed the memory plus disk-cache budgets.

    Parameters
    ----------
    shape : tuple of int
        The declared shape (records first).
    itemsize : int
        Bytes per item of what the import makes of it (4 for float32 records).
    path : str
        The file, for the error.
    what : str
        Words for the array ("array 'x'", "dataset '/images'").
    memory_budget, disk_budget : int
        Bytes the dataset may take in RAM and in the cache folder; ``disk_budget=None`` means RAM only.

    Returns
    -------
    int
        The declared size in bytes.
    """
    if any(int(s) < 0 for s in shape):
        raise DataImportError(f"{what} declares a negative size {tuple(shape)}", path)
    size = declared_bytes(shape, itemsize)
    limit = int(memory_budget) + int(disk_budget or 0)
    if size > limit:
        where = "memory and disk-cache budgets" if disk_budget else "memory budget"
        raise DataImportError(
            f"{what} declares shape {tuple(int(s) for s in shape)}, which would take {human_bytes(size)}: "
            f"more than the {where} ({human_bytes(limit)})",
            path,
        )
    return size


def check_expansion(declared: int, stored: int, path, what: str) -> None:
    """Refuse a file whose declared contents are more than :data:`MAX_EXPANSION` times what it stores."""
    if declared > _EXPANSION_FLOOR and declared > MAX_EXPANSION * max(int(stored), 1):
        raise DataImportError(
            f"{what} declares {human_bytes(declared)} but the file stores only {human_bytes(stored)} "
            f"(over {MAX_EXPANSION}x expansion): damaged, never written, or a decompression bomb",
            path,
        )


def pixel_budget(memory_budget: int) -> int:
    """Pixels one image may have: :data:`DEFAULT_MAX_PIXELS`, less when the memory budget is small.

    A decoded image takes about 16 bytes per pixel at its peak (Pillow's RGB copy, then float32 RGB).
    """
    return int(max(1 << 16, min(DEFAULT_MAX_PIXELS, int(memory_budget) // 16)))


def itemsize_of(dtype) -> int:
    """Item size of a numpy dtype (for the messages above)."""
    return int(np.dtype(dtype).itemsize)
