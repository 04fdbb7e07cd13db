"""Text files as character sequences for sequence models.

The vocabulary is the sorted set of characters. Each record is a window of ``sequence_length``
characters (``inputs``, as float32 indices into the vocabulary) and the same window shifted by one
(``targets``, int64): the model learns to predict the next character at every step.
"""

from __future__ import annotations

import numpy as np

from engine.data.budget import check_declared, human_bytes
from engine.data.dataset import Dataset
from engine.data.errors import DataImportError
from engine.data.readers.common import check_readable, open_failure_reason
from engine.data.storage import SectionBuilder

__all__ = ["read_text", "encode_text", "text_dataset"]

_BLOCK_RECORDS = 4096


# Bytes of memory per byte of text while it is decoded and encoded (bytes, str, UTF-32 codes, int64 ids).
_TEXT_OVERHEAD = 24


def read_text(path, memory_budget: int | None = None) -> str:
    """Read a UTF-8 text file (BOM removed, line endings normalised to ``\\n``).

    ``memory_budget`` (bytes) refuses, before reading, a file too large to turn into windows in memory.
    """
    size = check_readable(path)
    if memory_budget is not None and size * _TEXT_OVERHEAD > memory_budget:
        raise DataImportError(
            f"text file of {human_bytes(size)} needs about {human_bytes(size * _TEXT_OVERHEAD)} to encode, "
            f"more than the memory budget ({human_bytes(memory_budget)})",
            path,
        )
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise DataImportError(open_failure_reason(exc), path) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataImportError(
            f"not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start})", path, line
        ) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def encode_text(text: str, vocabulary: list | None = None):
    """Turn text into indices into its vocabulary.

    Returns
    -------
    ids : ndarray of int64, shape (len(text),)
    vocabulary : list of str
        One character per entry, sorted by code point.
    """
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    if vocabulary is None:
        uniques, ids = np.unique(codes, return_inverse=True)
        return ids.astype(np.int64), [chr(c) for c in uniques.tolist()]
    table = np.array([ord(c) for c in vocabulary], dtype=np.uint32)
    order = np.argsort(table)
    pos = np.searchsorted(table[order], codes)
    pos = np.minimum(pos, len(table) - 1)
    unknown = table[order][pos] != codes
    if unknown.any():
        raise ValueError(f"character {chr(codes[np.flatnonzero(unknown)[0]])!r} is not in the vocabulary")
    return order[pos].astype(np.int64), list(vocabulary)


def text_dataset(
    text: str,
    ctx,
    *,
    sequence_length: int = 32,
    stride: int | None = None,
    memory_budget: int,
    cache_dir=None,
    source=None,
    disk_budget: int | None = None,
) -> Dataset:
    """Cut text into next-character windows.

    Parameters
    ----------
    text : str
    ctx : ImportContext
    sequence_length : int
        Characters per record.
    stride : int, optional
        Characters between the starts of neighbouring records; ``sequence_length`` by default
        (non-overlapping windows).
    memory_budget : int
    cache_dir : str, optional
    source : str, optional
        File the text came from, for errors.
    disk_budget : int, optional
        Bytes the cache may take; overlapping windows multiply the text's size, so it is checked.

    Returns
    -------
    Dataset
        ``inputs`` float32 ``(N, sequence_length)``, ``targets`` int64 ``(N, sequence_length)``;
        ``classes`` and ``vocabulary`` are the characters.
    """
    if sequence_length < 1:
        raise ValueError(f"Invalid value for `sequence_length`. Expected >= 1. Received: {sequence_length}")
    stride = sequence_length if stride is None else int(stride)
    if stride < 1:
        raise ValueError(f"Invalid value for `stride`. Expected >= 1. Received: {stride}")
    if len(text) < sequence_length + 1:
        raise DataImportError(f"text has {len(text)} characters; need at least {sequence_length + 1}", source)
    count = (len(text) - sequence_length - 1) // stride + 1
    check_declared(
        (count, sequence_length),
        12,
        source,
        f"{count} windows of {sequence_length}",
        memory_budget,
        disk_budget,
    )
    ids, vocabulary = encode_text(text)
    windows = np.lib.stride_tricks.sliding_window_view(ids, sequence_length + 1)[::stride]
    builder = SectionBuilder(
        {"inputs": np.float32, "targets": np.int64}, memory_budget, cache_dir, len(windows)
    )
    try:
        for start in range(0, len(windows), _BLOCK_RECORDS):
            block = windows[start : start + _BLOCK_RECORDS]
            builder.append({"inputs": block[:, :-1], "targets": block[:, 1:]})
            ctx.tick(min(len(windows), start + _BLOCK_RECORDS), len(windows), source or "<text>")
    except BaseException:
        builder.abort()
        raise
    meta = {"kind": "text", "vocabulary": vocabulary, "sequence_length": sequence_length, "stride": stride}
    return Dataset(builder.finish(), vocabulary, ctx.report, meta)
