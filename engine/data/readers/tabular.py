"""CSV and TSV tables: encoding, delimiter and header detection, column roles, missing values.

The file is read twice and never held whole: pass one checks row lengths, infers each column's type
(numeric or categorical), collects categories and fill values; pass two converts rows into blocks
(:mod:`engine.data.readers.table_rows`).
Row numbers in errors are 1-based line numbers, as an editor shows them.
"""

from __future__ import annotations

from collections import Counter

from engine.data.dataset import Dataset
from engine.data.errors import DataImportError
from engine.data.readers.common import natural_key
from engine.data.readers.csvfile import MISSING_TOKENS, iter_rows, sniff_table
from engine.data.readers.csvfile import parse_number as _number
from engine.data.readers.table_rows import BLOCK_ROWS, FLOAT32_MAX, convert_rows

__all__ = ["read_table"]

_MAX_CLASS_VALUES = 32  # integer target columns with at most this many values are classes
#: Distinct values a text (categorical) column may hold; more is free text or ids, not categories.
MAX_CATEGORIES = 100_000
#: Column names ``targets="auto"`` takes as the label column wherever it stands (else the last column).
LABEL_NAMES = ("label", "labels", "target", "targets", "class", "y")


def _resolve(spec, names: list, what: str, path) -> list[int]:
    if spec is None:
        return []
    items = [spec] if isinstance(spec, (str, int)) else list(spec)
    out = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            if not -len(names) <= item < len(names):
                raise DataImportError(
                    f"{what} column {item} does not exist; the table has {len(names)} columns", path
                )
            out.append(item % len(names))
        elif item in names:
            out.append(names.index(item))
        else:
            raise DataImportError(f"{what} column {item!r} not found; columns are {names}", path)
    return out


class _Column:
    """Pass-one facts about one column."""

    def __init__(self):
        self.numeric = 0
        self.text = Counter()
        self.sum = 0.0
        self.integers = True
        self.values = set()  # distinct numeric values, capped
        # Numbers as written, for a column that turns out to be text: "5" among "cat" and "dog" is a
        # category like the others (it was a KeyError).
        self.number_words = set()

    def add(self, value: str) -> None:
        number = _number(value)
        if number is None:
            if value in self.text or len(self.text) < MAX_CATEGORIES:
                self.text[value] += 1
            else:
                self.overflow = True
            return
        self.numeric += 1
        if abs(number) <= FLOAT32_MAX:
            self.sum += number  # values beyond float32 are bad rows, reported in pass two
        if number != int(number):
            self.integers = False
        if len(self.values) < 10_000:
            self.values.add(number)
        if len(self.number_words) < MAX_CATEGORIES:
            self.number_words.add(value)
        else:
            self.overflow = True

    overflow = False  # more distinct values than MAX_CATEGORIES were seen

    def categories(self) -> list:
        """Every distinct value of a text column (numbers written in it included), natural order."""
        return sorted(set(self.text) | self.number_words, key=natural_key)

    @property
    def is_numeric(self) -> bool:
        # Mostly numbers with a few stray words: the words are bad values, not categories.
        total = self.numeric + sum(self.text.values())
        return total > 0 and self.numeric >= 0.9 * total

    def label(self, value: str) -> str:
        number = _number(value)
        return str(int(number)) if number is not None and self.integers and number == int(number) else value


