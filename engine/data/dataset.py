"""The :class:`Dataset`: named sections of records, classes, provenance and the import report."""

from __future__ import annotations

import hashlib

import numpy as np

from engine.data.errors import ReportRecord
from engine.data.lazy import H5Section, _normalise_index, as_numpy
from engine.data.storage import nbytes_of

__all__ = ["Dataset", "IndexedSection"]

# Rows hashed / summarised per step when a section is lazy, so statistics never load it whole.
_SCAN_RECORDS = 8192


class IndexedSection:
    """A lazy view of some records of a lazy section (what ``subset`` returns for cached data).

    Parameters
    ----------
    base : H5Section or IndexedSection
    indices : ndarray of int64, shape (M,)
        Records of ``base``, in view order.
    """

    def __init__(self, base, indices: np.ndarray):
        if isinstance(base, IndexedSection):
            indices = base.indices[indices]
            base = base.base
        self.base = base
        self.indices = np.asarray(indices, dtype=np.int64)
        self.dtype = base.dtype

    @property
    def shape(self) -> tuple:
        return (len(self.indices), *self.base.shape[1:])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index) -> np.ndarray:
        idx = _normalise_index(index, len(self.indices))
        return self.base[self.indices[idx]]

    def __array__(self, dtype=None, copy=None):
        array = as_numpy(self)
        return array if dtype is None else array.astype(dtype, copy=False)


