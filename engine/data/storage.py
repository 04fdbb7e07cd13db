"""Record storage under a memory budget: in-memory arrays or a lazy HDF5 block reader.

A :class:`SectionBuilder` receives records in blocks. While the records fit the memory budget they stay
in RAM; once they would exceed it, everything is written to an HDF5 cache file and later blocks go
straight to disk. The result is either a numpy array or an :class:`~engine.data.lazy.H5Section`,
which reads records by index without loading the file. Cache datasets are written contiguous and
uncompressed so that reader can use plain positional reads.
"""

from __future__ import annotations

import os
import tempfile
import uuid
import weakref

import h5py
import numpy as np
import psutil

from engine.data.lazy import H5Section, as_numpy

__all__ = ["default_memory_budget", "H5Section", "SectionBuilder", "as_numpy", "nbytes_of"]

# Rows per chunk while a cache dataset of unknown length grows (copied to a contiguous one at the end).
_BLOCK_BYTES = 4 << 20


def default_memory_budget() -> int:
    """Return the default memory budget in bytes: a quarter of physical memory, at most 4 GiB."""
    return int(min(psutil.virtual_memory().total // 4, 4 << 30))


def nbytes_of(section) -> int:
    """Return the bytes a section occupies (or would occupy) in memory."""
    return int(np.prod(section.shape, dtype=np.int64)) * np.dtype(section.dtype).itemsize


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
        # With a known record count that fits the budget, records go straight into arrays allocated
        # once: no concatenation at the end, so peak memory is the data itself, not twice it.
        self._arrays: dict[str, np.ndarray] | None = None
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
            self._keep(block, n)
            self._bytes += size
        self._count += n

    def _keep(self, block: dict, n: int) -> None:
        """Hold an in-memory block: in the preallocated arrays when possible, else in the block list."""
        if self._arrays is None and self._count == 0 and self.expected is not None:
            total = sum(
                self.expected * int(np.prod(self._shapes[k], dtype=np.int64)) * self.dtypes[k].itemsize
                for k in self.dtypes
            )
            if total <= self.memory_budget:
                self._arrays = {
                    k: np.empty((self.expected, *self._shapes[k]), self.dtypes[k]) for k in self.dtypes
                }
        if self._arrays is not None and self._count + n > self.expected:
            self._blocks = {k: [a[: self._count]] for k, a in self._arrays.items()}  # more than announced
            self._arrays = None
        if self._arrays is not None:
            for k, v in block.items():
                self._arrays[k][self._count : self._count + n] = v
        else:
            for k, v in block.items():
                self._blocks[k].append(v)

    def _held(self) -> dict:
        """The in-memory records as lists of blocks (and forget them)."""
        if self._arrays is not None:
            held = {k: [a[: self._count]] for k, a in self._arrays.items()}
            self._arrays = None
        else:
            held = self._blocks
        self._blocks = {k: [] for k in self.dtypes}
        return held

    def _spill(self) -> None:
        folder = self.cache_dir or tempfile.gettempdir()
        os.makedirs(folder, exist_ok=True)
        self._path = os.path.join(folder, f"sigma-cache-{uuid.uuid4().hex}.h5")
        self._file = h5py.File(self._path, "w")
        held = self._held()
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
            prealloc = self._arrays is not None
            held = self._held()
            out = {}
            for k, dtype in self.dtypes.items():
                blocks = held[k]
                shape = self._shapes.get(k, ())
                if prealloc:
                    # Give back the unused tail when many announced records were skipped.
                    out[k] = blocks[0] if self._count >= 0.75 * self.expected else blocks[0].copy()
                else:
                    out[k] = np.concatenate(blocks) if blocks else np.empty((0, *shape), dtype=dtype)
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
        self._arrays = None
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
