"""Steering a run through its folder: command files written by the studio or the CLI, obeyed by the run.

A command is one small JSON file in ``<run>/control/``, written to a temporary name and renamed, named
``<time in ns>-<pid>-<random>.json`` so that two writers (a studio and a terminal) never overwrite or
interleave each other's commands, and no writer needs a lock the share may not honour::

    {"format": "sigma.control/1", "id": "<the file's stem>", "command": "pause", "values": {},
     "time": 1764729000.12, "by": "sigma pause"}

``command`` is ``pause``, ``resume``, ``step`` (``values: {"n": 3}``), ``stop`` (a final checkpoint is
written first), ``checkpoint`` (a checkpoint now), or ``set`` (``values: {"optimiser.learning_rate":
0.01}``: an optimiser hyperparameter or a registry value tagged ``editable``, through the trainer's
registry, the same entry the studio's live fields set).

The run (:class:`RunController`, installed with the recorder by :func:`engine.run.build_run`) reads new
files every ``poll_s`` on a thread of its own, so it also hears them while paused, and applies each at
the next iteration boundary through the operator's thread-safe commands. Every command is acknowledged
in the events log (a ``control`` record ``{"id", "command", "outcome": "applied"|"ignored",
"message"}`` and a log line). Malformed files, unknown commands or values, and stale commands (written
before the run began) are ignored with a log line; nothing in a command file can crash the run.

Under MPI only rank 0 reads the folder. Pause, resume, step and stop need no more (the other ranks wait
in the next gradient exchange, and a stop travels with it); values set are broadcast by every rank's
controller after each iteration, so all ranks apply them at the same iteration; checkpoints are rank 0's.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from ..events import CheckpointSaved, LogMessage, RunStateChanged
from ..hooks.base import Hook
from ..hooks.saver import final_saver
from .folder import RunError, open_run
from .series import read_json

__all__ = ["COMMANDS", "ControlError", "send_control", "RunController", "editable", "ALIASES", "FORMAT"]

FORMAT = "sigma.control/1"
COMMANDS = ("pause", "resume", "step", "stop", "checkpoint", "set")
#: Short names for ``set`` (the CLI's ``sigma set RUN lr=0.01``).
ALIASES = {"lr": "optimiser.learning_rate", "learning_rate": "optimiser.learning_rate"}
_FINAL = ("finished", "stopped", "error", "failed")
_STALE_SLACK_S = 2.0  # clocks of two machines on a share disagree a little


class ControlError(RunError):
    """A command that cannot be sent (unknown, bad value, a run that has ended); names the run."""


def _values_for(command: str, values: dict, folder) -> dict:
    if command == "step":
        n = values.get("n", 1)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ControlError(f"step needs a whole number of iterations of at least 1, got {n!r}", folder)
        return {"n": int(n)}
    if command == "set":
        if not values:
            raise ControlError("set needs at least one NAME=VALUE (e.g. lr=0.01)", folder)
        out = {}
        for name, value in values.items():
            key = ALIASES.get(name, name)
            if "." not in key:  # a bare name is the optimiser's (momentum -> optimiser.momentum)
                key = f"optimiser.{key}"
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ControlError(f"set {name}: expected a finite number, got {value!r}", folder)
            out[key] = float(value)
        return out
    if values:
        raise ControlError(f"{command} takes no values (got {', '.join(values)})", folder)
    return {}


def send_control(folder, command: str, by: str = "", **values) -> str:
    """Ask the run recording into ``folder`` to ``pause``, ``resume``, ``step`` (``n=3``), ``stop``,
    ``checkpoint`` or ``set`` values (``set`` with ``lr=0.01`` or ``**{"optimiser.momentum": 0.8}``).

    Returns the command's id (its acknowledgement in :meth:`engine.runs.live.LiveReader.acknowledgements`
    carries it). ``by`` says who sent it (shown in the run's log).

    Raises
    ------
    RunError
        ``folder`` is not a run folder.
    ControlError
        An unknown command, a bad value, or a run that has already ended (nothing would obey).
    """
    folder = Path(folder)
    record = open_run(folder)
    if command not in COMMANDS:
        raise ControlError(f"unknown command {command!r}; expected one of {', '.join(COMMANDS)}", folder)
    doc_values = _values_for(command, dict(values), folder)
    state = record.status.get("state")
    if state in _FINAL:
        raise ControlError(
            f"the run has already {'failed' if state == 'error' else state}; nothing to {command}", folder
        )
    stamp = time.time()
    ident = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(3)}"
    doc = {"format": FORMAT, "id": ident, "command": command, "values": doc_values, "time": stamp, "by": by}
    inbox = folder / "control"
    inbox.mkdir(exist_ok=True)
    tmp = inbox / f".{ident}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh)
    os.replace(tmp, inbox / f"{ident}.json")
    return ident


def editable(registry, identifier: str, optimiser=None) -> bool:
    """Whether a live value may be set during a run: an optimiser hyperparameter (``optimiser.<name>``
    with ``<name>`` in the optimiser's ``hyperparameters``) or a registry entry tagged ``editable``."""
    if identifier not in registry:
        return False
    head, _, attr = identifier.partition(".")
    if head == "optimiser" and optimiser is not None and attr in getattr(optimiser, "hyperparameters", ()):
        return True
    try:
        return "editable" in registry.tags(identifier)
    except Exception:  # a registry without that entry's tags
        return False


class RunController(Hook):
    """Obey the command files of a run folder (see the module's docstring for the contract).

    Parameters
    ----------
    folder : path or None
        The run folder; None on MPI ranks other than 0 (they only take part in broadcasting values).
    recorder : RunRecorder, optional
        Where acknowledgements are recorded (rank 0's recorder).
    checkpoint_dir : path, optional
        Where ``checkpoint`` and ``stop`` write (default: the run folder's ``checkpoints``).
    poll_s : float
        How often the folder is listed.
    """

    priority = -90  # before the recorder's commit, after the hooks that report

    def __init__(self, folder=None, recorder=None, checkpoint_dir=None, poll_s: float = 0.25, **kwargs):
        kwargs.setdefault("name", "RunController")
        super().__init__(**kwargs)
        self.folder = Path(folder) if folder is not None else None
        self.recorder = recorder
        self.checkpoint_dir = (
            Path(checkpoint_dir)
            if checkpoint_dir
            else (self.folder / "checkpoints" if self.folder is not None else None)
        )
        self.poll_s = float(poll_s)
        self.trainer = None
        self._seen: set[str] = set()
        self._alive = threading.Event()
        self._thread: threading.Thread | None = None
        self._comm = None  # an MPI communicator of more than one rank
        self._outbox: list[tuple[str, dict]] = []  # values to broadcast (MPI rank 0)
        self._outbox_lock = threading.Lock()
        self._current = ("", "")  # (id, " (from <by>)") of the command being applied
        self._created = None
        self._project = SimpleNamespace(path=None, name="run")  # for checkpoint_name
        if self.folder is not None:
            meta = read_json(self.folder / "run.json", {}) or {}
            meta = meta if isinstance(meta, dict) else {}
            created = meta.get("created")
            self._created = float(created) if isinstance(created, (int, float)) else None
            self._project.path = meta.get("project") or None

    # ------------------------------------------------------------------ wiring
    def on_attach(self, trainer) -> None:
        self.trainer = trainer
        if self.folder is not None:
            trainer.events.subscribe(self._on_state, RunStateChanged)

    def _on_state(self, event) -> None:
        if event.state in ("running", "paused") and not self._alive.is_set():
            self._alive.set()
            self._thread = threading.Thread(target=self._watch, name="run-control", daemon=True)
            self._thread.start()
        elif event.state in ("finished", "stopped", "error", "idle"):
            self._alive.clear()

    def maybe_run(self, event: str, trainer) -> bool:
        if event == "start":
            comm = getattr(trainer.operator, "comm", None)
            self._comm = comm if comm is not None and comm.Get_size() > 1 else None
        elif event == "iteration" and self._comm is not None:
            self._broadcast(trainer)
        return False

    def run(self, trainer) -> None:  # pragma: no cover - maybe_run does the work
        pass

    # ------------------------------------------------------------------ the watcher thread
    def _watch(self) -> None:
        while self._alive.is_set():
            try:
                self.poll()
            except Exception as exc:  # never let a command file end the run
                self._log("warning", f"control: reading {self.folder / 'control'} failed: {exc}")
            time.sleep(self.poll_s)

    def poll(self) -> int:
        """Apply the command files not seen yet, oldest first; returns how many were handled."""
        inbox = self.folder / "control"
        try:
            names = sorted(
                e.name for e in os.scandir(inbox) if e.name.endswith(".json") and not e.name.startswith(".")
            )
        except FileNotFoundError:
            return 0
        handled = 0
        for name in names:
            if name in self._seen:
                continue
            self._seen.add(name)
            handled += 1
            self._handle(inbox / name)
        return handled

    def _handle(self, path: Path) -> None:
        ident = path.stem
        try:
            with open(path, encoding="utf-8") as fh:
                doc = json.load(fh)
        except (OSError, ValueError) as exc:
            self._ack(ident, "?", "ignored", f"unreadable command file {path.name} ({exc})")
            return
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            self._ack(ident, "?", "ignored", f"{path.name} is not a control command (format {FORMAT})")
            return
        command = doc.get("command")
        values = doc.get("values") if isinstance(doc.get("values"), dict) else {}
        stamp = doc.get("time")
        if self._created is not None and (
            not isinstance(stamp, (int, float)) or stamp < self._created - _STALE_SLACK_S
        ):
            self._ack(ident, str(command), "ignored", "stale: written before this run began")
            return
        if command not in COMMANDS:
            self._ack(ident, str(command), "ignored", f"unknown command {command!r}")
            return
        by = doc.get("by")
        self._current = (ident, f" (from {by})" if by else "")
        try:
            result = getattr(self, f"_do_{command}")(values)
        except Exception as exc:
            result = "ignored", f"failed: {exc}"
        if result is not None:  # None: the command acknowledged itself (stop, before the run ends)
            outcome, message = result
            self._ack(ident, command, outcome, message + self._current[1])

    # ------------------------------------------------------------------ commands (watcher thread)
    def _operator(self):
        return self.trainer.operator

    def _do_pause(self, values):
        ok = self._operator().pause()
        return ("applied", "pause at the next iteration") if ok else ("ignored", "the run is not running")

    def _do_resume(self, values):
        ok = self._operator().resume()
        return ("applied", "resumed") if ok else ("ignored", "the run is not paused")

    def _do_step(self, values):
        n = values.get("n", 1)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            return "ignored", f"step needs a whole number of at least 1, got {n!r}"
        ok = self._operator().step(n)
        return ("applied", f"step {n} iteration(s)") if ok else ("ignored", "the run is not paused")

    def _do_checkpoint(self, values):
        path = self._operator().at_boundary(lambda: self._save("requested by control"), timeout=600)
        return "applied", f"checkpoint written: {path}"

    def _do_stop(self, values):
        operator = self._operator()
        if not operator.control.active:
            return "ignored", "the run is not active"
        reason = "stopped by control"
        ident, by = self._current

        def save_and_acknowledge():
            # On the training thread, before the run can end: the acknowledgement is in the last commit.
            path = self._save(reason)
            self._ack(ident, "stop", "applied", f"stop; final checkpoint {path}{by}")
            if self._comm is None:
                operator.stop(reason)  # the same boundary: the final checkpoint is the run's last state

        operator.at_boundary(save_and_acknowledge, timeout=600)
        if self._comm is not None:  # MPI: the stop travels with the next exchange, every rank stops alike
            operator.stop(reason)
            operator.resume()  # a paused rank 0 must reach that exchange
        return None

    def _do_set(self, values):
        trainer = self.trainer
        if not values:
            return "ignored", "set names no value"
        checked = {}
        for name, value in values.items():
            key = ALIASES.get(name, name)
            if not isinstance(key, str) or not editable(trainer.registry, key, trainer.optimiser):
                return (
                    "ignored",
                    f"{name} is not a live value of this run (optimiser settings or values tagged editable)",
                )
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                return "ignored", f"{name}: expected a finite number, got {value!r}"
            checked[key] = float(value)
        if self._comm is not None:
            with self._outbox_lock:
                self._outbox.extend(checked.items())
        else:
            for key, value in checked.items():
                trainer.registry.set(key, value)  # the operator applies it at the next boundary
        return "applied", "set " + ", ".join(f"{k}={v:g}" for k, v in checked.items())

    # ------------------------------------------------------------------ helpers
    def _save(self, reason: str) -> str:
        """Write a checkpoint now (training thread, between iterations) and announce it."""
        from .. import checkpoint

        t = self.trainer
        stopping = reason.startswith("stopped")
        saver = final_saver(t) if stopping else None
        if saver is not None:  # the run's one final checkpoint (last.h5), not written again at its end
            return saver.save_final(t, reason)
        folder = self.checkpoint_dir
        folder.mkdir(parents=True, exist_ok=True)
        # Named as the run's own checkpoints are (digits-it001200.h5); a stop's is sigma train's last.h5.
        name = "last.h5" if stopping else checkpoint.checkpoint_name(self._project, t.iteration)
        path = checkpoint.save(t, folder / name)
        t.events.emit(
            CheckpointSaved(
                source=t.name, path=str(path), epoch=t.epoch, iteration=t.iteration, reason=reason
            )
        )
        return str(path)

    def _broadcast(self, trainer) -> None:
        """Every rank after each iteration: rank 0's queued values reach every rank's registry here."""
        import numpy as np

        comm = self._comm
        payload = b""
        if comm.Get_rank() == 0:
            with self._outbox_lock:
                items, self._outbox = self._outbox, []
            if items:
                payload = json.dumps(items).encode()
        size = np.array([len(payload)], dtype=np.int64)
        comm.Bcast(size, root=0)
        if not size[0]:
            return
        buffer = (
            np.frombuffer(payload, dtype=np.uint8).copy() if payload else np.empty(int(size[0]), np.uint8)
        )
        comm.Bcast(buffer, root=0)
        for key, value in json.loads(buffer.tobytes().decode()):
            trainer.registry.set(key, float(value))

    def _ack(self, ident: str, command: str, outcome: str, message: str) -> None:
        level = "info" if outcome == "applied" else "warning"
        self._log(level, f"control {command}: {outcome}: {message}")
        if self.recorder is not None:
            self.recorder.acknowledge(
                {"id": ident, "command": command, "outcome": outcome, "message": message}
            )

    def _log(self, level: str, message: str) -> None:
        trainer = self.trainer
        if trainer is not None:
            trainer.events.emit(LogMessage(source="control", level=level, message=message))
