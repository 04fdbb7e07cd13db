"""IDX files (the MNIST format), plain or gzipped, streamed block by block.

An IDX file is a 4-byte magic (two zero bytes, a type code, the number of dimensions), one big-endian
int32 per dimension, then the values in C order. Image files (``uint8``, three or more dimensions)
become float32 in ``[0, 1]`` with a channel axis; 1-D files are labels. Image and label files are
paired by name (``train-images-idx3-ubyte`` with ``train-labels-idx1-ubyte``).
"""

from __future__ import annotations

import gzip
import os
import re
import struct
import zlib

import numpy as np

from engine.data.budget import check_declared, check_expansion, declared_bytes
from engine.data.dataset import Dataset
from engine.data.errors import DataImportError
from engine.data.readers.common import check_readable, natural_key, open_failure_reason, read_head
from engine.data.storage import SectionBuilder

__all__ = ["IDX_TYPES", "is_idx_file", "idx_header", "read_idx_array", "read_idx_files"]

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_BLOCK_BYTES = 4 << 20


def _open(path):
    if read_head(path, 2) == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return open(path, "rb")


def _head(path, n: int) -> bytes:
    """First ``n`` bytes of the (decompressed) content."""
    try:
        with _open(path) as f:
            return f.read(n)
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise DataImportError(open_failure_reason(exc), path) from exc
        return b""


def is_idx_file(path) -> bool:
    """Whether the file (gzipped or not) starts with a valid IDX magic number."""
    head = _head(path, 4)
    return len(head) == 4 and head[:2] == b"\x00\x00" and head[2] in IDX_TYPES and 1 <= head[3] <= 8


def idx_header(path) -> tuple[np.dtype, tuple]:
    """Return ``(dtype, shape)`` of an IDX file, or raise :class:`DataImportError`.

    The declared data must be consistent with the file: an uncompressed file must hold at least the
    declared bytes, a gzipped one may not declare more than
    :data:`~engine.data.budget.MAX_EXPANSION` times its size.
    """
    size = check_readable(path)
    head = _head(path, 4 + 4 * 8)
    if len(head) < 4 or head[:2] != b"\x00\x00" or head[2] not in IDX_TYPES:
        raise DataImportError("not an IDX file (bad magic number)", path)
    ndim = head[3]
    if not 1 <= ndim <= 8 or len(head) < 4 + 4 * ndim:
        raise DataImportError(f"IDX header is damaged ({ndim} dimensions)", path)
    shape = tuple(int(s) for s in struct.unpack(f">{ndim}I", head[4 : 4 + 4 * ndim]))
    dtype = np.dtype(IDX_TYPES[head[2]])
    if any(s == 0 for s in shape[1:]):
        raise DataImportError(f"IDX header declares an empty record shape {shape[1:]}", path)
    stored = declared_bytes(shape, dtype.itemsize)
    if read_head(path, 2) == b"\x1f\x8b":
        check_expansion(stored, size, path, f"the gzipped IDX data {shape}")
    elif 4 + 4 * ndim + stored > size:
        got = max(0, size - 4 - 4 * ndim) // max(1, declared_bytes(shape[1:], dtype.itemsize))
        raise DataImportError(f"IDX file is truncated: header says {shape[0]} records, found {got}", path)
    return dtype, shape


