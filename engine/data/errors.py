"""Import errors, the skip report, and the context every reader reports through.

Readers never raise or print on their own: they call :meth:`ImportContext.fail` with the file and row
at fault, and the context either raises :class:`DataImportError` (``on_error="raise"``) or records the
problem in the report and tells the reader to skip the record (``on_error="skip"``). Progress and
cancellation go through the same object so the GUI can import on a background thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass

__all__ = ["DataImportError", "ImportCancelled", "ReportRecord", "ImportContext"]


class DataImportError(Exception):
    """A source could not be turned into a dataset.

    Parameters
    ----------
    reason : str
        What is wrong, in words a user can act on.
    file : str or os.PathLike, optional
        The file at fault (or the folder / archive when no single file is).
    row : int, optional
        1-based row or line number inside ``file`` (CSV line, text line), or record index for
        binary formats, when the problem is local to one record.

    Attributes
    ----------
    file : str or None
    row : int or None
    reason : str
    """

    def __init__(self, reason: str, file: str | os.PathLike | None = None, row: int | None = None):
        self.reason = str(reason)
        self.file = None if file is None else os.fspath(file)
        self.row = None if row is None else int(row)
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        return f"{', '.join(where)}: {self.reason}" if where else self.reason

    def __reduce__(self):
        # Keeps the attributes when the error crosses a process or thread-pool boundary.
        return (type(self), (self.reason, self.file, self.row))


class ImportCancelled(Exception):
    """The import was cancelled through the ``cancel`` event; no dataset was produced."""


@dataclass(frozen=True)
class ReportRecord:
    """One skipped record or warning: where it was and why.

    Attributes
    ----------
    file : str or None
    row : int or None
    reason : str
    action : str
        ``"skipped"`` (the record is not in the dataset) or ``"warning"`` (kept, but worth a look).
    """

    file: str | None
    row: int | None
    reason: str
    action: str = "skipped"

    def as_dict(self) -> dict:
        """Return the record as a JSON-able dict."""
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.action}: {DataImportError(self.reason, self.file, self.row)}"


ProgressCallback = Callable[[int, int, str], None]


class ImportContext:
    """Error policy, report, progress and cancellation shared by the readers of one import.

    Parameters
    ----------
    on_error : {"raise", "skip"}
        ``"raise"`` stops at the first bad record; ``"skip"`` leaves it out and records it.
    progress : callable(done, total, path), optional
        Called after each file (or block of rows) is read. ``total`` may grow while a folder is
        being listed. It runs on the importing thread and must return quickly.
    cancel : threading.Event, optional
        When set, the import stops at the next record with :class:`ImportCancelled`.
    """

    def __init__(
        self,
        on_error: str = "raise",
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ):
        if on_error not in ("raise", "skip"):
            raise ValueError(
                f"Invalid value for `on_error`. Expected 'raise' or 'skip'. Received: {on_error!r}"
            )
        self.on_error = on_error
        self.progress = progress
        self.cancel = cancel
        self.report: list[ReportRecord] = []

    def fail(self, reason: str, file=None, row: int | None = None) -> None:
        """Report a bad record: raise under ``on_error="raise"``, else record it and return.

        Callers skip the record when this returns.
        """
        error = DataImportError(reason, file, row)
        if self.on_error == "raise":
            raise error
        self.report.append(ReportRecord(error.file, error.row, error.reason, "skipped"))

    def drop(self, reason: str, file=None, row: int | None = None) -> None:
        """Record a record left out on purpose by a policy the user chose (e.g. ``missing="drop"``)."""
        error = DataImportError(reason, file, row)
        self.report.append(ReportRecord(error.file, error.row, error.reason, "skipped"))

    def warn(self, reason: str, file=None, row: int | None = None) -> None:
        """Record a warning that does not drop data (e.g. an image was resized)."""
        error = DataImportError(reason, file, row)
        self.report.append(ReportRecord(error.file, error.row, error.reason, "warning"))

    def check_cancel(self) -> None:
        """Raise :class:`ImportCancelled` if the cancel event is set."""
        if self.cancel is not None and self.cancel.is_set():
            raise ImportCancelled("import cancelled")

    def tick(self, done: int, total: int, path) -> None:
        """Report progress, then honour a pending cancel."""
        if self.progress is not None:
            self.progress(int(done), int(total), os.fspath(path))
        self.check_cancel()

    @property
    def skipped(self) -> int:
        """Number of records left out so far."""
        return sum(1 for r in self.report if r.action == "skipped")
