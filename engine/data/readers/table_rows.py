"""Pass two of reading a CSV/TSV table (:mod:`engine.data.readers.tabular`): every row converted, by
the plan pass one made, into blocks of float32 inputs and int64 class or float32 value targets, within
the memory and disk budgets. A row with a missing, non-numeric or out-of-range value is dropped, refused
or reported as the plan's ``missing`` says.
"""

from __future__ import annotations

import numpy as np

from engine.data.budget import check_declared
from engine.data.errors import DataImportError
from engine.data.readers.common import class_index
from engine.data.readers.csvfile import MISSING_TOKENS, iter_rows
from engine.data.readers.csvfile import parse_number as _number
from engine.data.storage import SectionBuilder

__all__ = ["convert_rows", "BLOCK_ROWS", "FLOAT32_MAX"]

BLOCK_ROWS = 4096  # rows per block (and between cancel checks)
FLOAT32_MAX = float(np.finfo(np.float32).max)


def convert_rows(plan, n_rows: int, memory_budget: int, cache_dir, disk_budget) -> dict:
    """Pass two: rows to blocks of float32 inputs and targets, within the budgets; the sections.

    ``plan`` is what pass one decided (``tabular._Plan``); ``n_rows`` the rows it counted.
    """
    kind, path, ctx = plan.kind, plan.path, plan.ctx
    dtypes = {"inputs": np.float32}
    if plan.target_cols:
        dtypes["targets"] = np.int64 if kind == "class" else np.float32
    per_row = len(plan.input_cols) + (len(plan.target_cols) if kind != "class" else 2)
    check_declared((n_rows, per_row), 4, path, f"{n_rows} rows", memory_budget, disk_budget)
    builder = SectionBuilder(dtypes, memory_budget, cache_dir, expected_records=n_rows)
    x_rows, y_rows, y_lines = [], [], []

    def flush():
        if not x_rows:
            return
        block = {"inputs": np.array(x_rows, dtype=np.float32)}
        if kind == "class":
            ids, _ = class_index(y_rows, plan.class_names, path, y_lines, ctx)
            keep = ids >= 0
            block = {"inputs": block["inputs"][keep], "targets": ids[keep]}
        elif plan.target_cols:
            block["targets"] = np.array(y_rows, dtype=np.float32)
        builder.append(block)
        x_rows.clear()
        y_rows.clear()
        y_lines.clear()

    done = 0
    try:
        for line, row in iter_rows(plan.layout):
            done += 1
            if line in plan.bad_rows:
                continue
            converted = _convert(row, line, plan)
            if converted is not None:
                x_rows.append(converted[0])
                y_rows.append(converted[1])
                y_lines.append(line)
            if len(x_rows) == BLOCK_ROWS:
                flush()
                ctx.tick(done, n_rows, path)
        flush()
        ctx.tick(n_rows, n_rows, path)
    except BaseException:
        builder.abort()
        raise
    if builder.count == 0:
        raise DataImportError("no usable rows (all were skipped; see the report)", path)
    return builder.finish()


def _convert(row, line, plan):
    """One row to ``(input values, target value(s))``, or ``None`` when the row is skipped."""
    input_cols, target_cols, kind, columns = plan.input_cols, plan.target_cols, plan.kind, plan.columns
    cat_lookup, fills, missing = plan.cat_lookup, plan.fills, plan.missing
    path, ctx, names = plan.path, plan.ctx, plan.names
    values = []
    for j in input_cols + target_cols:
        text = row[j]
        if text.lower() in MISSING_TOKENS:
            if missing == "raise":
                raise DataImportError(f"missing value in column {names[j]!r}", path, line)
            if missing == "drop":
                ctx.drop(f"missing value in column {names[j]!r}; row dropped", path, line)
                return None
            text = str(fills[j]) if columns[j].is_numeric else fills[j]
        if kind == "class" and j == target_cols[0]:
            values.append(columns[j].label(text))
        elif columns[j].is_numeric:
            number = _number(text)
            if number is None:
                ctx.fail(f"column {names[j]!r}: {text!r} is not a number", path, line)
                return None
            if abs(number) > FLOAT32_MAX:
                ctx.fail(f"column {names[j]!r}: {text} is beyond float32's range (about ±3.4e38)", path, line)
                return None
            values.append(number)
        else:
            index = cat_lookup[j].get(text)
            if index is None:  # only a fill value of a column with no values at all
                ctx.fail(f"column {names[j]!r} has no value to fill in", path, line)
                return None
            values.append(float(index))
    n_in = len(input_cols)
    y = values[n_in] if kind == "class" else values[n_in:]
    return values[:n_in], y
