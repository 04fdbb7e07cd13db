"""Helpers shared by the readers: file checks, label handling, natural sorting."""

from __future__ import annotations

import re

import numpy as np

from engine.data.budget import check_regular_file
from engine.data.errors import DataImportError

__all__ = ["natural_key", "check_readable", "class_index", "read_head", "open_failure_reason"]


def natural_key(text: str):
    """Sort key that orders ``"img2"`` before ``"img10"`` and ``"2"`` before ``"10"``."""
    # isdecimal, not isdigit: "₅" is a digit to isdigit but not to int() or to the split pattern.
    return [(0, int(t), "") if t.isdecimal() else (1, 0, t.lower()) for t in re.split(r"(\d+)", str(text))]


def open_failure_reason(exc: OSError) -> str:
    """Words for an OS error met while opening or reading a file."""
    if isinstance(exc, FileNotFoundError):
        return "file disappeared during import"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "expected a file, found a folder"
    return f"cannot read file ({exc.strerror or exc})"


def check_readable(path) -> int:
    """Return the size of ``path``; raise :class:`DataImportError` if it is missing, empty, unreadable,
    or not a regular file (a folder, device or FIFO is refused by ``stat`` alone, without opening it)."""
    try:
        size = check_regular_file(path)
    except OSError as exc:
        raise DataImportError(open_failure_reason(exc), path) from exc
    if size == 0:
        raise DataImportError("file is empty (0 bytes)", path)
    return size


def read_head(path, n: int = 16) -> bytes:
    """Return the first ``n`` bytes of a file (raising :class:`DataImportError` on failure)."""
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError as exc:
        raise DataImportError(open_failure_reason(exc), path) from exc


def class_index(
    labels: list, classes: list | None, file=None, rows: list | None = None, ctx=None, files=None
):
    """Map string labels to int64 indices into ``classes``.

    Parameters
    ----------
    labels : list of str
    classes : list of str, optional
        The allowed class names in index order. When ``None``, the sorted (natural order) set of
        labels is used.
    file, rows : optional
        Where each label came from, for errors about unknown labels.
    files : list of str, optional
        One file per label (e.g. the image of a class folder); overrides ``file`` in errors.
    ctx : ImportContext, optional
        Error policy; unknown labels raise without one.

    Returns
    -------
    indices : ndarray of int64, shape (len(labels),)
        ``-1`` where the label was unknown and skipped.
    classes : list of str
    """
    labels = [str(v).strip() for v in labels]
    if classes is None:
        classes = sorted(set(labels), key=natural_key)
    classes = [str(c) for c in classes]
    lookup = {c: i for i, c in enumerate(classes)}
    out = np.empty(len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        j = lookup.get(label)
        if j is None:
            reason = f"unknown class label {label!r}; expected one of {classes}"
            row = rows[i] if rows is not None else None
            where = files[i] if files is not None else file
            if ctx is None:
                raise DataImportError(reason, where, row)
            ctx.fail(reason, where, row)
            j = -1
        out[i] = j
    return out, classes
