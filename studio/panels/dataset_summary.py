"""What the dataset panel says about an imported dataset, in words: its source, the one-line summary,
the message about skipped or doubtful records, and the record shape the network will see."""

from __future__ import annotations

import os

from .dataset_views import short_path

__all__ = ["describe", "summary_text", "import_message", "failure_text", "network_shape"]


def describe(source) -> str:
    """A source for a message: a path, or the first three names of a list of paths."""
    if isinstance(source, (list, tuple)):
        names = [os.path.basename(os.fspath(s)) for s in source]
        return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return os.fspath(source) if source is not None else "nothing"


def summary_text(ds, source, fed) -> str:
    """The summary line (rich text) of dataset ``ds`` read from ``source``; ``fed`` is the record shape
    the network sees, or ``None``."""
    classes = f"{len(ds.classes)} classes" if ds.classes else "no classes (values)"
    shape = ds.shape_of("inputs") if "inputs" in ds else "?"
    skipped = sum(1 for r in ds.report if r.action == "skipped")
    fed = f" (the network sees {fed})" if fed is not None and fed != shape else ""
    parts = [f"<b>{len(ds):,}</b> records", f"inputs {shape}{fed}", classes]
    if skipped:
        parts.append(f"<span style='color:#c62828'>{skipped} skipped</span>")
    return " · ".join(parts) + f"<br>source: {describe(source)}"


def import_message(ds, source) -> tuple[str, str] | None:
    """(text, level) about the records an import skipped or warned about, or ``None`` if all were fine."""
    skipped = [r for r in ds.report if r.action == "skipped"]
    warnings = [r for r in ds.report if r.action != "skipped"]
    if skipped:
        first = skipped[0]
        where = short_path(first.file, source) + (f", row {first.row}" if first.row is not None else "")
        more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
        return (
            f"Imported {len(ds):,} records. Skipped {len(skipped)} bad record(s){more}: "
            f"{where}: {first.reason}. See the Report tab.",
            "error",
        )
    if warnings:
        return f"Imported {len(ds):,} records with {len(warnings)} warning(s); see the Report tab.", "info"
    return None


def network_shape(shape: tuple, layout) -> tuple:
    """The record shape the network sees when records of ``shape`` are read with the project's
    ``layout`` option (``"image"``: ``engine.run`` turns records into (C, H, W) images)."""
    if layout == "image":
        if len(shape) == 1 and round(shape[0] ** 0.5) ** 2 == shape[0]:
            side = round(shape[0] ** 0.5)
            return (1, side, side)
        if len(shape) == 3 and shape[2] in (1, 3, 4) and shape[0] not in (1, 3, 4):
            return (shape[2], shape[0], shape[1])
    return shape


def failure_text(exc) -> str:
    """The message of an import that raised ``exc`` (its class name when the error says nothing)."""
    if getattr(exc, "file", None) is None and not str(exc):
        return f"Could not import: {type(exc).__name__}"
    return f"Could not import: {exc}"
