"""NumPy ``.npy``/``.npz`` files, and the block copy every array reader shares.

Arrays are copied block by block into a :class:`~engine.data.storage.SectionBuilder`, so an array
larger than the memory budget goes to the cache without ever being whole in RAM: ``.npy`` is memory
mapped, ``.npz`` members are decompressed as a stream (numpy's own ``np.load`` would inflate a member
whole, so a 2.7 MB file of zeros became 5 GB). Declared shapes and dtypes are read from the headers and
checked against the budgets before any of that starts.
"""

from __future__ import annotations

import lzma
import os
import struct
import tokenize
import zipfile
import zlib

import numpy as np

from engine.data.budget import check_declared, check_expansion, declared_bytes
from engine.data.dataset import Dataset
from engine.data.errors import DataImportError
from engine.data.readers.common import check_readable, class_index, natural_key, open_failure_reason
from engine.data.storage import SectionBuilder

__all__ = [
    "load_npy",
    "read_npy",
    "read_npz",
    "targets_kind",
    "collect",
    "check_array_kind",
    "pick",
    "INPUT_NAMES",
]

INPUT_NAMES = ("inputs", "x", "X", "data", "images", "features", "x_train")
TARGET_NAMES = ("targets", "y", "Y", "labels", "label", "target", "y_train")
_BLOCK_BYTES = 4 << 20
# What a damaged ``.npy`` header can raise from numpy's parser (it tokenizes and literal_evals a dict).
_HEADER_ERRORS = (
    ValueError,
    SyntaxError,
    TypeError,
    OverflowError,
    EOFError,
    UnicodeDecodeError,
    tokenize.TokenError,
    MemoryError,
    RecursionError,
    struct.error,
)
# What reading a damaged zip member can raise.
_STREAM_ERRORS = (
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    zipfile.BadZipFile,
    ValueError,
    NotImplementedError,
    RuntimeError,  # an encrypted member
)


def targets_kind(array) -> str:
    """``"class"`` for 1-D integer (or bool/text) targets, else ``"regression"``."""
    kind = np.dtype(array.dtype).kind
    return "class" if len(array.shape) == 1 and kind in "iubUSO" else "regression"


def check_array_kind(shape, dtype, path, what: str, targets: bool = False) -> None:
    """Refuse arrays the engine cannot make records of: scalars, empty shapes, non-numeric dtypes."""
    if shape is None:
        raise DataImportError(f"{what} is empty (it has no shape)", path)
    if len(shape) == 0:
        raise DataImportError(f"{what} is a scalar; expected records along the first axis", path)
    if any(not isinstance(s, int) or s < 0 for s in shape):
        raise DataImportError(f"{what} declares an invalid shape {tuple(shape)}", path)
    if any(s == 0 for s in shape[1:]):
        # Records of no values: nothing to learn from, and billions of them cost time, not memory.
        raise DataImportError(f"{what} has empty records (shape {tuple(shape)})", path)
    dtype = np.dtype(dtype)
    allowed = "biuf" + ("USO" if targets else "")
    if dtype.names is not None or dtype.subdtype is not None or dtype.kind not in allowed:
        kinds = "numbers (or text labels)" if targets else "numbers"
        raise DataImportError(f"{what} has dtype {dtype} ({dtype.kind!r}); expected {kinds}", path)


def pick(keys: list, wanted, defaults: tuple, what: str, path, required: bool):
    """The array name for a role: the one asked for, a common name, or the only array."""
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


def pick_sections(keys: list, inputs, targets, path) -> tuple:
    """The names of the inputs array and of the targets array (``None`` when there is none, or when
    ``targets`` is False) among the arrays ``keys`` of a file holding several."""
    xk = pick(keys, inputs, INPUT_NAMES, "inputs", path, True)
    if targets is False:
        return xk, None
    return xk, pick([k for k in keys if k != xk], targets, TARGET_NAMES, "targets", path, False)


def unreadable(exc: BaseException, path, kind: str) -> DataImportError:
    """The error for a file that could not be opened or decoded as ``kind`` ("HDF5", ".npz")."""
    if isinstance(exc, (FileNotFoundError, PermissionError)):
        reason = open_failure_reason(exc)
    else:
        reason = f"not a readable {kind} file ({type(exc).__name__}: {exc})"
    return DataImportError(reason, os.fspath(path))


