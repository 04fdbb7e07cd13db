"""A CSV that labels the images of a folder: one row per image, a file-name column and a label column."""

from __future__ import annotations

import os

from engine.data.errors import DataImportError
from engine.data.readers.csvfile import iter_rows, sniff_table
from engine.data.readers.images import is_image_file

__all__ = ["read_label_table", "looks_like_label_table"]


def looks_like_label_table(table) -> bool:
    """Whether a CSV has a column of image file names (checked on its first rows)."""
    try:
        layout = sniff_table(table)
        rows = []
        for _, row in iter_rows(layout):
            rows.append(row)
            if len(rows) == 50:
                break
    except DataImportError:
        return False
    return bool(rows) and any(
        sum(is_image_file(r[j]) for r in rows if j < len(r)) >= 0.5 * len(rows)
        for j in range(len(layout.names))
    )


def _column(spec, names: list, fallback: int, path) -> int:
    if spec in (None, "auto"):
        return fallback
    if isinstance(spec, int) and not isinstance(spec, bool):
        return spec % len(names)
    if isinstance(spec, str) and spec in names:
        return names.index(spec)
    raise DataImportError(f"column {spec!r} not found; columns are {names}", path)


def read_label_table(
    table, images: list, folder, ctx, file_column=None, label_column=None, delimiter=None, header="auto"
):
    """Match the rows of a label table to image files.

    Parameters
    ----------
    table : str
        CSV/TSV with a column of image file names (relative to ``folder``, or bare names) and a
        column of class labels.
    images : list of str
        Image files found under ``folder``.
    folder : str
    ctx : ImportContext
    file_column, label_column : str or int, optional
        Column names/indices; by default the column whose values look like image file names, and
        the first other column.
    delimiter, header : optional
        Forced table layout.

    Returns
    -------
    files : list of str
        Image paths in table order.
    labels : list of str
    rows : list of int
        Line number of each file's row in the table (for unknown-label errors).

    Notes
    -----
    A listed image that does not exist is a bad record (error, or skipped); an image the table does
    not mention is left out with a warning.
    """
    layout = sniff_table(table, delimiter, header)
    rows = list(iter_rows(layout))
    names = layout.names
    if len(names) < 2:
        raise DataImportError("a label table needs a file-name column and a label column", table)
    guess = 0
    for j in range(len(names)):
        if rows and sum(is_image_file(r[j]) for _, r in rows if j < len(r)) >= 0.5 * len(rows):
            guess = j
            break
    fcol = _column(file_column, names, guess, table)
    lcol = _column(label_column, names, next(j for j in range(len(names)) if j != fcol), table)
    by_relative = {os.path.relpath(p, folder).replace(os.sep, "/"): p for p in images}
    by_name: dict = {}
    for p in images:
        by_name.setdefault(os.path.basename(p), []).append(p)
    files, labels, lines, used = [], [], [], set()
    for line, row in rows:
        if len(row) != len(names):
            ctx.fail(f"row has {len(row)} fields, expected {len(names)}", table, line)
            continue
        name = row[fcol].replace("\\", "/")
        while name.startswith("./"):
            name = name[2:]
        path = by_relative.get(name)
        if path is None and len(by_name.get(os.path.basename(name), [])) == 1:
            path = by_name[os.path.basename(name)][0]
        if path is None:
            ctx.fail(f"image {row[fcol]!r} listed in the table was not found", table, line)
            continue
        if not row[lcol]:
            ctx.fail(f"image {row[fcol]!r} has no label", table, line)
            continue
        files.append(path)
        labels.append(row[lcol])
        lines.append(line)
        used.add(path)
    unlabelled = [p for p in images if p not in used]
    for p in unlabelled:
        ctx.warn("image is not listed in the label table; left out", p)
    if not files:
        raise DataImportError("no image in the folder is labelled by this table", table)
    return files, labels, lines
