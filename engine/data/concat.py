"""``concatenate``: join datasets record-wise (several sources of one import, or datasets a user made)."""

from __future__ import annotations

import numpy as np

from engine.data.dataset import Dataset
from engine.data.errors import DataImportError
from engine.data.readers.common import natural_key
from engine.data.storage import SectionBuilder, as_numpy, default_memory_budget

__all__ = ["concatenate"]


def concatenate(datasets: list, memory_budget: int | None = None, cache_dir=None) -> Dataset:
    """Join datasets record-wise.

    Sections and per-record shapes must match. Class lists are merged (union, natural order) and
    targets re-indexed. The result respects ``memory_budget`` like any import.

    Returns
    -------
    Dataset
    """
    if len(datasets) == 1:
        return datasets[0]
    first = datasets[0]
    for ds in datasets[1:]:
        if ds.section_names != first.section_names:
            raise DataImportError(
                f"sources have different sections: {first.section_names} vs {ds.section_names}",
                ds.meta.get("source"),
            )
        for name in first.section_names:
            if ds.shape_of(name) != first.shape_of(name):
                raise DataImportError(
                    f"section {name!r} records are {ds.shape_of(name)} here "
                    f"but {first.shape_of(name)} in the first source",
                    ds.meta.get("source"),
                )
    labelled = [ds.classes is not None for ds in datasets]
    if any(labelled) and not all(labelled):
        raise DataImportError("some sources have class labels and some do not", None)
    classes = None
    if all(labelled):
        classes = sorted({c for ds in datasets for c in ds.classes}, key=natural_key)
    budget = memory_budget if memory_budget is not None else default_memory_budget()
    builder = SectionBuilder(
        {n: first.dtype_of(n) for n in first.section_names},
        budget,
        cache_dir,
        expected_records=sum(len(ds) for ds in datasets),
    )
    for ds in datasets:
        remap = np.array([classes.index(c) for c in ds.classes], dtype=np.int64) if classes else None
        for start in range(0, len(ds), 8192):
            block = {n: as_numpy(ds[n][start : start + 8192]) for n in first.section_names}
            if remap is not None and "targets" in block:
                block["targets"] = remap[block["targets"]]
            builder.append(block)
    meta = {"kind": "concatenated", "parts": [len(ds) for ds in datasets]}
    sizes = [ds.meta.get("image_sizes") for ds in datasets]
    if all(sizes):
        merged: dict = {}
        for s in sizes:
            for k, v in s.items():
                merged[k] = merged.get(k, 0) + v
        meta["image_sizes"] = merged
    return Dataset(builder.finish(), classes, [r for ds in datasets for r in ds.report], meta)
