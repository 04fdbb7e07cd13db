"""Metric series of a run folder: append-only files, a committed-count index, downsampled levels.

Layout (inside ``<run>/series/``)::

    index.json      the commit marker: per series its file stem and committed counts (raw and per level)
    s0.f64          raw points of series 0: (x, y) float64 pairs, appended
    s0.L1.f64       level 1: one (xa, ya, xb, yb) record per block of 256 raw points
    s0.L2.f64       level 2: one record per block of 256 level-1 records (65,536 raw points)

Why this format (and not HDF5 SWMR or SQLite): a run folder is read while it is written, by another
process and possibly over NFS or SMB (issue 21). HDF5 SWMR needs POSIX write ordering that network
file systems do not give, and SQLite's WAL needs shared memory that they do not have. Plain append-only
files need neither: the writer appends records, closes the files, then replaces ``index.json`` (written
to a temporary file and renamed). A reader reads the index first and then never more records than it
names, so it can never see a torn record, whatever the file system shows of the bytes after them.
Appends are buffered in memory and written at most once a second (and at every epoch and at the end),
so the cost per iteration is a few list appends.

Each level record keeps the smallest and the largest value of its block in the order they occurred
(pyqtgraph's "peak" downsampling, precomputed), so a chart of a million iterations reads about 8,000
points from level 1 and still shows every spike.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numpy as np

__all__ = ["SeriesWriter", "SeriesReader", "BLOCK", "write_json_atomic", "read_json"]

FORMAT = "sigma.series/1"
BLOCK = 256  # points per block, at each level
LEVELS = 2
_INDEX = "index.json"


def write_json_atomic(path: Path, doc, compact: bool = False) -> None:
    """Write JSON to a temporary file in the same folder, then rename it over ``path``.

    ``compact`` (the files rewritten every second while a run lives): one line, encoded by the C
    encoder in one string and one write, several times faster than the indented form.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        if compact:
            fh.write(json.dumps(doc, separators=(",", ":"), allow_nan=True))
        else:
            json.dump(doc, fh, indent=1, allow_nan=True)
    for attempt in range(5):
        try:
            os.replace(tmp, path)
            return
        except PermissionError:  # Windows: a reader has the old file open this instant
            if attempt == 4:
                os.unlink(tmp)
                raise
            time.sleep(0.01 * (attempt + 1))


