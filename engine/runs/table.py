"""The run table: one row per run, a column for every setting that differs, final and best metrics.

``sigma runs`` prints it and the studio's run table shows it; both build it here, so they agree cell
for cell (:meth:`RunTable.text` is the one formatting of a cell).
"""

from __future__ import annotations

import csv
import datetime
import json
import math

from .folder import RunRecord
from .live import live_state

__all__ = ["RunTable", "run_table", "flatten_settings", "lower_is_better", "SKIPPED_METRICS"]

#: Values reported alongside metrics that are not results of the run (rates, times).
SKIPPED_METRICS = ("learning_rate", "samples_per_second", "seconds", "time", "iteration_time")

# Settings that differ between runs without making them different experiments.
_IGNORED = ("format", "name", "last_checkpoint", "network.format", "training.checkpoint")
_LOWER = ("loss", "error", "mae", "mse", "rmse", "perplexity")


def lower_is_better(metric: str) -> bool:
    """Losses and errors fall as a run improves; accuracies and scores rise."""
    base = metric.removeprefix("val_")
    return any(word in base for word in _LOWER)


def flatten_settings(settings: dict) -> dict:
    """A project snapshot as ``{"training.optimiser.learning_rate": 0.002, "network.fc1.units": 128}``.

    Network nodes are keyed by layer name (``network.<layer>.<argument>``), so runs of networks that
    differ by a layer still line up; other lists are kept whole (as JSON text).
    """
    flat: dict = {}

    def walk(prefix: str, value) -> None:
        if any(prefix == skip or prefix.startswith(skip + ".") for skip in _IGNORED):
            return
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif prefix == "network.nodes" and isinstance(value, list):
            for node in value:
                if isinstance(node, dict):
                    name = node.get("name", "?")
                    for key, item in node.items():
                        if key not in ("name", "inputs"):
                            walk(f"network.{name}.{key}", item)
                    flat[f"network.{name}.inputs"] = json.dumps(node.get("inputs"))
        elif isinstance(value, list):
            flat[prefix] = json.dumps(value)
        else:
            flat[prefix] = value

    walk("", settings)
    return flat


def _with_kernels(flat: dict, meta: dict) -> dict:
    """``training.kernels`` as the kernels the run trained with: run.json's ``kernels`` (numpy's where
    compiled ones were asked for and could not run), else the setting, else numpy (a run recorded before
    the setting). Runs that trained alike then never differ in it, and a speed compared across runs is
    explained by what really ran."""
    flat["training.kernels"] = meta.get("kernels") or flat.get("training.kernels") or "numpy"
    return flat


def _short(key: str) -> str:
    """Column title of a setting: ``training.`` is dropped (``optimiser.learning_rate``, as in sweeps)."""
    return key.removeprefix("training.")


class RunTable:
    """Rows of runs and their columns.

    Attributes
    ----------
    columns : list of str
        Column keys in order: ``run``, ``label``, ``star``, ``state`` (running, paused, finished, stopped,
        failed or lost: :func:`engine.runs.live.live_state`), each differing setting
        (``optimiser.learning_rate``), ``final <metric>`` and ``best <metric>`` for the loss, the
        first other metric and their validation twins, then ``progress`` (epochs done of planned, and the
        iteration while the run lives),
        ``parent``, ``sweep`` (when a run came from one), ``started`` and ``note``.
    rows : list of dict
        One per run: column key -> raw value (None when the run has none).
    records : list of RunRecord
        The runs, in row order.
    """

    def __init__(self, columns: list[str], rows: list[dict], records: list[RunRecord], settings: list[str]):
        self.columns = columns
        self.rows = rows
        self.records = records
        self.setting_columns = settings

    def text(self, row: int, column: str) -> str:
        """The cell as shown (the CLI and the studio show exactly this)."""
        return format_value(self.rows[row].get(column))

    def lines(self) -> list[str]:
        """The table as aligned text lines (header first)."""
        cells = [self.columns] + [[self.text(i, c) for c in self.columns] for i in range(len(self.rows))]
        widths = [max(len(line[k]) for line in cells) for k in range(len(self.columns))]
        return ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in cells]

    def write_csv(self, stream) -> None:
        """CSV with a header row; numbers written in full (not as shown)."""
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow(["" if row.get(c) is None else _csv_value(row.get(c)) for c in self.columns])