def read_table(
    path,
    ctx,
    *,
    inputs=None,
    targets="auto",
    classes=None,
    target_kind: str = "auto",
    missing: str = "drop",
    fill_value=None,
    delimiter=None,
    header="auto",
    memory_budget: int,
    cache_dir=None,
    disk_budget: int | None = None,
) -> Dataset:
    """Read a CSV/TSV table into a dataset.

    In named steps: sniff the layout (:func:`sniff_table`), choose the columns (:func:`_choose_columns`),
    pass one (:func:`_survey`), decide the target kind, categories, fill values and classes, pass two
    (:func:`~engine.data.readers.table_rows.convert_rows`).

    Parameters
    ----------
    path : str
    ctx : ImportContext
    inputs : str, int or list, optional
        Input columns (names or indices). Default: every column that is not a target.
    targets : str, int, list, None or "auto"
        Target column(s). ``"auto"``: the last column. ``None``: no targets.
    classes : list of str, optional
        Allowed class names; a target value outside it is an unknown class label.
    target_kind : {"auto", "class", "regression"}
        ``auto``: text or few distinct integers are classes, anything else is regression.
    missing : {"drop", "fill", "raise"}
        What to do with a row that has an empty/NA value in a used column.
    fill_value : float, optional
        Value for ``missing="fill"`` in numeric columns (default: the column mean). Categorical
        columns are filled with their most frequent value.
    delimiter, header :
        See :func:`sniff_table`.
    memory_budget : int
    cache_dir : str, optional
    disk_budget : int, optional
        Bytes the cache may take; the rows as float32 must fit memory plus disk budgets.

    Returns
    -------
    Dataset
        ``inputs`` float32 ``(N, n_inputs)`` (categorical inputs as category indices, the category
        lists in ``meta["categories"]``); ``targets`` int64 ``(N,)`` for classes or float32
        ``(N, n_targets)`` for regression.
    """
    if missing not in ("drop", "fill", "raise"):
        raise ValueError(
            f"Invalid value for `missing`. Expected 'drop', 'fill' or 'raise'. Received: {missing!r}"
        )
    layout = sniff_table(path, delimiter, header)
    plan = _Plan(layout, path, missing, ctx)
    plan.input_cols, plan.target_cols = _choose_columns(layout.names, inputs, targets, path)
    n_rows = _survey(plan)
    plan.kind = _target_kind(plan, target_kind, classes)
    _check_categorical_inputs(plan)
    plan.categories = {
        j: plan.columns[j].categories() for j in plan.input_cols if not plan.columns[j].is_numeric
    }
    plan.cat_lookup = {j: {c: i for i, c in enumerate(cats)} for j, cats in plan.categories.items()}
    plan.fills = _fill_values(plan, fill_value)
    plan.class_names = _class_names(plan, classes)
    sections = convert_rows(plan, n_rows, memory_budget, cache_dir, disk_budget)
    names = layout.names
    meta = {
        "kind": "table",
        "columns": {
            "inputs": [names[j] for j in plan.input_cols],
            "targets": [names[j] for j in plan.target_cols],
        },
        "categories": {names[j]: cats for j, cats in plan.categories.items()},
        "delimiter": layout.delimiter,
        "encoding": layout.encoding,
    }
    return Dataset(sections, plan.class_names, ctx.report, meta)


class _Plan:
    """What pass one decides for pass two: the columns used, their roles and facts, the target kind,
    category indices, fill values and class names."""

    def __init__(self, layout, path, missing: str, ctx):
        self.layout, self.path, self.missing, self.ctx = layout, path, missing, ctx
        self.names = layout.names
        self.input_cols: list[int] = []
        self.target_cols: list[int] = []
        self.columns: dict[int, _Column] = {}
        self.bad_rows: set[int] = set()
        self.kind = "regression"
        self.categories: dict[int, list] = {}
        self.cat_lookup: dict[int, dict] = {}
        self.fills: dict[int, object] = {}
        self.class_names: list | None = None

    @property
    def used(self) -> list[int]:
        return self.input_cols + self.target_cols


def _choose_columns(names: list, inputs, targets, path) -> tuple[list[int], list[int]]:
    """(input columns, target columns) by index, from the names or indices asked for."""
    width = len(names)
    chosen_inputs = _resolve(inputs, names, "input", path)
    if targets == "auto":
        # A column named like a label wherever it stands, else the last column that is not an input.
        free = [j for j in range(width) if j not in chosen_inputs]
        named = [j for j in free if names[j].strip().lower() in LABEL_NAMES]
        target_cols = named[:1] if len(named) == 1 else free[-1:]
    else:
        target_cols = _resolve(targets, names, "target", path)
    input_cols = chosen_inputs or [j for j in range(width) if j not in target_cols]
    if not input_cols:
        raise DataImportError("no input columns left; name them with inputs=", path)
    return input_cols, target_cols


