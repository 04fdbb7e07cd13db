"""Read a run folder while it is written, from another process or machine: the studio's watcher and
``sigma runs`` use this.

:class:`LiveReader` turns what a run folder holds (metric series, the events log, ``status.json``) back
into the same :mod:`engine.events` classes the trainer emitted, so a watched run goes through the
studio's ordinary event dispatch. :func:`live_state` says whether a run is running, paused, finished,
stopped, failed or lost (no heartbeat for ``lost_after_s``). Steering is :func:`send_control`
(re-exported from :mod:`engine.runs.control`).
"""

from __future__ import annotations

import bisect
import os
import time
from pathlib import Path

import numpy as np

from .. import events as ev
from .control import COMMANDS, send_control
from .eventlog import EventLogReader, record_event
from .folder import RunError, open_run
from .series import SeriesReader, read_json

__all__ = ["LiveReader", "RunError", "live_state", "send_control", "COMMANDS", "LOST_AFTER_S", "LIVE_STATES"]

#: A run whose ``status.json`` has not been refreshed for this long (and that has not ended) is lost.
LOST_AFTER_S = 30.0
#: What :func:`live_state` answers.
LIVE_STATES = ("running", "paused", "finished", "stopped", "failed", "lost")
_FINAL = {"finished": "finished", "stopped": "stopped", "error": "failed", "failed": "failed", "lost": "lost"}
#: The first poll reads at most this many points per iteration series (from the downsampled levels).
HISTORY_POINTS = 20_000


def _heartbeat(status: dict, meta: dict | None = None) -> float | None:
    """When the writer last said it lived (its own clock), or None when it never did."""
    for value in (status.get("updated"), (meta or {}).get("created")):
        if isinstance(value, (int, float)):
            return float(value)
    return None


def live_state(
    status: dict, meta: dict | None = None, now: float | None = None, lost_after_s: float = LOST_AFTER_S
) -> str:
    """``running``, ``paused``, ``finished``, ``stopped``, ``failed`` or ``lost`` for a run's status.

    A run that has not ended and whose ``updated`` time (else ``run.json``'s ``created``) is more than
    ``lost_after_s`` seconds old is lost: its process was killed, its machine went down, or the share
    stopped showing its writes. This compares the writer's clock with this machine's; a watcher that
    keeps reading uses :meth:`LiveReader.state`, which only needs the heartbeat to change.
    """
    state = str(status.get("state") or "created")
    if state in _FINAL:
        return _FINAL[state]
    beat = _heartbeat(status, meta)
    now = time.time() if now is None else now
    if beat is None or now - beat > lost_after_s:
        return "lost"
    return "paused" if state == "paused" else "running"


