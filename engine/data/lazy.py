"""Lazy, read-only sections backed by HDF5 datasets, indexed like numpy arrays along axis 0.

:class:`H5Section` reads with positional reads (``os.preadv``) straight from the file when the HDF5
dataset is contiguous and uncompressed (always true for our own cache files): a shuffled batch of 128
records then costs a few hundred microseconds, where one h5py point selection per batch costs
milliseconds. Other layouts (a user's chunked or compressed file) fall back to h5py reads, one per
touched block.
"""

from __future__ import annotations

import os
import threading
import weakref

import h5py
import numpy as np

__all__ = ["H5Section", "as_numpy"]

# Records per h5py read on the fallback path: large enough to amortise the call, small enough to keep
# the transient buffer near one block.
_BLOCK_BYTES = 4 << 20
_HAVE_PREADV = hasattr(os, "preadv")


def as_numpy(section) -> np.ndarray:
    """Return the whole section as a numpy array (reads the cache file if it is lazy)."""
    if isinstance(section, np.ndarray):
        return section
    return section[np.arange(len(section))]


def _normalise_index(index, length: int) -> np.ndarray | int:
    """Turn an int, slice, boolean mask or index array into an int64 array (or a plain int)."""
    if isinstance(index, (int, np.integer)):
        i = int(index)
        if i < -length or i >= length:
            raise IndexError(f"index {i} is out of bounds for {length} records")
        return i % length
    if isinstance(index, slice):
        return np.arange(length, dtype=np.int64)[index]
    array = np.asarray(index)
    if array.dtype == bool:
        if array.shape != (length,):
            raise IndexError(f"boolean index of shape {array.shape} does not match {length} records")
        return np.flatnonzero(array)
    if array.dtype.kind not in "iu":
        raise IndexError(f"records are indexed by integers, slices or masks; received dtype {array.dtype}")
    array = array.astype(np.int64, copy=False)
    if array.size and (array.min() < -length or array.max() >= length):
        raise IndexError(f"index out of bounds for {length} records")
    return np.where(array < 0, array + length, array)