def _iter_blocks(path, dtype: np.dtype, shape: tuple):
    """Yield native-endian arrays of whole records until the file ends; raise if it is short."""
    record_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
    per_block = max(1, _BLOCK_BYTES // max(1, record_bytes))
    left = shape[0]
    try:
        with _open(path) as f:
            f.read(4 + 4 * len(shape))
            while left:
                n = min(per_block, left)
                buf = f.read(n * record_bytes)
                if len(buf) < n * record_bytes:
                    got = shape[0] - left + len(buf) // record_bytes
                    raise DataImportError(
                        f"IDX file is truncated: header says {shape[0]} records, found {got}", path
                    )
                left -= n
                yield np.frombuffer(buf, dtype=dtype).reshape(n, *shape[1:]).astype(dtype.newbyteorder("="))
    except (OSError, EOFError, zlib.error) as exc:
        reason = open_failure_reason(exc) if isinstance(exc, FileNotFoundError) else f"damaged file ({exc})"
        raise DataImportError(reason, path) from exc


def read_idx_array(path, memory_budget: int | None = None) -> np.ndarray:
    """Read a whole IDX file into a native-endian numpy array of its stored shape.

    ``memory_budget`` (bytes) refuses a file whose declared size is larger, before reading.
    """
    dtype, shape = idx_header(path)
    if memory_budget is not None:
        check_declared(shape, dtype.itemsize, path, "the IDX array", memory_budget, None)
    blocks = list(_iter_blocks(path, dtype, shape))
    return np.concatenate(blocks) if blocks else np.empty(shape, dtype.newbyteorder("="))


def _pair_key(path) -> str:
    name = os.path.basename(os.fspath(path)).lower()
    name = re.sub(r"\.gz$", "", name)
    return re.sub(r"images?|labels?|idx\d|ubyte|[-_.]", "", name)


def _order(path):
    # Training files first, so a folder with train and t10k pairs starts with the training records.
    name = os.path.basename(os.fspath(path)).lower()
    return (0 if "train" in name else 1, natural_key(name))


def read_idx_files(
    paths: list, ctx, *, classes=None, memory_budget: int, cache_dir=None, disk_budget=None
) -> Dataset:
    """Read IDX files: image/label pairs matched by name, concatenated in order.

    Parameters
    ----------
    paths : list of str
        IDX files; 1-D ones are labels, the others inputs. A lone inputs file gives an
        inputs-only dataset.
    ctx : ImportContext
    classes : list of str, optional
        Allowed label names; a label outside it is an unknown class label.
    memory_budget : int
    cache_dir : str, optional
    disk_budget : int, optional
        Bytes the cache may take; the float32 records must fit memory plus disk budgets.

    Returns
    -------
    Dataset
        ``inputs`` float32 ``(N, H, W, 1)`` for uint8 images (scaled to [0, 1]), else float32 of the
        stored record shape; ``targets`` int64 ``(N,)``.
    """
    headers = {p: idx_header(p) for p in paths}
    data = sorted((p for p in paths if len(headers[p][1]) > 1), key=_order)
    labels = {_pair_key(p): p for p in paths if len(headers[p][1]) == 1}
    if not data:
        raise DataImportError("only label files given; add the matching images file", paths[0])
    if labels and len(labels) < len(data) or (labels and any(_pair_key(p) not in labels for p in data)):
        missing = [p for p in data if _pair_key(p) not in labels]
        raise DataImportError(
            "no matching labels file for this images file", missing[0] if missing else data[0]
        )
    record_shapes = {headers[p][1][1:] for p in data}
    if len(record_shapes) > 1:
        raise DataImportError(f"IDX files have different record shapes {sorted(record_shapes)}", data[-1])

    label_arrays = {}
    for p in data:
        if labels:
            lp = labels[_pair_key(p)]
            label_arrays[p] = read_idx_array(lp, memory_budget)
            if len(label_arrays[p]) != headers[p][1][0]:
                raise DataImportError(
                    f"{len(label_arrays[p])} labels for {headers[p][1][0]} images in {os.path.basename(p)}",
                    lp,
                )
    class_names, lookup = None, None
    if labels:
        values = np.unique(np.concatenate(list(label_arrays.values())))
        found = [str(v) for v in values.tolist()]
        class_names = [str(c) for c in classes] if classes is not None else sorted(found, key=natural_key)
        lookup = {c: i for i, c in enumerate(class_names)}
    dtypes = {"inputs": np.float32, **({"targets": np.int64} if labels else {})}
    total = sum(headers[p][1][0] for p in data)
    check_declared(
        (total, *headers[data[0]][1][1:]), 4, data[0], "the IDX records", memory_budget, disk_budget
    )
    builder = SectionBuilder(dtypes, memory_budget, cache_dir, expected_records=total)
    done = 0
    warned = False
    try:
        for p in data:
            dtype, shape = headers[p]
            scale = dtype.kind == "u" and dtype.itemsize == 1 and len(shape) >= 3
            start = 0
            for block in _iter_blocks(p, dtype, shape):
                # float64 values beyond float32 become inf: reported once, not a numpy warning.
                with np.errstate(over="ignore", invalid="ignore"):
                    x = block.astype(np.float32)
                if not warned and not np.all(np.isfinite(x)):
                    ctx.warn("values are NaN, Inf or beyond float32's range", p)
                    warned = True
                if scale:
                    x *= np.float32(1 / 255)
                if len(shape) == 3:
                    x = x[..., None]
                part = {"inputs": x}
                if labels:
                    raw = label_arrays[p][start : start + len(block)]
                    ids = np.array([lookup.get(str(v), -1) for v in raw.tolist()], dtype=np.int64)
                    for i in np.flatnonzero(ids < 0):
                        ctx.fail(
                            f"unknown class label {str(raw[i])!r}; expected one of {class_names}",
                            labels[_pair_key(p)],
                            start + int(i) + 1,
                        )
                    keep = ids >= 0
                    part = {"inputs": x[keep], "targets": ids[keep]}
                builder.append(part)
                start += len(block)
                done += len(block)
                ctx.tick(done, total, p)
    except BaseException:
        builder.abort()
        raise
    meta = {"kind": "idx", "files": [os.path.basename(p) for p in data]}
    return Dataset(builder.finish(), class_names, ctx.report, meta)
