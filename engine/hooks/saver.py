"""The checkpoint saver: every N iterations or epochs (at most one every ``min_seconds``), best-only by a
metric, keeping the last K files, and the run's final checkpoint."""

from __future__ import annotations

import json
import math
import os

from ..events import CheckpointSaved
from .base import Hook
from .timestep import TimeStep, floor_clock

__all__ = ["CheckpointSaver", "FINAL_REASON", "final_saver"]

#: The ``reason`` of the :class:`~engine.events.CheckpointSaved` of a run's final checkpoint.
FINAL_REASON = "final"


class CheckpointSaver(Hook):
    """Write checkpoints with :func:`engine.checkpoint.save`.

    Parameters
    ----------
    folder : str or path
        Created if missing.
    timestep : TimeStep
        When a save is due (default: every epoch). ``TimeStep(unit="stop")``: no periodic saves, only
        the final one (``final``).
    best_only : bool
        Save only when ``monitor`` improves (to ``best.h5`` unless ``filename`` is given).
    monitor, mode : str
        The value and direction (``"min"``/``"max"``) that decide "best".
    keep_last : int, optional
        Delete older files written by this saver, keeping the last ``keep_last``.
    filename : str
        A ``str.format`` template with ``{epoch}`` and ``{iteration}``.
    min_seconds : float
        The save floor: a due save less than this many seconds (wall clock) after the end of the last
        save (or the run's start) is skipped, not lost: the next due save past the floor, a pause and
        the run's end (finished or stopped, not failed) write the newest state. A best state that is
        skipped is held in memory (one copy of the trainer's state) and written at the next due save
        past the floor or at a pause or the end, unless a better one replaces it. 0 (the default)
        writes every due save; a project's run uses ``training.checkpoint.min_seconds``.
    final : str, optional
        A file name (``"last.h5"``) written with the newest state when the run ends, finished or
        stopped (not failed); it takes the place of a skipped periodic save then. None: no final file.

    Attributes
    ----------
    final_path : str or None
        The final file this run wrote (None until it ends, or without ``final``).
    pending : str
        Why a save is due that the floor skipped (``"periodic"``, ``"best loss = 0.12"``), or "".
    """

    default_timestep = TimeStep(1, "epoch")
    priority = -100  # after the hooks that add values to the epoch record
    also_hears = ("start", "pause", "stop")  # the floor's clock, a skipped save, the final file

    def __init__(
        self,
        folder,
        timestep: TimeStep | None = None,
        best_only: bool = False,
        monitor: str = "val_loss",
        mode: str = "min",
        keep_last: int | None = None,
        filename: str | None = None,
        min_seconds: float = 0.0,
        final: str | None = None,
        **kwargs,
    ):
        super().__init__(timestep, **kwargs)
        if mode not in ("min", "max"):
            raise ValueError(f"Invalid value for `mode`. Expected 'min' or 'max'. Received: {mode!r}")
        if keep_last is not None and int(keep_last) < 1:
            raise ValueError(
                f"Invalid value for `keep_last`. Expected an integer >= 1. Received: {keep_last!r}"
            )
        if isinstance(min_seconds, bool) or not (
            isinstance(min_seconds, int | float) and math.isfinite(min_seconds) and min_seconds >= 0
        ):
            raise ValueError(
                "Invalid value for `min_seconds`. Expected a number of seconds >= 0. "
                f"Received: {min_seconds!r}"
            )
        self.folder = os.fspath(folder)
        self.best_only, self.monitor, self.mode = bool(best_only), monitor, mode
        self.keep_last = None if keep_last is None else int(keep_last)
        self.filename = filename or (
            "best.h5" if best_only else "checkpoint-e{epoch:04d}-i{iteration:08d}.h5"
        )
        self.min_seconds = float(min_seconds)
        self.final = final
        self.final_path: str | None = None
        self.best = math.inf if mode == "min" else -math.inf
        self.saved: list[str] = []
        self.pending = ""
        self._held = None  # best-only: the captured best state the floor skipped
        self._clock: float | None = None  # floor_clock() at the end of the last save (or the start)
        self._since = 0.0  # seconds since the last save when the run last ended (or as restored)
        self._final_at: int | None = None  # the iteration the final file holds
        if best_only:
            self.reads = (monitor,)

    # ------------------------------------------------------------------ when
    def maybe_run(self, event: str, trainer) -> bool:
        """The due saves (``timestep``), plus: ``start`` starts the floor's clock, ``pause`` writes a
        save the floor skipped, ``stop`` writes the held best and the final file (or a skipped save)."""
        if event == "start":
            self._clock, self.final_path = floor_clock() - self._since, None
            return False
        if event == "pause":
            return self._write_pending(trainer)
        if event == "stop":
            return self._at_end(trainer)
        if not self.timestep.counted:
            return False
        return super().maybe_run(event, trainer)

    def _floor_left(self) -> float:
        if self.min_seconds <= 0:
            return 0.0
        if self._clock is None:  # fired without a run's start (a hook driven by hand)
            self._clock = floor_clock() - self._since
        return self.min_seconds - (floor_clock() - self._clock)

    def run(self, trainer):
        from .. import checkpoint

        reason = "periodic"
        if self.best_only:
            value = trainer.value(self.monitor)
            if value is None:
                raise ValueError(
                    f"CheckpointSaver(best_only=True) monitors {self.monitor!r}, which training does "
                    "not produce; pass validation= to fit() or monitor another value"
                )
            better = value < self.best if self.mode == "min" else value > self.best
            if not better:
                return
            self.best, reason = value, f"best {self.monitor} = {value:.6g}"
        if self._floor_left() > 0:
            if self.best_only:  # the best state now, or it is lost: a copy (~1 ms on W1), not a file
                self._held = checkpoint.capture(trainer)
            self.pending = reason  # after the capture: the held state says nothing is pending
            return
        self._write(trainer, reason, None)

    def _write_pending(self, trainer) -> bool:
        """Write the save the floor skipped, if any: the held best state, or the newest state."""
        if not self.pending:
            return False
        if self.best_only and self._held is None:  # nothing held (cannot happen after a capture)
            self.pending = ""
            return False
        self._write(trainer, self.pending, self._held)
        return True

    def _at_end(self, trainer) -> bool:
        """At the run's end: the held best (a consistent state even when the run failed), then the
        final file, which holds the newest state and so takes a skipped periodic save's place."""
        failed = getattr(trainer.operator, "failed", False)
        wrote = False
        if self.best_only or (self.final is None and not failed):
            wrote = self._write_pending(trainer)
        if self.final is not None and not failed:
            self.save_final(trainer)
            wrote = True
        self._since = self._elapsed()  # a later fit of this trainer goes on counting from here
        return wrote

    # ------------------------------------------------------------------ writing
    def _write(self, trainer, reason: str, captured) -> None:
        from .. import checkpoint

        state = captured[0] if captured is not None else trainer
        epoch, iteration = _counters(state)
        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(self.folder, self.filename.format(epoch=epoch, iteration=iteration))
        if path in self.saved:
            self.saved.remove(path)
        self.saved.append(path)  # before saving, so the file's own hook state lists itself
        self.pending, self._held = "", None  # and says nothing is pending, no time since the last save
        self._clock = floor_clock()
        checkpoint.save(trainer, path, captured=captured)
        self._clock = floor_clock()  # the floor counts from the end of the save
        self._prune()
        trainer.events.emit(
            CheckpointSaved(source=trainer.name, path=path, epoch=epoch, iteration=iteration, reason=reason)
        )

    def save_final(self, trainer, reason: str = FINAL_REASON) -> str:
        """Write the newest state to the ``final`` file now and return its path: at the run's end, or
        for a stop request (:class:`engine.runs.RunController`) just before it. Written once per
        iteration: a stop request's file is not written again when the run ends at that iteration."""
        from .. import checkpoint

        if self.final is None:
            raise ValueError("this CheckpointSaver writes no final checkpoint (final=None)")
        path = os.path.join(self.folder, self.final)
        if self.final_path == path and self._final_at == trainer.iteration:
            return path
        os.makedirs(self.folder, exist_ok=True)
        if not self.best_only:
            self.pending = ""  # the newest state is on disk: a skipped periodic save is done
        self._clock = floor_clock()
        path = checkpoint.save(trainer, path)
        self._clock = floor_clock()
        self.final_path, self._final_at = path, trainer.iteration
        trainer.events.emit(
            CheckpointSaved(
                source=trainer.name,
                path=path,
                epoch=trainer.epoch,
                iteration=trainer.iteration,
                reason=reason,
            )
        )
        return path

    def _prune(self):
        if self.keep_last is None:
            return
        while len(self.saved) > self.keep_last:
            old = self.saved.pop(0)
            try:
                os.remove(old)
            except FileNotFoundError:
                pass

    # ------------------------------------------------------------------ state
    def _elapsed(self) -> float:
        return self._since if self._clock is None else max(0.0, floor_clock() - self._clock)

    def state_dict(self):
        return {
            **super().state_dict(),
            "best": self.best,
            "saved": json.dumps(self.saved),
            # A held best state is not in the file (it would be a second copy of it): a resumed run
            # starts with none; a skipped periodic save is still due after a resume.
            "pending": "" if self.best_only else self.pending,
            "since_save": self._elapsed(),
        }

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.best = float(state.get("best", self.best))
        saved = json.loads(state.get("saved", "[]"))
        if not isinstance(saved, list) or not all(isinstance(p, str) for p in saved):
            raise ValueError("CheckpointSaver state: `saved` must be a list of paths")
        pending = state.get("pending", "")
        since = state.get("since_save", 0.0)
        if not isinstance(pending, str):
            raise ValueError("CheckpointSaver state: `pending` must be text")
        if isinstance(since, bool) or not isinstance(since, int | float) or not 0 <= since < math.inf:
            raise ValueError("CheckpointSaver state: `since_save` must be a number of seconds >= 0")
        self.saved, self.pending, self._since = saved, pending, float(since)
        self._held, self._clock = None, None


def _counters(state) -> tuple[int, int]:
    """(epoch, iteration) of a trainer or of a captured state dict."""
    if isinstance(state, dict):
        return int(state["epoch"]), int(state["iteration"])
    return state.epoch, state.iteration


def final_saver(trainer) -> CheckpointSaver | None:
    """The trainer's :class:`CheckpointSaver` that writes the run's final checkpoint, or None."""
    for hook in trainer.hooks:
        if isinstance(hook, CheckpointSaver) and hook.final is not None:
            return hook
    return None