def _csv_value(value):
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return repr(value)
    return value


def format_value(value) -> str:
    """Numbers to 4 significant digits, booleans as a star, None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "*" if value else ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.4g}"
    return str(value)


def _started(record: RunRecord) -> str | None:
    stamp = record.status.get("started") or record.meta.get("created")
    if not isinstance(stamp, (int, float)):
        return None
    return datetime.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M")


def _main_metrics(metrics: list[str]) -> list[str]:
    """Loss and the first other metric (accuracy, mae...), then their validation twins: the columns
    that say how a run did without making the table as wide as every metric would."""
    train = [m for m in metrics if not m.startswith("val_")]
    main = [m for m in ("loss",) if m in train] + [m for m in train if m != "loss"][:1]
    if not main:  # validation metrics only
        main = [m.removeprefix("val_") for m in metrics[:1]]
    return [m for m in main if m in metrics] + [f"val_{m}" for m in main if f"val_{m}" in metrics]


def run_table(records: list[RunRecord]) -> RunTable:
    """Build the table of ``records`` (see :class:`RunTable`)."""
    flats = [_with_kernels(flatten_settings(r.settings), r.meta) for r in records]
    keys: list[str] = []
    for flat in flats:
        keys.extend(k for k in flat if k not in keys)
    differing = [k for k in keys if len({json.dumps(f.get(k), sort_keys=True) for f in flats}) > 1]
    readers = [r.series() for r in records]
    metrics: list[str] = []
    for reader in readers:
        for name in reader.names("epoch"):
            metric = name.split("/", 1)[1]
            if metric not in metrics and metric not in SKIPPED_METRICS:
                metrics.append(metric)
    metrics = _main_metrics(metrics)
    # What differed and how it did come first; where a run came from after.
    columns = ["run", "label", "star", "state"] + [_short(k) for k in differing]
    columns += [f"final {m}" for m in metrics] + [f"best {m}" for m in metrics]
    columns += ["progress", "parent"]
    if any(isinstance(r.meta.get("sweep"), dict) for r in records):
        columns.append("sweep")
    columns += ["started", "note"]
    rows = []
    for record, flat, reader in zip(records, flats, readers):
        parent = record.parent
        status = record.status
        planned = status.get("planned_epochs")
        epochs = f"{status.get('epoch', 0)}/{planned}" if planned else str(status.get("epoch", 0))
        if status.get("state") in ("running", "paused", "stopping") and status.get("iteration"):
            epochs += f", it {status['iteration']}"  # a live run: how far into the epoch it is
        row = {
            "run": record.name,
            "label": record.label,
            "star": record.starred,
            "state": live_state(status, record.meta) if status else "?",  # "?": status.json unreadable
            "parent": f"{parent.get('kind', '')} of {parent.get('run')}" if parent else None,
            "started": _started(record),
            "progress": epochs,
        }
        sweep = record.meta.get("sweep")
        if isinstance(sweep, dict):
            row["sweep"] = f"{sweep.get('id')} #{int(sweep.get('trial', -1)) + 1}"
        for key in differing:
            value = flat.get(key)
            row[_short(key)] = value
        final = status.get("final") if isinstance(status.get("final"), dict) else {}
        for metric in metrics:
            summary = reader.summary(f"epoch/{metric}")
            row[f"final {metric}"] = final.get(metric, summary.get("last"))
            row[f"best {metric}"] = summary.get("min" if lower_is_better(metric) else "max")
        row["note"] = record.note or None
        rows.append(row)
    return RunTable(columns, rows, list(records), [_short(k) for k in differing])
