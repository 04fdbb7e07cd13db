"""Sample edits: a non-destructive overlay on a dataset (relabel, exclude, check later).

The files on disk are never touched: a project keeps its edits as a list (``project.dataset["edits"]``)
and the data pipeline applies them after loading and splitting, so every run of the project, in the
studio or with ``sigma train``, trains on the edited data. A record is named by its position in the
whole dataset as loaded (record order, before any split), which stays the same from run to run.

Examples
--------
>>> edits = DatasetEdits()
>>> edits.add(SampleEdit(record=12, action="relabel", label="7"))
>>> edits.add(SampleEdit(record=40, action="exclude"))
>>> edited, records = edits.apply(dataset, np.arange(len(dataset)))
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from .dataset import Dataset

__all__ = ["ACTIONS", "EditError", "SampleEdit", "DatasetEdits", "split_records", "record_origin"]

#: What an edit can do: give a record another class, leave it out of training and validation, or only
#: mark it to look at again (no effect on the data).
ACTIONS = ("relabel", "exclude", "check")


class EditError(ValueError):
    """An edit that does not fit the dataset or is malformed; the message names the edit and record."""


@dataclasses.dataclass(frozen=True)
class SampleEdit:
    """One edit of one record.

    Attributes
    ----------
    record : int
        Position of the record in the whole dataset as loaded (0-based, before any split).
    action : str
        ``"relabel"``, ``"exclude"`` or ``"check"``.
    label : str or None
        The new class name (relabel only).
    origin : str
        Where the record comes from, for display ("digits.csv.gz, row 13").
    """

    record: int
    action: str
    label: str | None = None
    origin: str = ""

    def __post_init__(self):
        if isinstance(self.record, bool) or not isinstance(self.record, int | np.integer) or self.record < 0:
            raise EditError(f"Invalid edit: `record` must be an integer >= 0. Received: {self.record!r}")
        if self.action not in ACTIONS:
            raise EditError(
                f"Invalid edit of record {self.record}: action {self.action!r} is not one of {ACTIONS}"
            )
        if (self.action == "relabel") != (self.label is not None):
            raise EditError(
                f"Invalid edit of record {self.record}: a relabel needs a `label` and only a relabel has one"
            )

    def to_dict(self) -> dict:
        """JSON-able form (as stored in the project)."""
        out = {"record": int(self.record), "action": self.action}
        if self.label is not None:
            out["label"] = str(self.label)
        if self.origin:
            out["origin"] = self.origin
        return out

    @classmethod
    def from_dict(cls, doc, where: str = "edit") -> SampleEdit:
        """The edit stored as ``doc``; :class:`EditError` naming ``where`` when it is malformed."""
        if not isinstance(doc, dict):
            raise EditError(f"{where}: expected an object with record and action, got {type(doc).__name__}")
        unknown = set(doc) - {"record", "action", "label", "origin"}
        if unknown:
            raise EditError(f"{where}: unknown field(s) {sorted(unknown)}")
        try:
            return cls(
                record=doc.get("record"),
                action=doc.get("action"),
                label=None if doc.get("label") is None else str(doc["label"]),
                origin=str(doc.get("origin", "")),
            )
        except EditError as exc:
            raise EditError(f"{where}: {exc}") from None

    def describe(self) -> str:
        """One line for the edit list ("record 12 (digits.csv.gz, row 13): relabel as 7")."""
        what = {"relabel": f"relabel as {self.label}", "exclude": "exclude", "check": "check later"}[
            self.action
        ]
        where = f" ({self.origin})" if self.origin else ""
        return f"record {self.record}{where}: {what}"


class DatasetEdits:
    """The ordered list of a project's sample edits, with undo.

    A later edit of a record replaces an earlier edit of the same kind (relabelling twice keeps the
    last label); ``check`` marks live beside the others.
    """

    def __init__(self, edits=()):
        self._edits: list[SampleEdit] = []
        for edit in edits:
            self.add(edit)

    # -- the list -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._edits)

    def __iter__(self):
        return iter(list(self._edits))

    def __getitem__(self, index: int) -> SampleEdit:
        return self._edits[index]

    def __eq__(self, other) -> bool:
        return isinstance(other, DatasetEdits) and self._edits == other._edits

    def add(self, edit: SampleEdit) -> SampleEdit | None:
        """Append ``edit``; returns the edit it replaced (same record and kind), or None."""
        if not isinstance(edit, SampleEdit):
            raise EditError(f"Invalid edit {edit!r}: expected a SampleEdit")
        replaced = None
        for k, old in enumerate(self._edits):
            if old.record == edit.record and _kind(old) == _kind(edit):
                replaced = self._edits.pop(k)
                break
        self._edits.append(edit)
        return replaced

    def remove(self, index: int) -> SampleEdit:
        """Take back edit number ``index`` (an undo of one edit); returns it."""
        if not 0 <= index < len(self._edits):
            raise EditError(f"no edit number {index}; there are {len(self._edits)}")
        return self._edits.pop(index)

    def of_record(self, record: int) -> list[SampleEdit]:
        """The edits of one record."""
        return [e for e in self._edits if e.record == record]

    # -- storage ------------------------------------------------------------------------------------
    def to_list(self) -> list[dict]:
        """JSON-able list (``project.dataset["edits"]``)."""
        return [e.to_dict() for e in self._edits]

    @classmethod
    def from_list(cls, docs, where: str = "dataset.edits") -> DatasetEdits:
        """Edits from their stored list; :class:`EditError` naming the entry at fault."""
        if docs is None:
            return cls()
        if not isinstance(docs, list):
            raise EditError(f"{where}: expected a list of edits, got {type(docs).__name__}")
        return cls(SampleEdit.from_dict(doc, f"{where}[{k}]") for k, doc in enumerate(docs))

    # -- applying -----------------------------------------------------------------------------------
    def check(self, dataset: Dataset) -> None:
        """Raise :class:`EditError` when an edit names a record or class the dataset does not have."""
        n = len(dataset)
        for k, edit in enumerate(self._edits):
            if edit.record >= n:
                raise EditError(
                    f"edit {k} ({edit.describe()}): the dataset has {n} records (0..{n - 1}); "
                    "did the data files change?"
                )
            if edit.action == "relabel":
                if dataset.classes is None:
                    raise EditError(
                        f"edit {k} ({edit.describe()}): the dataset has no classes to relabel with"
                    )
                if edit.label not in dataset.classes:
                    known = ", ".join(dataset.classes)
                    raise EditError(
                        f"edit {k} ({edit.describe()}): no class {edit.label!r}; classes are {known}"
                    )

    def apply(self, part: Dataset, records, whole: Dataset | None = None) -> tuple[Dataset, np.ndarray]:
        """The part with the edits applied.

        Parameters
        ----------
        part : Dataset
            Records of the whole dataset (all of it, or one part of a split).
        records : array of int, shape (len(part),)
            The position in the whole dataset of each record of ``part``.
        whole : Dataset, optional
            The whole dataset, to check edits against (defaults to ``part``).

        Returns
        -------
        (Dataset, ndarray)
            The edited part (a new dataset; ``part`` is unchanged) and the whole-dataset positions of
            its records.
        """
        records = np.asarray(records, dtype=np.int64)
        if len(records) != len(part):
            raise EditError(f"records has {len(records)} entries for a part of {len(part)} records")
        self.check(whole if whole is not None else part)
        changes = [e for e in self._edits if e.action != "check"]
        if not changes:
            return part, records
        where = {int(r): k for k, r in enumerate(records)}
        sections = {}
        relabels = [
            (where[e.record], e.label) for e in changes if e.action == "relabel" and e.record in where
        ]
        if relabels:
            targets = np.array(part["targets"], copy=True)
            for row, label in relabels:
                targets[row] = part.classes.index(label)
            sections["targets"] = targets
        edited = part.with_sections(sections) if sections else part
        excluded = {where[e.record] for e in changes if e.action == "exclude" and e.record in where}
        if excluded:
            keep = np.array([k for k in range(len(part)) if k not in excluded], dtype=np.int64)
            if keep.size == 0:
                raise EditError("the edits exclude every record of the data")
            edited, records = edited.subset(keep), records[keep]
        return edited, records


def _kind(edit: SampleEdit) -> str:
    return "check" if edit.action == "check" else "data"


def split_records(dataset: Dataset, fractions: dict, stratify: bool, seed: int) -> dict:
    """The whole-dataset positions of the records :meth:`Dataset.split` puts in each part.

    The split depends only on the record count, the classes, the targets and the seed, so splitting a
    dataset of record numbers with the same targets gives the same parts.
    """
    numbers = {"record": np.arange(len(dataset), dtype=np.int64)}
    if "targets" in dataset:
        numbers["targets"] = np.asarray(dataset["targets"])
    parts = Dataset(numbers, dataset.classes).split(fractions, stratify=stratify, seed=seed)
    return {name: np.asarray(part["record"]) for name, part in parts.items()}


def record_origin(dataset: Dataset, record: int) -> str:
    """Where record ``record`` of ``dataset`` comes from: its file, or the source and its data row."""
    meta = getattr(dataset, "meta", {}) or {}
    files = meta.get("files")
    if isinstance(files, list) and len(files) == len(dataset):
        return str(files[record])
    source = meta.get("source")
    if isinstance(source, str) and source:
        return f"{os.path.basename(source)}, row {record + 1}"
    return f"record {record}"