def read_json(path: Path, default=None):
    """The JSON document at ``path``, or ``default`` when it is missing or damaged."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return default


def _peaks(blocks: np.ndarray) -> np.ndarray:
    """Per block of (k, n, 2) points: its smallest and largest value as two points in the order they
    occurred, (k, 4) = (xa, ya, xb, yb). NaN and infinities are passed over unless a block has nothing
    else (then its first and last point stand for it)."""
    y = blocks[:, :, 1]
    finite = np.isfinite(y)
    lo = np.argmin(np.where(finite, y, np.inf), axis=1)
    hi = np.argmax(np.where(finite, y, -np.inf), axis=1)
    none = ~finite.any(axis=1)
    lo[none], hi[none] = 0, y.shape[1] - 1
    first, second = np.minimum(lo, hi), np.maximum(lo, hi)
    rows = np.arange(len(blocks))
    return np.concatenate([blocks[rows, first], blocks[rows, second]], axis=1)


class _Series:
    """Writer-side state of one series: counts, pending points, unfinished blocks, summary."""

    def __init__(self, stem: str):
        self.stem = stem
        self.count = 0
        self.level_counts = [0] * LEVELS
        self.summary: dict = {}
        self.pending: list[np.ndarray] = []  # arrays queued by extend()
        self.points: list[tuple[float, float]] = []  # points queued by append(): cheaper per point
        # Points of the unfinished block at each level, (n, 2): raw points for level 1, the peak points
        # of level-1 records for level 2.
        self.partial = [np.empty((0, 2)) for _ in range(LEVELS)]

    def entry(self) -> dict:
        return {"file": self.stem, "count": self.count, "levels": self.level_counts, "summary": self.summary}


class SeriesWriter:
    """Appends (x, y) points to named series in a new ``series`` folder; :meth:`commit` publishes them.

    Thread-safe: :meth:`append` may be called from any thread (the event bus's), :meth:`commit` from
    another (the training loop at iteration boundaries).

    Parameters
    ----------
    folder : path
        The ``series`` folder (created).
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._series: dict[str, _Series] = {}
        self._dirty = False

    def _get(self, name: str) -> _Series:
        series = self._series.get(name)
        if series is None:
            series = self._series[name] = _Series(f"s{len(self._series)}")
        return series

    def append(self, name: str, x: float, y) -> None:
        """Queue one point of series ``name`` (e.g. ``"iteration/loss"``); non-numbers are skipped.

        A few microseconds: the point waits as a tuple until :meth:`commit`.
        """
        try:
            point = (float(x), float(y))
        except (TypeError, ValueError):
            return
        with self._lock:
            self._get(name).points.append(point)
            self._dirty = True

    def append_row(self, x: float, items) -> None:
        """Queue one point in each of several series at the same ``x``: ``items`` is ``(name, y)``
        pairs (one lock for the row: the recorder's per-iteration path). Non-numbers are skipped."""
        row = []
        for name, y in items:
            try:
                row.append((name, (float(x), float(y))))
            except (TypeError, ValueError):
                continue
        with self._lock:
            for name, point in row:
                self._get(name).points.append(point)
            self._dirty = True

    def extend(self, name: str, points) -> None:
        """Queue many points of one series: an (n, 2) array of (x, y)."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        with self._lock:
            series = self._get(name)
            if series.points:  # keep the order of what came first
                series.pending.append(np.asarray(series.points, dtype=np.float64))
                series.points = []
            series.pending.append(points)
            self._dirty = True

    def commit(self) -> None:
        """Write the queued points (raw and finished level blocks), then publish the new counts."""
        with self._lock:
            if not self._dirty:
                return
            self._dirty = False
            for series in self._series.values():
                if series.points:
                    series.pending.append(np.asarray(series.points, dtype=np.float64))
                    series.points = []
                if series.pending:
                    points = np.concatenate(series.pending)
                    series.pending = []
                    self._write(series, points)
            index = {
                "format": FORMAT,
                "block": BLOCK,
                "series": {name: s.entry() for name, s in self._series.items()},
            }
            write_json_atomic(self.folder / _INDEX, index, compact=True)

    def _write(self, series: _Series, array: np.ndarray) -> None:
        with open(self.folder / f"{series.stem}.f64", "ab") as fh:
            fh.write(array.tobytes())
        series.count += len(array)
        ys = array[:, 1]
        finite = ys[np.isfinite(ys)]
        summary = series.summary
        summary["last"] = float(ys[-1])
        summary["last_x"] = float(array[-1, 0])
        if finite.size:
            low, high = float(finite.min()), float(finite.max())
            summary["min"] = min(summary.get("min", low), low)
            summary["max"] = max(summary.get("max", high), high)
        incoming = array
        for level in range(LEVELS):
            # A level-1 block is BLOCK raw points; a higher one is BLOCK records of the level below,
            # i.e. 2 * BLOCK peak points.
            size = BLOCK if level == 0 else 2 * BLOCK
            partial = np.concatenate([series.partial[level], incoming])
            full = len(partial) // size
            series.partial[level] = partial[full * size :]
            if not full:
                break
            records = _peaks(partial[: full * size].reshape(full, size, 2))
            with open(self.folder / f"{series.stem}.L{level + 1}.f64", "ab") as fh:
                fh.write(records.tobytes())
            series.level_counts[level] += full
            incoming = records.reshape(-1, 2)


class SeriesReader:
    """Reads the committed points of a ``series`` folder (safe while a writer appends).

    Parameters
    ----------
    folder : path
        The ``series`` folder of a run.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        index = read_json(self.folder / _INDEX, {}) or {}
        self._index = index.get("series") or {}

    def names(self, level: str | None = None) -> list[str]:
        """Series names, e.g. ``["iteration/loss", "epoch/val_loss"]`` (only one level's when given)."""
        names = list(self._index)
        if level is not None:
            names = [n for n in names if n.startswith(level + "/")]
        return names

    def count(self, name: str) -> int:
        """Committed raw points of a series (0 when unknown)."""
        entry = self._index.get(name)
        return int(entry["count"]) if entry else 0

    def summary(self, name: str) -> dict:
        """``{"last", "last_x", "min", "max"}`` of a series (over all its committed points)."""
        entry = self._index.get(name)
        return dict(entry.get("summary", {})) if entry else {}

    def _read(self, stem: str, start: int, stop: int, width: int) -> np.ndarray:
        """Records ``start:stop`` of a file of ``width`` float64 columns (never past the committed count)."""
        if stop <= start:
            return np.empty((0, width))
        path = self.folder / f"{stem}.f64"
        with open(path, "rb") as fh:
            fh.seek(start * width * 8)
            raw = fh.read((stop - start) * width * 8)
        n = len(raw) // (width * 8)
        return np.frombuffer(raw[: n * width * 8], dtype=np.float64).reshape(n, width)

    def read_range(self, name: str, start: int, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Raw points ``start:stop`` of a series (``stop`` at most the committed count) as ``(x, y)``."""
        entry = self._index.get(name)
        if entry is None:
            return np.empty(0), np.empty(0)
        count = int(entry["count"])
        stop = count if stop is None else min(int(stop), count)
        data = self._read(entry["file"], max(0, int(start)), stop, 2)
        return data[:, 0].copy(), data[:, 1].copy()

    def read(self, name: str, max_points: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The points of a series as ``(x, y)`` float64 arrays.

        With ``max_points``, a long series is read from its downsampled levels (each block's smallest and
        largest value, in order) plus the raw points after the last finished block, so a run of a
        million iterations costs a few thousand points. Without it, every raw point.
        """
        entry = self._index.get(name)
        if entry is None:
            return np.empty(0), np.empty(0)
        stem, count = entry["file"], int(entry["count"])
        levels = [int(c) for c in entry.get("levels", [])]
        if max_points is None or count <= max_points:
            data = self._read(stem, 0, count, 2)
            return data[:, 0].copy(), data[:, 1].copy()
        top = _finest_level_within(count, levels, max_points)
        parts = []
        done = 0  # raw points covered so far
        for level in range(top, 0, -1):
            first = done // BLOCK**level
            stop = levels[level - 1]
            records = self._read(f"{stem}.L{level}", first, stop, 4)
            if len(records):
                parts.append(records.reshape(-1, 2))
            done = stop * BLOCK**level
        parts.append(self._read(stem, done, count, 2))
        data = np.concatenate(parts) if parts else np.empty((0, 2))
        return data[:, 0].copy(), data[:, 1].copy()


def _finest_level_within(count: int, levels: list[int], max_points: int) -> int:
    """The finest level (1 = 256 raw points a record) whose read costs at most ``max_points`` points:
    its records (2 points each) plus the finer levels' records after them plus the raw tail."""
    for top in range(1, len(levels) + 1):
        cost = 2 * levels[top - 1] + (count - levels[0] * BLOCK)
        cost += sum(2 * (levels[i] - levels[i + 1] * BLOCK) for i in range(top - 1))
        if cost <= max_points:
            return top
    return len(levels)
