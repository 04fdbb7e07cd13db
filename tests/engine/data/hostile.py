"""Makers of hostile files for the importer tests: bombs, lying headers, damaged containers.

Each maker writes a real file and streams what it compresses, so the test never holds what the file
claims to contain.
"""

from __future__ import annotations

import gzip
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_declaring(path: Path, width: int, height: int, rows_written: int | None = None) -> Path:
    """A grayscale PNG whose header declares ``width`` x ``height``; ``rows_written`` rows of zeros
    are really compressed into it (all of them by default: a true decompression bomb)."""
    rows = height if rows_written is None else rows_written
    z = zlib.compressobj(9)
    parts = []
    row = b"\x00" * (width + 1)  # filter byte 0 and a row of black pixels
    for _ in range(rows):
        parts.append(z.compress(row))
    parts.append(z.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def npy_header(shape, dtype="<f8", fortran=False) -> bytes:
    """The bytes of an ``.npy`` version 1.0 header."""
    header = repr({"descr": dtype, "fortran_order": fortran, "shape": tuple(shape)}).encode("latin-1")
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def npz_of_zeros(path: Path, shape, dtype="<f8", name="x", level: int = 6) -> Path:
    """An ``.npz`` holding one array of zeros of ``shape``, deflated as a stream (never in memory)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
            f.write(npy_header(shape, dtype))
            left = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            block = bytes(1 << 20)
            while left > 0:
                n = min(left, len(block))
                f.write(block[:n])
                left -= n
    return path


def idx_gz_of_zeros(path: Path, shape) -> Path:
    """A gzipped uint8 IDX file of zeros of ``shape`` (written as a stream)."""
    with gzip.open(path, "wb", compresslevel=6) as f:
        f.write(bytes([0, 0, 0x08, len(shape)]) + struct.pack(f">{len(shape)}I", *shape))
        left = int(np.prod(shape, dtype=np.int64))
        block = bytes(1 << 20)
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
    return path


def zip_deep(path: Path, depth: int, payload: bytes = b"a,b\n1,2\n") -> Path:
    """A zip with one file under ``depth`` nested folders."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("/".join(["d"] * depth) + "/data.csv", payload)
    return path
