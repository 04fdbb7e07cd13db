"""Reading CSV/TSV files: encoding, delimiter and header detection, and row iteration."""

from __future__ import annotations

import codecs
import csv
import math
import os
import re
from dataclasses import dataclass, field

from engine.data.errors import DataImportError
from engine.data.readers.common import check_readable, open_failure_reason

__all__ = ["TableLayout", "sniff_table", "iter_rows", "parse_number", "detect_encoding", "MISSING_TOKENS"]

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-", "#n/a"})
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")  # latin-1 decodes any byte: the last resort
_CHUNK = 1 << 20
_FILE_LIKE = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,4}$")  # a file-name suffix such as ".png"


@dataclass
class TableLayout:
    """What :func:`sniff_table` found out about a table file."""

    path: str
    encoding: str
    delimiter: str
    has_header: bool
    names: list = field(default_factory=list)


def parse_number(text: str):
    """The float value of ``text``, or ``None`` when it is not a finite number."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _open_text(path, encoding: str):
    return open(path, newline="", encoding=encoding)


def _decodes(path, encoding: str) -> bool:
    """Whether the whole file decodes in ``encoding`` (read a megabyte at a time, never held whole)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    except OSError as exc:
        raise DataImportError(open_failure_reason(exc), path) from exc
    return True


def detect_encoding(path) -> str:
    """The encoding of the *whole* file: UTF-16 when it starts with a UTF-16 byte-order mark (Excel's
    "Unicode text", Notepad's "UTF-16"; latin-1 would read it as one garbled column without failing),
    else the first of UTF-8, Windows-1252 and Latin-1 that decodes every byte. Checking the whole file
    finds a first non-ASCII byte after the first 64 KiB too."""
    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError as exc:
        raise DataImportError(open_failure_reason(exc), path) from exc
    if head in (b"\xff\xfe", b"\xfe\xff"):
        if _decodes(path, "utf-16"):
            return "utf-16"
        raise DataImportError("starts with a UTF-16 byte-order mark but is not valid UTF-16 text", path)
    for encoding in _ENCODINGS[:-1]:
        if _decodes(path, encoding):
            return encoding
    return _ENCODINGS[-1]


def sniff_table(path, delimiter: str | None = None, header="auto") -> TableLayout:
    """Detect encoding, delimiter, header and column names of a CSV/TSV file.

    Parameters
    ----------
    path : str
    delimiter : str, optional
        Forced delimiter; detected among ``, ; TAB |`` otherwise (TAB for ``.tsv``/``.tab``).
    header : {"auto", True, False}
        Whether the first row names the columns.

    Returns
    -------
    TableLayout
    """
    check_readable(path)
    encoding = detect_encoding(path)
    try:
        with _open_text(path, encoding) as f:
            sample = f.read(1 << 16)
    except (OSError, UnicodeDecodeError) as exc:
        reason = open_failure_reason(exc) if isinstance(exc, OSError) else f"cannot decode the file ({exc})"
        raise DataImportError(reason, path) from exc
    if not sample.strip():
        raise DataImportError("file has no rows", path)
    if delimiter is None:
        if os.fspath(path).lower().endswith((".tsv", ".tab")):
            delimiter = "\t"
        else:
            delimiter = _guess_delimiter(sample)
    # The last line of the sample may be cut in half; drop it unless the sample is the whole file.
    lines = sample.splitlines()
    rows = [r for r in csv.reader(lines[:-1] if len(sample) == 1 << 16 else lines, delimiter=delimiter) if r]
    if header == "auto":
        header = _looks_like_header(rows, sample, delimiter)
    width = len(rows[0]) if rows else 0
    names = [c.strip() for c in rows[0]] if header else [f"column{i}" for i in range(width)]
    names = [n or f"column{i}" for i, n in enumerate(names)]
    return TableLayout(os.fspath(path), encoding, delimiter, bool(header), names)


def _guess_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        first = sample.splitlines()[0]
        counts = {d: first.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _looks_like_header(rows: list, sample: str, delimiter: str) -> bool:
    if not rows:
        return False
    first = [c.strip() for c in rows[0]]
    if any(parse_number(c) is not None or c.lower() in MISSING_TOKENS for c in first):
        return False
    body = rows[1:]
    if not body:
        return True
    # A header row is all text above at least one column that holds numbers below it.
    for j in range(len(first)):
        values = [r[j].strip() for r in body if j < len(r) and r[j].strip().lower() not in MISSING_TOKENS]
        if values and all(parse_number(v) is not None for v in values):
            return True
        # Same idea for a column of file names under a plain-word title ("file" over "a.png").
        if values and all(_FILE_LIKE.search(v) for v in values) and not _FILE_LIKE.search(first[j]):
            return True
    try:
        return csv.Sniffer().has_header(sample)
    except csv.Error:
        return False


def iter_rows(layout: TableLayout):
    """Yield ``(line_number, fields)`` for each non-blank data row (header skipped, fields stripped)."""
    reader = None
    try:
        with _open_text(layout.path, layout.encoding) as f:
            reader = csv.reader(f, delimiter=layout.delimiter)
            first = True
            for row in reader:
                if first:
                    first = False
                    if layout.has_header:
                        continue
                if not row or all(not c.strip() for c in row):
                    continue
                yield reader.line_num, [c.strip() for c in row]
    except OSError as exc:
        raise DataImportError(open_failure_reason(exc), layout.path) from exc
    except csv.Error as exc:
        line = reader.line_num + 1 if reader is not None else None
        raise DataImportError(f"malformed CSV ({exc})", layout.path, line) from exc
    except UnicodeDecodeError as exc:
        # Only if the file changed since its encoding was detected.
        line = reader.line_num + 1 if reader is not None else None
        raise DataImportError(f"not {layout.encoding} text ({exc.reason})", layout.path, line) from exc
