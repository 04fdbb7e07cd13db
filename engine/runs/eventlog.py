"""The events log of a run folder: every event the studio shows that is not a metric series.

Layout (inside ``<run>/events/``)::

    index.json          the commit marker: committed bytes and records of log.jsonl, and the sequence
                        number of each latest-only file
    log.jsonl           append-only, one JSON record per line: run states, log lines, checkpoints,
                        errors, epoch metrics, confusion matrices, layer health, resource use, control
                        acknowledgements, and a time mark per commit (iteration, epoch, wall time)
    latest-<Kind>.json  latest-only payloads, replaced whole (rename): sample predictions, validation
                        predictions, parameter histograms

A record is ``{"k": kind, "at": iteration, "ep": epoch, "t": wall time, "e": {field: value}}``, where a
value is JSON, ``{"$a": [dtype, shape, base64 bytes]}`` for an array (image samples as uint8 with
``"$q": 255``: a quarter of float32's size), ``{"$t": [...]}`` for a tuple, ``{"$f": {...}}`` for a
:class:`~engine.events.HealthFinding`. Only the classes of :mod:`engine.events` are ever rebuilt from a
record (by name, from a fixed list), and nothing is unpickled.

Why this format: it is :mod:`engine.runs.series`'s, for the same reasons (a reader in another process,
possibly over NFS or SMB, where HDF5 SWMR's write ordering and SQLite WAL's shared memory are not
available). The writer appends the lines, closes the file, writes the latest-only files, then replaces
``index.json``; a reader reads the index and never more bytes than it names, and parses only whole
lines, so it never sees a torn record (``tests/engine/runs/test_torn_records.py``). Measured with
``python -m bench live`` on the shared 2-core machine (bench/README.md): on the training thread an event
costs a list append (0.02-0.05 % of a W1/W2 step; encoding happens at commit); a whole commit (series,
log, status: a few small writes and three renames) costs 0.56-0.70 % of a step's CPU, once a second on
the recorder's writer thread. The alternatives were not measured: they fail the share requirement.

Bounded size: the large payloads are latest-only (one file per kind, replaced, written at most every
``latest_every_s``; the newest one waiting is written at the end of the run), so they never make the log
grow, and one whose arrays pass 8 MiB is not recorded at all (a log line says so once); what is
appended is small (an epoch's metrics, a C x C confusion matrix, a health report every 50 iterations,
resource use at most once a second).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
import time
from pathlib import Path

import numpy as np

from .. import events as ev
from .series import read_json, write_json_atomic

__all__ = ["EventLogWriter", "EventLogReader", "encode_event", "decode_event", "LATEST_KINDS", "FORMAT"]

FORMAT = "sigma.events/1"
_INDEX = "index.json"
_LOG = "log.jsonl"

#: Event kinds kept latest-only (their payloads are large and the studio shows only the newest).
LATEST_KINDS = ("SamplePredictions", "ValidationPredictions", "ParameterHistograms")
#: Appended, but at most one per this many seconds (the newest waiting one is written).
_THROTTLED = {"ResourceUsage": 1.0}
#: Event classes a record may name (never anything else).
_CLASSES = {
    cls.__name__: cls
    for cls in (
        ev.RunStateChanged,
        ev.IterationMetrics,
        ev.EpochMetrics,
        ev.SamplePredictions,
        ev.ResourceUsage,
        ev.ConfusionMatrix,
        ev.ValidationPredictions,
        ev.ParameterHistograms,
        ev.LayerHealthReport,
        ev.LogMessage,
        ev.ErrorEvent,
        ev.CheckpointSaved,
    )
}
_TUPLE_FIELDS = ("classes", "findings")
#: A record larger than this (encoded) is not written; a log line says so instead.
MAX_RECORD_BYTES = 16 * 1024 * 1024


# ---------------------------------------------------------------------------------------------- encoding
def _encode(value, quantise: bool = False):
    if isinstance(value, np.ndarray):
        array = value
        if (
            quantise
            and array.dtype.kind == "f"
            and array.size
            and np.nanmin(array) >= 0
            and np.nanmax(array) <= 1
        ):
            data = np.round(np.nan_to_num(array) * 255).astype(np.uint8)
            return {"$a": ["uint8", list(data.shape), base64.b64encode(data.tobytes()).decode()], "$q": 255}
        if array.dtype == np.float64:
            array = array.astype(np.float32)  # what the studio draws; half the bytes
        if array.dtype.kind not in "biuf":
            return [_encode(v) for v in array.tolist()]
        array = np.ascontiguousarray(array)
        return {"$a": [array.dtype.str, list(array.shape), base64.b64encode(array.tobytes()).decode()]}
    if isinstance(value, ev.HealthFinding):
        return {"$f": dataclasses.asdict(value)}
    if isinstance(value, tuple):
        return {"$t": [_encode(v, quantise) for v in value]}
    if isinstance(value, list):
        return [_encode(v, quantise) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v, quantise) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "__array__"):  # a device array that slipped through
        return _encode(np.asarray(value), quantise)
    return str(value)


def _decode(value):
    if isinstance(value, dict):
        if "$a" in value:
            dtype, shape, data = value["$a"]
            array = np.frombuffer(base64.b64decode(data), dtype=np.dtype(dtype)).reshape(shape).copy()
            if "$q" in value:
                array = array.astype(np.float32) / float(value["$q"])
            return array
        if "$t" in value:
            return tuple(_decode(v) for v in value["$t"])
        if "$f" in value:
            fields = value["$f"]
            return ev.HealthFinding(
                **{f.name: fields[f.name] for f in dataclasses.fields(ev.HealthFinding) if f.name in fields}
            )
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def encode_event(event: ev.Event) -> dict:
    """The fields of an event as JSON-ready values (``source`` and ``time`` included)."""
    quantise = isinstance(event, ev.SamplePredictions) and event.kind == "image"
    return {f.name: _encode(getattr(event, f.name), quantise) for f in dataclasses.fields(event)}


def decode_event(kind: str, fields: dict) -> ev.Event | None:
    """Rebuild an event of class ``kind`` (a name in :mod:`engine.events`); None for an unknown kind.

    Fields the class does not have are dropped (a newer writer), missing ones take their defaults.
    """
    cls = _CLASSES.get(kind)
    if cls is None or not isinstance(fields, dict):
        return None
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: _decode(v) for k, v in fields.items() if k in names}
    for key in _TUPLE_FIELDS:
        if isinstance(values.get(key), list):
            values[key] = tuple(values[key])
    try:
        return cls(**values)
    except (TypeError, ValueError):
        return None


def _array_bytes(event: ev.Event) -> int:
    """Bytes of the arrays an event holds (the part that makes a record large)."""
    total = 0
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, np.ndarray):
            total += value.nbytes
        elif isinstance(value, dict):  # histograms: {name: (counts, edges)}
            for item in value.values():
                for part in item if isinstance(item, tuple) else (item,):
                    total += getattr(part, "nbytes", 0)
    return total


# ---------------------------------------------------------------------------------------------- writer
class EventLogWriter:
    """Queues events (any thread, cheap) and writes them at :meth:`commit` (one thread at a time).

    Parameters
    ----------
    folder : path
        The ``events`` folder (created).
    latest_every_s : float
        Latest-only payloads are written at most this often (the newest waiting is kept).
    """

    def __init__(self, folder, latest_every_s: float = 2.0):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.latest_every_s = float(latest_every_s)
        self._lock = threading.Lock()
        self._commit_lock = threading.Lock()
        self._queue: list[tuple[str, int, int, float, ev.Event | dict]] = []
        self._latest: dict[str, tuple] = {}  # kind -> (at, epoch, time, event) waiting to be written
        self._latest_written: dict[str, float] = {}  # kind -> monotonic time of the last write
        self._latest_seq: dict[str, int] = {}
        self._throttled: dict[str, float] = {}
        self._too_large: set[str] = set()
        self._bytes = 0
        self._count = 0
        self._mark = None  # (at, epoch) of the last time mark
        write_json_atomic(self.folder / _INDEX, self._index())

    def add(self, event: ev.Event, at: int, epoch: int) -> None:
        """Queue ``event`` seen at iteration ``at`` of epoch ``epoch``."""
        kind = type(event).__name__
        if kind in LATEST_KINDS and _array_bytes(event) > MAX_RECORD_BYTES // 2:
            # Too large to encode every few seconds (every validation sample of a large dataset):
            # say so once; the confusion matrix, in the log, still shows how the run does.
            if kind not in self._too_large:
                self._too_large.add(kind)
                note = ev.LogMessage(
                    source="recorder",
                    level="warning",
                    message=f"{kind} of {_array_bytes(event) // 2**20} MiB are too large to record",
                )
                self.add(note, at, epoch)
            return
        with self._lock:
            if kind in LATEST_KINDS:
                self._latest[kind] = (at, epoch, event.time, event)
                return
            every = _THROTTLED.get(kind)
            if every is not None:
                now = time.monotonic()
                if now - self._throttled.get(kind, -1e9) < every:
                    return
                self._throttled[kind] = now
            self._queue.append((kind, at, epoch, event.time, event))

    def add_record(self, kind: str, at: int, epoch: int, fields: dict) -> None:
        """Queue a record that is not an engine event (a control acknowledgement: ``kind="control"``)."""
        with self._lock:
            self._queue.append((kind, at, epoch, time.time(), fields))

    def commit(self, at: int, epoch: int, final: bool = False) -> None:
        """Append the queued records and a time mark, write due latest-only files, publish the index.

        ``final`` writes every waiting latest-only payload whatever its age (the end of the run).
        """
        with self._commit_lock:
            with self._lock:
                queue, self._queue = self._queue, []
                now = time.monotonic()
                due = {
                    kind: item
                    for kind, item in self._latest.items()
                    if final or now - self._latest_written.get(kind, -1e9) >= self.latest_every_s
                }
                for kind in due:
                    del self._latest[kind]
                    self._latest_written[kind] = now
            lines = []
            for kind, rec_at, rec_epoch, stamp, payload in queue:
                fields = encode_event(payload) if isinstance(payload, ev.Event) else _encode(payload)
                lines.append(self._line(kind, rec_at, rec_epoch, stamp, fields))
            if self._mark != (at, epoch) or lines:
                self._mark = (at, epoch)
                lines.append(self._line("mark", at, epoch, time.time(), None))
            for kind, (rec_at, rec_epoch, stamp, event) in due.items():
                seq = self._latest_seq.get(kind, 0) + 1
                record = json.loads(self._line(kind, rec_at, rec_epoch, stamp, encode_event(event)))
                record["seq"] = seq
                try:
                    write_json_atomic(self.folder / f"latest-{kind}.json", record, compact=True)
                except OSError:
                    continue
                self._latest_seq[kind] = seq
            if lines:
                data = "".join(lines).encode("utf-8")
                with open(self.folder / _LOG, "ab") as fh:
                    fh.write(data)
                self._bytes += len(data)
                self._count += len(lines)
            write_json_atomic(self.folder / _INDEX, self._index(), compact=True)

    def _line(self, kind, at, epoch, stamp, fields) -> str:
        record = {"k": kind, "at": int(at), "ep": int(epoch), "t": float(stamp)}
        if fields is not None:
            record["e"] = fields
        text = json.dumps(record, separators=(",", ":"), allow_nan=True)
        if len(text) > MAX_RECORD_BYTES:
            note = f"a {kind} event of {len(text) // 1024} KiB was too large to record"
            record = {
                **record,
                "k": "LogMessage",
                "e": {"level": "warning", "message": note, "source": "recorder"},
            }
            text = json.dumps(record, separators=(",", ":"))
        return text + "\n"

    def _index(self) -> dict:
        return {
            "format": FORMAT,
            "bytes": self._bytes,
            "records": self._count,
            "latest": {
                kind: {"seq": seq, "file": f"latest-{kind}.json"} for kind, seq in self._latest_seq.items()
            },
        }


# ---------------------------------------------------------------------------------------------- reader
class EventLogReader:
    """Reads the committed records of an ``events`` folder incrementally (safe while it is written).

    Every :meth:`read_new` returns the records committed since the last call, as dicts
    (``{"k", "at", "ep", "t", "e"}``), log records first, then newer latest-only payloads. A missing
    folder or index reads as empty; a damaged line is skipped.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.offset = 0
        self._seen_latest: dict[str, int] = {}

    def exists(self) -> bool:
        return (self.folder / _INDEX).is_file()

    def read_new(self) -> list[dict]:
        index = read_json(self.folder / _INDEX, None)
        if not isinstance(index, dict) or index.get("format") != FORMAT:
            return []
        records = []
        committed = int(index.get("bytes") or 0)
        if committed > self.offset:
            try:
                with open(self.folder / _LOG, "rb") as fh:
                    fh.seek(self.offset)
                    data = fh.read(committed - self.offset)
            except OSError:
                data = b""
            end = data.rfind(b"\n") + 1  # whole lines only (a share may show fewer bytes than committed)
            self.offset += end
            for line in data[:end].splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and "k" in record:
                    records.append(record)
        for kind, entry in (index.get("latest") or {}).items():
            if not isinstance(entry, dict) or kind not in LATEST_KINDS:
                continue
            if int(entry.get("seq") or 0) <= self._seen_latest.get(kind, 0):
                continue
            record = read_json(self.folder / f"latest-{kind}.json", None)
            if isinstance(record, dict) and int(record.get("seq") or 0) > self._seen_latest.get(kind, 0):
                self._seen_latest[kind] = int(record["seq"])
                records.append(record)
        return records


def record_event(record: dict) -> ev.Event | None:
    """The engine event a log record holds (None for marks, control records and unknown kinds)."""
    fields = record.get("e")
    if not isinstance(fields, dict):
        return None
    return decode_event(str(record.get("k")), fields)