class LiveReader:
    """Incremental reader of one run folder, safe while the run writes it.

    Parameters
    ----------
    folder : path
        A run folder (``<project>.runs/run-0003``).
    lost_after_s : float
        No change of the heartbeat for this long (and no final state): the run is lost.
    history_points : int
        At most this many points of each iteration series on the first poll (a long run's history is
        read from the downsampled levels: every spike kept).

    Raises
    ------
    RunError
        When ``folder`` is not a run folder.
    """

    def __init__(self, folder, lost_after_s: float = LOST_AFTER_S, history_points: int = HISTORY_POINTS):
        self.folder = Path(folder)
        self.record = open_run(self.folder)  # RunError when it is not a run folder
        self.lost_after_s = float(lost_after_s)
        self.history_points = int(history_points)
        self._log = EventLogReader(self.folder / "events")
        self._read: dict[str, int] = {}  # series name -> raw points already returned
        self._marks_at: list[int] = []  # (iteration, wall time) of each commit, for the points' times
        self._new_marks = 0  # how many marks the current poll read
        self._marks_t: list[float] = []
        self._epoch_ends: list[int] = []  # iterations at which an epoch ended
        self._base_epoch: int | None = None
        self._acks: list[dict] = []
        self._status: dict = dict(self.record.status)
        self._beat_value = None
        self._beat_seen = 0.0  # this machine's monotonic time when the heartbeat last changed
        self._said_state: str | None = None
        self._legacy_ended = False
        self._note_heartbeat()

    # ------------------------------------------------------------------ state
    def status(self) -> dict:
        """``status.json`` as last read (re-read by :meth:`poll` and :meth:`state`)."""
        return dict(self._status)

    def state(self) -> str:
        """``running``, ``paused``, ``finished``, ``stopped``, ``failed`` or ``lost`` (reads the status)."""
        self._refresh_status()
        return self._state_now()

    def acknowledgements(self) -> list[dict]:
        """Control acknowledgements read by the polls so far: ``{"id", "command", "outcome", "message",
        "at"}``,
        ``outcome`` ``"applied"`` or ``"ignored"`` (see :mod:`engine.runs.control`)."""
        return [dict(a) for a in self._acks]

    def _refresh_status(self) -> None:
        status = read_json(self.folder / "status.json", None)
        if isinstance(status, dict):
            self._status = status
            self._note_heartbeat()

    def _note_heartbeat(self) -> None:
        beat = _heartbeat(self._status, self.record.meta)
        if beat == self._beat_value:
            return
        now = time.monotonic()
        if self._beat_value is None and beat is not None:  # first look: trust the wall clock's age
            age = min(max(0.0, time.time() - beat), self.lost_after_s + 1.0)
            self._beat_seen = now - age
        else:
            self._beat_seen = now
        self._beat_value = beat

    def _state_now(self) -> str:
        state = str(self._status.get("state") or "created")
        if state in _FINAL:
            return _FINAL[state]
        if self._beat_value is None or time.monotonic() - self._beat_seen > self.lost_after_s:
            return "lost"
        return "paused" if state == "paused" else "running"

    # ------------------------------------------------------------------ events
    def poll(self) -> list[ev.Event]:
        """New events since the last poll, oldest first, as the :mod:`engine.events` classes the trainer
        emitted: :class:`~engine.events.IterationMetrics` (rebuilt from the series; times from the
        commit marks), :class:`~engine.events.EpochMetrics`, sample predictions, confusion matrices,
        validation predictions, histograms, layer health, log lines, run states, checkpoints (paths
        inside the run folder resolved against this reader's folder), errors, resource use. The first
        poll returns the history so far. When the run becomes lost, a
        :class:`~engine.events.RunStateChanged` with ``state="lost"`` is added (once), and one back to
        its state (``previous="lost"``) if it is heard from again.

        A folder being written, a missing file or a damaged record never raises; an unreachable folder
        raises ``OSError``.
        """
        os.stat(self.folder)  # a share gone away: say so (the caller shows "not reachable")
        self._refresh_status()
        keyed: list[tuple[int, int, int, ev.Event]] = []
        order = 0
        legacy = not self._log.exists()
        self._new_marks = 0
        for record in self._log.read_new():
            order += 1
            kind = record.get("k")
            at = _int(record.get("at"))
            if kind == "mark":
                self._new_marks += 1
                self._marks_at.append(at)
                self._marks_t.append(float(record.get("t") or 0.0))
                continue
            if kind == "control":
                fields = record.get("e") if isinstance(record.get("e"), dict) else {}
                self._acks.append({**fields, "at": at})
                continue
            event = record_event(record)
            if event is None:
                continue
            if isinstance(event, ev.RunStateChanged) and self._base_epoch is None:
                self._base_epoch = _int(record.get("ep"))
            if isinstance(event, ev.EpochMetrics):
                bisect.insort(self._epoch_ends, int(event.iteration))
            if isinstance(event, ev.CheckpointSaved):
                event = _local_checkpoint(event, self.folder)
            keyed.append((at, 1, order, event))
        series = SeriesReader(self.folder / "series")
        for point in self._iteration_events(series):
            keyed.append((point.iteration, 0, 0, point))
        if legacy:  # a folder recorded before the events log: epochs and the state from the series
            keyed.extend((0, 1, 0, e) for e in self._legacy_events(series))
        keyed.sort(key=lambda item: item[:3])
        events = [item[3] for item in keyed]
        state = self._state_now()
        if state == "lost" and self._said_state != "lost":
            previous = str(self._status.get("state") or "created")
            events.append(ev.RunStateChanged(source="live", state="lost", previous=previous))
        elif self._said_state == "lost" and state != "lost":  # heard from again (a share came back)
            current = str(self._status.get("state") or "running")
            events.append(ev.RunStateChanged(source="live", state=current, previous="lost"))
        self._said_state = state
        return events

    def _iteration_events(self, series: SeriesReader) -> list[ev.IterationMetrics]:
        points: dict[float, dict] = {}
        for name in series.names("iteration"):
            metric = name.split("/", 1)[1]
            count = series.count(name)
            start = self._read.get(name, 0)
            if count <= start:
                continue
            try:
                if start == 0 and count > self.history_points:
                    xs, ys = series.read(name, max_points=self.history_points)
                else:
                    xs, ys = series.read_range(name, start, count)
            except FileNotFoundError:
                continue
            self._read[name] = count
            for x, y in zip(xs.tolist(), ys.tolist()):
                points.setdefault(x, {})[metric] = y
        if not points:
            return []
        planned = self._status.get("planned_iterations")
        total = int(planned) if isinstance(planned, (int, float)) else None
        base = self._base_epoch or 0
        out = []
        for x in sorted(points):
            iteration = int(x)
            epoch = base + bisect.bisect_left(self._epoch_ends, iteration)
            out.append(
                ev.IterationMetrics(
                    source=self.record.settings.get("name", "") if self.record.settings else "",
                    time=self._time_of(iteration),
                    epoch=epoch,
                    iteration=iteration,
                    metrics=points[x],
                    total_iterations=total,
                )
            )
        return out

    def _time_of(self, iteration: int) -> float:
        """When an iteration's point was written, from the commit marks around it."""
        marks_at, marks_t = self._marks_at, self._marks_t
        if not marks_at:
            return float(self._status.get("updated") or time.time())
        k = bisect.bisect_left(marks_at, iteration)
        if k >= len(marks_at):
            # Past the last mark: written by the commit of a mark read in this poll (the points queued
            # while it wrote), or by a commit that landed between this poll's reading of the log and of
            # the series (the series are committed just before the log): then only now is near.
            return marks_t[-1] if self._new_marks else time.time()
        if k == 0 or marks_at[k] == marks_at[k - 1]:
            return marks_t[k]
        a0, a1, t0, t1 = marks_at[k - 1], marks_at[k], marks_t[k - 1], marks_t[k]
        return float(np.interp(iteration, [a0, a1], [t0, t1]))

    def _legacy_events(self, series: SeriesReader) -> list[ev.Event]:
        out: list[ev.Event] = []
        epochs: dict[int, dict] = {}
        for name in series.names("epoch"):
            xs, ys = series.read_range(name, self._read.get(name, 0))
            self._read[name] = self._read.get(name, 0) + len(xs)
            for x, y in zip(xs.tolist(), ys.tolist()):
                epochs.setdefault(int(x), {})[name.split("/", 1)[1]] = y
        for epoch in sorted(epochs):
            out.append(ev.EpochMetrics(source="live", epoch=epoch, metrics=epochs[epoch]))
        state = str(self._status.get("state") or "")
        if state in ("finished", "stopped", "error") and not self._legacy_ended:
            self._legacy_ended = True
            out.append(ev.RunStateChanged(source="live", state=state, previous="running"))
        return out


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _local_checkpoint(event: ev.CheckpointSaved, folder: Path) -> ev.CheckpointSaved:
    """A checkpoint path of the writer's machine, as this machine sees it: a file inside the run folder
    is found under the reader's path of the folder (a share mounted elsewhere, a copied folder)."""
    path = Path(event.path)
    if path.is_file():
        return event
    parts = path.parts
    for k in range(len(parts) - 1, -1, -1):
        if parts[k] == folder.name:
            local = folder.joinpath(*parts[k + 1 :])
            if local.is_file():
                return ev.CheckpointSaved(
                    source=event.source,
                    time=event.time,
                    path=str(local),
                    epoch=event.epoch,
                    iteration=event.iteration,
                    reason=event.reason,
                )
            break
    return event