def _survey(plan: _Plan) -> int:
    """Pass one: each used column's facts, the rows of the wrong length; returns the number of rows."""
    layout, path, ctx = plan.layout, plan.path, plan.ctx
    width = len(plan.names)
    plan.columns = {j: _Column() for j in plan.used}
    n_rows = 0
    for line, row in iter_rows(layout):
        n_rows += 1
        if n_rows % BLOCK_ROWS == 0:
            ctx.check_cancel()
        if len(row) != width:
            ctx.fail(
                f"row has {len(row)} fields, expected {width} ({layout.delimiter!r}-separated)", path, line
            )
            plan.bad_rows.add(line)
            continue
        for j in plan.used:
            if row[j].lower() not in MISSING_TOKENS:
                plan.columns[j].add(row[j])
    if n_rows == 0:
        raise DataImportError("table has a header but no data rows", path)
    return n_rows


def _target_kind(plan: _Plan, target_kind: str, classes) -> str:
    """``class`` or ``regression``: asked for, or from the target column (text or few integers are
    classes); checked against the columns."""
    names, columns, target_cols, path = plan.names, plan.columns, plan.target_cols, plan.path
    kind = target_kind
    if target_cols and kind == "auto":
        col = columns[target_cols[0]]
        few_ints = col.is_numeric and col.integers and len(col.values) <= _MAX_CLASS_VALUES
        kind = (
            "class"
            if len(target_cols) == 1 and (classes is not None or not col.is_numeric or few_ints)
            else "regression"
        )
    if kind == "class" and len(target_cols) != 1:
        raise DataImportError(
            f"class targets need exactly one column; got {[names[j] for j in target_cols]}", path
        )
    if kind == "regression":
        for j in target_cols:
            if not columns[j].is_numeric:
                raise DataImportError(f"regression target column {names[j]!r} holds text", path)
    return kind


def _check_categorical_inputs(plan: _Plan) -> None:
    """Refuse a text input column with too many distinct values to be categories (free text, ids)."""
    for j in plan.input_cols:
        if not plan.columns[j].is_numeric and plan.columns[j].overflow:
            raise DataImportError(
                f"column {plan.names[j]!r} holds more than {MAX_CATEGORIES} distinct text values (free "
                "text or ids, not categories); leave it out of the inputs with inputs=[...]",
                plan.path,
            )


def _fill_values(plan: _Plan, fill_value) -> dict:
    """What ``missing="fill"`` puts in each column: ``fill_value`` or the mean for numbers, the most
    frequent value for text."""
    fills = {}
    for j in plan.used:
        c = plan.columns[j]
        if c.is_numeric:
            fills[j] = (
                float(fill_value) if fill_value is not None else (c.sum / c.numeric if c.numeric else 0.0)
            )
        else:
            fills[j] = c.text.most_common(1)[0][0] if c.text else ""
    return fills


def _class_names(plan: _Plan, classes) -> list | None:
    """The classes, as given or every target label seen (natural order); None for regression."""
    if plan.kind != "class":
        return None
    if classes is not None:
        return [str(c) for c in classes]
    col = plan.columns[plan.target_cols[0]]
    if col.overflow:
        raise DataImportError(
            f"target column {plan.names[plan.target_cols[0]]!r} has more than {MAX_CATEGORIES} distinct "
            "values; too many for classes (use target_kind='regression' for numbers)",
            plan.path,
        )
    labels = {col.label(v) for v in col.number_words}
    if not col.is_numeric:
        labels |= set(col.text)
    return sorted(labels, key=natural_key)
