"""Record storage under a memory budget: in-memory arrays or a lazy HDF5 block reader.

A :class:`SectionBuilder` receives records in blocks. While the records fit the memory budget they stay
in RAM; once they would exceed it, everything is written to an HDF5 cache file and later blocks go
straight to disk. The result is either a numpy array or an :class:`H5Section`, which reads records by
index without loading the file.

``H5Section`` reads with ``os.pread`` straight from the file when the HDF5 dataset is contiguous and
uncompressed (always true for our own cache files): a shuffled batch of 128 records then costs a few
hundred microseconds, where one h5py point selection per batch costs milliseconds. Other layouts
(a user's chunked or compressed file) fall back to h5py reads, one per touched block.
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
import weakref

import h5py
import numpy as np
import psutil

__all__ = ["default_memory_budget", "H5Section", "SectionBuilder", "as_numpy", "nbytes_of"]

# Records per h5py read on the fallback path: large enough to amortise the call, small enough to keep
# the transient buffer near one block.
_BLOCK_BYTES = 4 << 20
_HAVE_PREADV = hasattr(os, "preadv")


def default_memory_budget() -> int:
    """Return the default memory budget in bytes: a quarter of physical memory, at most 4 GiB."""
    return int(min(psutil.virtual_memory().total // 4, 4 << 30))


def nbytes_of(section) -> int:
    """Return the bytes a section occupies (or would occupy) in memory."""
    return int(np.prod(section.shape, dtype=np.int64)) * np.dtype(section.dtype).itemsize


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


class SectionBuilder:
    """Collect records for several named sections in blocks, spilling to an HDF5 cache over budget.

    Parameters
    ----------
    dtypes : dict of str -> dtype
        Output dtype per section.
    memory_budget : int
        Bytes the finished sections may take in RAM; beyond it they are cached on disk.
    cache_dir : str, optional
        Folder for the cache file; a temporary folder by default. The file is deleted when the last
        section reading it is garbage collected.
    expected_records : int, optional
        Upper bound on the record count when known up front; lets the cache file be allocated once,
        contiguous, with no copy at the end.
    """

    def __init__(self, dtypes: dict, memory_budget: int, cache_dir=None, expected_records: int | None = None):
        self.dtypes = {k: np.dtype(v) for k, v in dtypes.items()}
        self.memory_budget = int(memory_budget)
        self.cache_dir = cache_dir
        self.expected = expected_records
        self._blocks: dict[str, list[np.ndarray]] = {k: [] for k in self.dtypes}
        self._shapes: dict[str, tuple] = {}
        self._count = 0
        self._bytes = 0
        self._file: h5py.File | None = None
        self._path: str | None = None

    @property
    def count(self) -> int:
        """Records appended so far."""
        return self._count

    @property
    def on_disk(self) -> bool:
        """Whether the records have been spilled to the cache file."""
        return self._file is not None

    def append(self, block: dict) -> None:
        """Append a block: a dict of arrays with the same leading length, one entry per section."""
        if set(block) != set(self.dtypes):
            raise ValueError(f"block sections {sorted(block)} differ from {sorted(self.dtypes)}")
        block = {k: np.asarray(v, dtype=self.dtypes[k]) for k, v in block.items()}
        lengths = {len(v) for v in block.values()}
        if len(lengths) != 1:
            raise ValueError(f"block sections have different lengths {sorted(lengths)}")
        n = lengths.pop()
        if n == 0:
            return
        for k, v in block.items():
            shape = self._shapes.setdefault(k, v.shape[1:])
            if v.shape[1:] != shape:
                raise ValueError(f"section {k!r}: record shape {v.shape[1:]} differs from {shape}")
        size = sum(v.nbytes for v in block.values())
        if self._file is None and self._bytes + size > self.memory_budget:
            self._spill()
        if self._file is not None:
            self._write(block, n)
        else:
            for k, v in block.items():
                self._blocks[k].append(v)
            self._bytes += size
        self._count += n

    def _spill(self) -> None:
        folder = self.cache_dir or tempfile.gettempdir()
        os.makedirs(folder, exist_ok=True)
        self._path = os.path.join(folder, f"sigma-cache-{uuid.uuid4().hex}.h5")
        self._file = h5py.File(self._path, "w")
        held = self._blocks
        self._blocks = {k: [] for k in self.dtypes}
        count, self._count = self._count, 0
        for k in self.dtypes:
            capacity = self.expected if self.expected is not None else None
            shape = self._shapes[k]
            if capacity is not None:
                self._file.create_dataset(k, shape=(capacity, *shape), dtype=self.dtypes[k])
            else:
                rows = max(
                    1, _BLOCK_BYTES // max(1, int(np.prod(shape, dtype=np.int64)) * self.dtypes[k].itemsize)
                )
                self._file.create_dataset(
                    k, shape=(0, *shape), maxshape=(None, *shape), dtype=self.dtypes[k], chunks=(rows, *shape)
                )
        for i in range(len(held[next(iter(self.dtypes))])):
            part = {k: held[k][i] for k in self.dtypes}
            self._write(part, len(next(iter(part.values()))))
            self._count += len(next(iter(part.values())))
        assert self._count == count

    def _write(self, block: dict, n: int) -> None:
        start = self._count
        for k, v in block.items():
            dset = self._file[k]
            if dset.chunks is not None:
                dset.resize(start + n, axis=0)
            elif start + n > dset.shape[0]:
                raise ValueError(f"more records than the {dset.shape[0]} announced")
            dset[start : start + n] = v

    def finish(self) -> dict:
        """Return the sections: numpy arrays, or :class:`H5Section` readers of the cache file."""
        if self._file is None:
            out = {}
            for k, dtype in self.dtypes.items():
                blocks = self._blocks[k]
                shape = self._shapes.get(k, ())
                out[k] = np.concatenate(blocks) if blocks else np.empty((0, *shape), dtype=dtype)
                self._blocks[k] = []
            return out
        f, self._file = self._file, None
        if any(f[k].chunks is not None for k in self.dtypes):
            path = self._compact(f)
        else:
            f.close()
            path = self._path
        sections = {k: H5Section(path, k, length=self._count) for k in self.dtypes}
        # Delete the cache file once no section reads it any more.
        holder = _CacheFile(path)
        for s in sections.values():
            s._cache_file = holder
        return sections

    def _compact(self, f: h5py.File) -> str:
        # Chunked (growable) datasets are copied once into contiguous ones so reads can use pread.
        path = self._path[:-3] + "-c.h5"
        with h5py.File(path, "w") as g:
            for k in self.dtypes:
                src = f[k]
                dst = g.create_dataset(k, shape=src.shape, dtype=src.dtype)
                step = src.chunks[0] * 4
                for a in range(0, src.shape[0], step):
                    dst[a : a + step] = src[a : a + step]
        f.close()
        os.remove(self._path)
        self._path = path
        return path

    def abort(self) -> None:
        """Drop everything and delete the cache file (after an error or a cancel)."""
        self._blocks = {k: [] for k in self.dtypes}
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._path and os.path.exists(self._path):
            os.remove(self._path)


class _CacheFile:
    """Owns a cache file's lifetime: removed when the last section holding it goes away."""

    def __init__(self, path: str):
        self.path = path
        weakref.finalize(self, _remove_quietly, path)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass  # Already gone, or still open on Windows: the OS temp cleaner takes it.