class Dataset:
    """Records in named sections, each indexed along axis 0.

    Parameters
    ----------
    sections : dict of str -> array-like
        Each value has shape ``(N, *record_shape)``; numpy arrays or lazy :class:`H5Section` readers.
        ``"inputs"`` is float32; ``"targets"`` is int64 class indices or float32 values.
    classes : list of str, optional
        Class names; ``targets`` holds indices into it. ``None`` for regression or unlabelled data.
    report : list of ReportRecord, optional
        Records skipped and warnings raised while importing.
    meta : dict, optional
        Provenance and extras (``source``, ``image_sizes``, ``vocabulary``...); JSON-able values.

    Examples
    --------
    >>> ds = Dataset({"inputs": np.zeros((4, 2), np.float32), "targets": np.array([0, 1, 1, 0])})
    >>> len(ds), ds.shape_of("inputs")
    (4, (2,))
    """

    def __init__(self, sections: dict, classes=None, report=None, meta=None):
        if not sections:
            raise ValueError("a dataset needs at least one section")
        lengths = {name: len(section) for name, section in sections.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"sections have different record counts: {lengths}")
        self._sections = {}
        for name, section in sections.items():
            if not isinstance(section, (H5Section, IndexedSection)):
                section = np.asarray(section)
                if name == "inputs" and section.dtype != np.float32:
                    section = section.astype(np.float32)
            self._sections[name] = section
        self.classes = None if classes is None else [str(c) for c in classes]
        self.report: list[ReportRecord] = list(report or [])
        self.meta = dict(meta or {})
        self._fingerprint: str | None = None

    # -- access ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(next(iter(self._sections.values())))

    def __getitem__(self, name: str):
        try:
            return self._sections[name]
        except KeyError:
            raise KeyError(f"no section {name!r}; sections are {self.section_names}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._sections

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}: {self.shape_of(k)} {self.dtype_of(k)}" for k in self._sections)
        return f"Dataset({len(self)} records; {parts}; classes={self.classes})"

    @property
    def section_names(self) -> list[str]:
        """Names of the sections, in insertion order (``inputs`` first when present)."""
        return list(self._sections)

    def shape_of(self, name: str) -> tuple:
        """Per-record shape of a section (without the leading record axis)."""
        return tuple(self[name].shape[1:])

    def dtype_of(self, name: str) -> np.dtype:
        """Dtype of a section's records."""
        return np.dtype(self[name].dtype)

    @property
    def on_disk(self) -> bool:
        """Whether any section streams from an HDF5 file instead of RAM."""
        return any(not isinstance(s, np.ndarray) for s in self._sections.values())

    @property
    def nbytes(self) -> int:
        """Bytes the records take (or would take) in memory."""
        return sum(nbytes_of(s) for s in self._sections.values())

    @property
    def vocabulary(self) -> list[str] | None:
        """Characters of a text dataset (same as ``classes``), else ``None``."""
        return self.meta.get("vocabulary")

    def batch(self, indices) -> dict:
        """Return records ``indices`` of every section as numpy arrays, ``{name: (len(indices), ...)}``."""
        idx = np.asarray(indices, dtype=np.int64)
        return {name: np.asarray(section[idx]) for name, section in self._sections.items()}

    # -- derived datasets -------------------------------------------------------------------------
    def subset(self, indices) -> Dataset:
        """Return a dataset of the given records (in the given order).

        In-memory sections are copied; on-disk sections become lazy views of the same cache file.
        """
        idx = _normalise_index(np.asarray(indices) if not isinstance(indices, slice) else indices, len(self))
        idx = np.atleast_1d(idx)
        sections = {}
        for name, section in self._sections.items():
            sections[name] = section[idx] if isinstance(section, np.ndarray) else IndexedSection(section, idx)
        return Dataset(sections, self.classes, self.report, self.meta)

    def with_sections(self, sections: dict, classes="same", meta=None) -> Dataset:
        """Return a dataset with some sections replaced (for preprocessors)."""
        merged = dict(self._sections)
        merged.update(sections)
        return Dataset(
            merged,
            self.classes if classes == "same" else classes,
            self.report,
            self.meta if meta is None else meta,
        )

    def split(self, fractions, stratify: bool = True, seed: int = 0, test: Dataset | None = None) -> dict:
        """Split the records into named parts.

        Parameters
        ----------
        fractions : sequence of float or dict of str -> float
            Fractions of the records per part, summing to at most 1. A sequence of two is named
            ``train``/``test``, of three ``train``/``validation``/``test``, else ``part0``...
        stratify : bool
            Keep class proportions in every part (only for 1-D class targets; ignored otherwise).
        seed : int
            Seed of the assignment; the same seed gives the same parts.
        test : Dataset, optional
            A separate test source: returned as ``"test"`` after checking that it matches this
            dataset's sections, record shapes and classes.

        Returns
        -------
        dict of str -> Dataset
        """
        parts = _named_fractions(fractions)
        total = sum(parts.values())
        if any(f < 0 for f in parts.values()) or total > 1 + 1e-9:
            raise ValueError(
                f"Invalid value for `fractions`. Expected non-negative, summing to <= 1. Received: {parts}"
            )
        if test is not None:
            self._check_compatible(test)
        rng = np.random.default_rng([seed, 0x5EED])
        targets = self._sections.get("targets")
        if stratify and self.classes is not None and targets is not None and targets.ndim == 1:
            labels = as_numpy(targets)
            groups = [np.flatnonzero(labels == c) for c in range(len(self.classes))]
        else:
            groups = [np.arange(len(self))]
        chosen = {name: [] for name in parts}
        for group in groups:
            group = rng.permutation(group)
            counts = _largest_remainder(len(group), list(parts.values()), total)
            start = 0
            for name, count in zip(parts, counts):
                chosen[name].append(group[start : start + count])
                start += count
        out = {name: self.subset(np.sort(np.concatenate(idx))) for name, idx in chosen.items()}
        if test is not None:
            out["test"] = test
        return out

    def _check_compatible(self, other: Dataset) -> None:
        for name in self.section_names:
            if name not in other or other.shape_of(name) != self.shape_of(name):
                raise ValueError(f"test source does not match: section {name!r} differs")
        if other.classes != self.classes:
            raise ValueError(f"test source classes {other.classes} differ from {self.classes}")

    # -- summaries --------------------------------------------------------------------------------
    def fingerprint(self) -> str:
        """Return a stable SHA-256 hex digest of section names, shapes, dtypes, classes and content."""
        if self._fingerprint is None:
            h = hashlib.sha256()
            h.update(repr(sorted(self.section_names)).encode())
            h.update(repr(self.classes).encode())
            for name in sorted(self._sections):
                section = self._sections[name]
                h.update(f"{name}|{tuple(section.shape)}|{np.dtype(section.dtype).str}".encode())
                for start in range(0, len(section), _SCAN_RECORDS):
                    block = np.ascontiguousarray(section[start : start + _SCAN_RECORDS])
                    h.update(block.tobytes())
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def statistics(self) -> dict:
        """Return JSON-able statistics for the dataset panel.

        Returns
        -------
        dict
            ``n_records``; ``sections`` (shape and dtype per section); ``class_counts`` (class name ->
            count, or ``None``); ``feature_mean`` and ``feature_std`` (lists over the flattened input
            record, float64); ``mean``/``std``/``min``/``max`` over all inputs; ``image_sizes``
            (``"HxW"`` -> count of the original images, or ``None``); ``skipped`` (records left out).
        """
        stats = {
            "n_records": len(self),
            "sections": {
                k: {"shape": list(self.shape_of(k)), "dtype": str(self.dtype_of(k))} for k in self._sections
            },
            "class_counts": None,
            "image_sizes": self.meta.get("image_sizes"),
            "skipped": sum(1 for r in self.report if r.action == "skipped"),
        }
        targets = self._sections.get("targets")
        if (
            self.classes is not None
            and targets is not None
            and targets.ndim == 1
            and np.dtype(targets.dtype).kind in "iu"
        ):
            counts = np.zeros(len(self.classes), dtype=np.int64)
            for start in range(0, len(targets), _SCAN_RECORDS):
                block = np.asarray(targets[start : start + _SCAN_RECORDS]).ravel()
                counts += np.bincount(block, minlength=len(self.classes))[: len(self.classes)]
            stats["class_counts"] = {c: int(n) for c, n in zip(self.classes, counts)}
        if "inputs" in self._sections and len(self):
            stats.update(_feature_moments(self._sections["inputs"]))
        return stats