def collect(path, x, y, ctx, classes, memory_budget, cache_dir, kind: str, disk_budget=None) -> Dataset:
    """Copy ``x`` (and ``y``) into a dataset, block by block; ``x``/``y`` slice like arrays.

    Declared sizes are checked first: the records as float32 against memory plus disk budgets, the
    labels (read whole to find the classes) against the memory budget.
    """
    check_array_kind(x.shape, x.dtype, path, "inputs")
    n = int(x.shape[0])
    check_declared(x.shape, 4, path, "the inputs array", memory_budget, disk_budget)
    if y is not None:
        check_array_kind(y.shape, y.dtype, path, "targets", targets=True)
        if int(y.shape[0]) != n:
            raise DataImportError(f"inputs have {n} records but targets have {y.shape[0]}", path)
        check_declared(
            y.shape, max(8, np.dtype(y.dtype).itemsize), path, "the targets array", memory_budget, disk_budget
        )
    class_names, ids = None, None
    if y is not None and targets_kind(y) == "class":
        # A Python string per label while the classes are found: bound that too.
        # Labels never spill to disk; bound them by the budget, or 256 MiB for a small one.
        budget = max(memory_budget, 256 << 20)
        check_declared((n,), 64 + np.dtype(y.dtype).itemsize * 4, path, "the labels", budget, 0)
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
    record_bytes = max(1, declared_bytes(x.shape[1:], np.dtype(x.dtype).itemsize))
    step = max(1, _BLOCK_BYTES // record_bytes)
    warned = False
    try:
        for start in range(0, n, step):
            # Values beyond float32's range become inf: reported below, not a warning from numpy.
            with np.errstate(over="ignore", invalid="ignore"):
                block = {"inputs": np.asarray(x[start : start + step], dtype=np.float32)}
                if ids is not None:
                    part = ids[start : start + step]
                    keep = part >= 0
                    block = {"inputs": block["inputs"][keep], "targets": part[keep]}
                elif y is not None:
                    block["targets"] = np.asarray(y[start : start + step], dtype=np.float32)
            if not warned and not np.all(np.isfinite(block["inputs"])):
                rows = (~np.isfinite(block["inputs"].reshape(len(block["inputs"]), -1))).any(axis=1)
                bad = start + int(np.flatnonzero(rows)[0])
                ctx.warn(f"inputs contain NaN or Inf, or values beyond float32 (first at record {bad})", path)
                warned = True
            builder.append(block)
            ctx.tick(min(n, start + step), n, path)
    except BaseException:
        builder.abort()
        raise
    return Dataset(builder.finish(), class_names, ctx.report, {"kind": kind})


def read_npy(
    path, ctx, *, targets_path=None, classes=None, memory_budget: int, cache_dir=None, disk_budget=None
) -> Dataset:
    """Read a ``.npy`` file as inputs (and optionally a second ``.npy`` as targets).

    Returns
    -------
    Dataset
        ``inputs`` float32 of the stored shape; ``targets`` int64 classes or float32 values.
    """
    x = load_npy(path)
    y = load_npy(targets_path) if targets_path is not None else None
    return collect(path, x, y, ctx, classes, memory_budget, cache_dir, "npy", disk_budget)


def _read_header(stream, path, what: str):
    """``(shape, fortran_order, dtype)`` from an ``.npy`` stream positioned at its start."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(stream)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(stream)
        # Version 3.0 only adds utf-8 field names, for structured dtypes, which are refused anyway.
        raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
    except _HEADER_ERRORS as exc:
        raise DataImportError(
            f"{what} has a damaged .npy header ({type(exc).__name__}: {exc})", path
        ) from exc


def load_npy(path) -> np.memmap:
    """Memory-map a ``.npy`` file after checking its header: version, dtype (numbers), shape, length."""
    size = check_readable(path)
    try:
        with open(path, "rb") as f:
            shape, fortran, dtype = _read_header(f, path, "file")
            offset = f.tell()
    except OSError as exc:
        raise DataImportError(open_failure_reason(exc), path) from exc
    check_array_kind(shape, dtype, path, "the array")
    stored = declared_bytes(shape, dtype.itemsize)
    if offset + stored > size:
        raise DataImportError(
            f"file is truncated: the header declares {stored} bytes of data, the file holds {size - offset}",
            path,
        )
    try:
        return np.memmap(
            path, dtype=dtype, mode="r", offset=offset, shape=tuple(shape), order="F" if fortran else "C"
        )
    except (OSError, ValueError, OverflowError) as exc:
        raise DataImportError(f"not a readable .npy file ({exc})", path) from exc


class _NpzMember:
    """One array of an ``.npz`` read as a forward stream of records (random access reopens the member)."""

    def __init__(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, path, memory_budget: int):
        self.zf, self.info, self.path = zf, info, path
        self.what = f"array {info.filename[:-4]!r}"
        with zf.open(info) as f:
            shape, fortran, dtype = _read_header(f, path, self.what)
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        check_array_kind(self.shape, self.dtype, path, self.what, targets=True)
        stored = declared_bytes(self.shape, self.dtype.itemsize)
        check_expansion(stored, info.compress_size, path, self.what)
        if stored > info.file_size:
            raise DataImportError(
                f"{self.what} declares {stored} bytes of data but the member holds {info.file_size}", path
            )
        self._whole, self._stream, self._pos = None, None, 0
        self.record_bytes = declared_bytes(self.shape[1:], self.dtype.itemsize)
        if fortran and len(self.shape) > 1:
            # Column-major data cannot be streamed by records; it is small enough to read whole.
            check_declared(self.shape, self.dtype.itemsize, path, self.what, memory_budget, 0)
            self._whole = self._read(0, self.shape[0], order="F")

    def _open_at(self, start: int):
        if self._stream is not None:
            self._stream.close()
        self._stream = self.zf.open(self.info)
        _read_header(self._stream, self.path, self.what)
        self._pos = 0
        self._skip(start)

    def _skip(self, records: int) -> None:
        left = records * self.record_bytes
        while left > 0:
            got = len(self._stream.read(min(left, _BLOCK_BYTES)))
            if got == 0:
                raise DataImportError(f"{self.what} is truncated", self.path)
            left -= got
        self._pos += records

    def _read(self, start: int, stop: int, order: str = "C") -> np.ndarray:
        try:
            if self._whole is not None:
                return self._whole[start:stop]
            if self._stream is None or start < self._pos:
                self._open_at(start)
            elif start > self._pos:
                self._skip(start - self._pos)
            n = max(0, stop - start)
            buf = self._stream.read(n * self.record_bytes)
        except _STREAM_ERRORS as exc:
            raise DataImportError(f"{self.what} is damaged ({type(exc).__name__}: {exc})", self.path) from exc
        if len(buf) < n * self.record_bytes:
            raise DataImportError(
                f"{self.what} is truncated: expected {n * self.record_bytes} bytes at record {start}, "
                f"got {len(buf)}",
                self.path,
            )
        self._pos = start + n
        return np.frombuffer(buf, dtype=self.dtype).reshape((n, *self.shape[1:]), order=order)

    def __getitem__(self, item: slice) -> np.ndarray:
        start, stop, _ = item.indices(self.shape[0])
        return self._read(start, stop)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def read_npz(
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
    """Read a ``.npz`` archive; arrays chosen by ``inputs=``/``targets=`` or by common names (x, y...).

    Members are streamed: a member is never decompressed whole, and one that declares more than
    :data:`~engine.data.budget.MAX_EXPANSION` times its compressed size is refused.
    """
    check_readable(path)
    members = []
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}
            keys = list(infos)
            if not keys:
                raise DataImportError("the .npz file holds no arrays", path)
            xk, yk = pick_sections(keys, inputs, targets, path)
            x = _NpzMember(zf, infos[xk], path, memory_budget)
            members.append(x)
            y = _NpzMember(zf, infos[yk], path, memory_budget) if yk is not None else None
            members.append(y)
            return collect(path, x, y, ctx, classes, memory_budget, cache_dir, "npz", disk_budget)
    except DataImportError:
        raise
    except _STREAM_ERRORS as exc:
        raise unreadable(exc, path, ".npz") from exc
    finally:
        for m in members:
            if m is not None:
                m.close()