class H5Section:
    """A lazy, read-only section backed by an HDF5 dataset, indexed like a numpy array along axis 0.

    Parameters
    ----------
    path : str
        HDF5 file.
    name : str
        Dataset path inside the file; shape ``(N, *record_shape)``.
    length : int, optional
        Number of valid records (a cache file may be preallocated larger). Defaults to ``N``.
    dtype : numpy dtype, optional
        Dtype records are returned in; defaults to the stored dtype.

    Notes
    -----
    ``section[idx]`` accepts an int, a slice, a boolean mask or an (unsorted, repeating) index array
    and returns a numpy array of shape ``(len(idx), *record_shape)``. Reads are done in sorted index
    order, coalescing runs of neighbouring records, and the result is put back into request order.
    Safe to read from several threads at once.
    """

    def __init__(self, path, name: str, length: int | None = None, dtype=None):
        self.path = os.fspath(path)
        self.name = name
        with h5py.File(self.path, "r") as f:
            dset = f[name]
            self._stored_dtype = dset.dtype
            self._stored_shape = dset.shape
            offset = dset.id.get_offset()
            contiguous = dset.chunks is None and dset.compression is None
        self.record_shape = tuple(self._stored_shape[1:])
        self._length = self._stored_shape[0] if length is None else int(length)
        self.dtype = np.dtype(dtype) if dtype is not None else np.dtype(self._stored_dtype)
        self._record_bytes = int(np.prod(self.record_shape, dtype=np.int64)) * self._stored_dtype.itemsize
        # Native byte order only: a big-endian dataset from a foreign file goes through h5py.
        native = self._stored_dtype.isnative
        self._offset = offset if (contiguous and native and offset is not None) else None
        self._fd = None
        self._h5 = None
        self._lock = threading.Lock()
        if self._offset is not None:
            self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            weakref.finalize(self, os.close, self._fd)

    @property
    def shape(self) -> tuple:
        """``(N, *record_shape)``."""
        return (self._length, *self.record_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.record_shape)

    def __len__(self) -> int:
        return self._length

    def __array__(self, dtype=None, copy=None):
        array = as_numpy(self)
        return array if dtype is None else array.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"H5Section({self.path!r}, {self.name!r}, shape={self.shape}, dtype={self.dtype})"

    def __getitem__(self, index) -> np.ndarray:
        idx = _normalise_index(index, self._length)
        if isinstance(idx, int):
            return self._read_sorted(np.array([idx]))[0]
        if idx.size == 0:
            return np.empty((0, *self.record_shape), dtype=self.dtype)
        order = np.argsort(idx, kind="stable")
        sorted_idx = idx[order]
        data = self._read_sorted(sorted_idx)
        if np.array_equal(order, np.arange(idx.size)):
            return data
        out = np.empty_like(data)
        out[order] = data
        return out

    def _read_sorted(self, sorted_idx: np.ndarray) -> np.ndarray:
        """Read records for an ascending index array into a new array (stored dtype, then cast)."""
        raw = np.empty((sorted_idx.size, *self.record_shape), dtype=self._stored_dtype)
        if self._offset is not None:
            self._pread_runs(sorted_idx, raw)
        else:
            self._h5_read_blocks(sorted_idx, raw)
        return raw if raw.dtype == self.dtype else raw.astype(self.dtype)

    def _pread_runs(self, sorted_idx: np.ndarray, out: np.ndarray) -> None:
        # Each run of consecutive records is one positional read straight into the output buffer.
        uniq = sorted_idx
        dupes = sorted_idx.size > 1 and bool((np.diff(sorted_idx) == 0).any())
        if dupes:
            uniq, inverse = np.unique(sorted_idx, return_inverse=True)
            target = np.empty((uniq.size, *self.record_shape), dtype=self._stored_dtype)
        else:
            target = out
        view = memoryview(target.reshape(-1).view(np.uint8))
        breaks = np.flatnonzero(np.diff(uniq) != 1) + 1
        starts = np.concatenate(([0], breaks)).tolist()
        stops = np.concatenate((breaks, [uniq.size])).tolist()
        rb = self._record_bytes
        firsts = uniq[starts].tolist()
        for a, b, first in zip(starts, stops, firsts):
            want = (b - a) * rb
            got = self._read_at(view[a * rb : b * rb], self._offset + first * rb)
            if got != want:
                raise OSError(f"{self.path}: cache file is truncated (wanted {want} bytes at record {first})")
        if dupes:
            out[...] = target[inverse]

    def _read_at(self, buffer: memoryview, offset: int) -> int:
        """Fill ``buffer`` from the file at ``offset``; returns the bytes read."""
        if _HAVE_PREADV:
            done = 0
            while done < len(buffer):
                n = os.preadv(self._fd, [buffer[done:]], offset + done)
                if n == 0:
                    break
                done += n
            return done
        # Windows has no positional reads: seek + read under the lock.
        with self._lock:
            os.lseek(self._fd, offset, os.SEEK_SET)
            done = 0
            while done < len(buffer):
                chunk = os.read(self._fd, len(buffer) - done)
                if not chunk:
                    break
                buffer[done : done + len(chunk)] = chunk
                done += len(chunk)
            return done

    def _h5_read_blocks(self, sorted_idx: np.ndarray, out: np.ndarray) -> None:
        # One contiguous slab read per touched block, then take the wanted rows from it.
        per_block = max(1, _BLOCK_BYTES // max(1, self._record_bytes))
        blocks = sorted_idx // per_block
        with self._lock:
            if self._h5 is None:
                self._h5 = h5py.File(self.path, "r")
                weakref.finalize(self, self._h5.close)
            dset = self._h5[self.name]
            cuts = np.flatnonzero(np.diff(blocks)) + 1
            for part, rows in zip(np.split(np.arange(sorted_idx.size), cuts), np.split(sorted_idx, cuts)):
                first, last = int(rows[0]), int(rows[-1])
                slab = dset[first : last + 1]
                out[part] = slab[rows - first]
