"""What the importer fuzz tests run inside the sandbox worker, and the fixture that holds the worker."""

from __future__ import annotations

import os

from engine.data import load

ALLOWED = ("engine.data.errors.DataImportError",)
MEMORY_BUDGET = 16 << 20  # small, so imports of any size exercise the disk cache
DISK_BUDGET = 64 << 20


def import_file(path: str, cache: str, options: dict):
    """Import ``path`` with small budgets, touch every record, and return ``[records, report lines]``."""
    ds = load(path, memory_budget=MEMORY_BUDGET, disk_budget=DISK_BUDGET, cache_dir=cache, **options)
    for name in ds.section_names:
        section = ds[name]
        for start in range(0, len(ds), 4096):
            section[start : start + 4096]
    return [len(ds), len(ds.report)]


def folder_bytes(folder) -> int:
    """Bytes of everything under ``folder`` (the cache and extraction area)."""
    total = 0
    for dirpath, _, files in os.walk(folder):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total