def _feature_moments(section) -> dict:
    """Per-feature (and, for images, per-channel) mean and std, accumulated in float64 by blocks."""
    n = len(section)
    width = int(np.prod(section.shape[1:], dtype=np.int64))
    s = np.zeros(width)
    ss = np.zeros(width)
    lo, hi = np.inf, -np.inf
    for start in range(0, n, _SCAN_RECORDS):
        block = np.asarray(section[start : start + _SCAN_RECORDS], dtype=np.float64).reshape(-1, width)
        s += block.sum(axis=0)
        ss += np.square(block).sum(axis=0)
        lo, hi = min(lo, float(block.min())), max(hi, float(block.max()))
    mean = s / n
    var = np.maximum(ss / n - np.square(mean), 0.0)
    overall_mean = float(mean.mean())
    overall_var = max(float((ss.sum() / (n * width)) - overall_mean**2), 0.0)
    out = {
        "feature_mean": mean.tolist(),
        "feature_std": np.sqrt(var).tolist(),
        "mean": overall_mean,
        "std": overall_var**0.5,
        "min": lo,
        "max": hi,
    }
    record_shape = tuple(section.shape[1:])
    if len(record_shape) == 3:
        # (H, W, C) images: every pixel counts equally, so channel moments follow from the sums.
        channels = record_shape[-1]
        cs = s.reshape(-1, channels).sum(axis=0)
        css = ss.reshape(-1, channels).sum(axis=0)
        count = n * (width // channels)
        cmean = cs / count
        out["channel_mean"] = cmean.tolist()
        out["channel_std"] = np.sqrt(np.maximum(css / count - np.square(cmean), 0.0)).tolist()
    return out


def _named_fractions(fractions) -> dict:
    if isinstance(fractions, dict):
        return {str(k): float(v) for k, v in fractions.items()}
    values = [float(v) for v in fractions]
    names = {2: ["train", "test"], 3: ["train", "validation", "test"]}.get(len(values))
    names = names or [f"part{i}" for i in range(len(values))]
    return dict(zip(names, values))


def _largest_remainder(n: int, fractions: list, total: float) -> list:
    """Integer counts per part that follow the fractions and sum to ``round(n * total)``."""
    exact = np.array(fractions, dtype=np.float64) * n
    counts = np.floor(exact + 1e-9).astype(np.int64)
    wanted = min(n, int(round(n * total)))
    remainders = exact - counts
    for i in np.argsort(-remainders, kind="stable")[: max(0, wanted - int(counts.sum()))]:
        counts[i] += 1
    return counts.tolist()
