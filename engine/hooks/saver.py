"""The checkpoint saver: every N iterations or epochs, best-only by a metric, keeping the last K files."""

from __future__ import annotations

import json
import math
import os

from ..events import CheckpointSaved
from .base import Hook
from .timestep import TimeStep

__all__ = ["CheckpointSaver"]


class CheckpointSaver(Hook):
    """Write checkpoints with :func:`engine.checkpoint.save`.

    Parameters
    ----------
    folder : str or path
        Created if missing.
    timestep : TimeStep
        When to consider saving (default: every epoch).
    best_only : bool
        Save only when ``monitor`` improves (to ``best.h5`` unless ``filename`` is given).
    monitor, mode : str
        The value and direction (``"min"``/``"max"``) that decide "best".
    keep_last : int, optional
        Delete older files written by this saver, keeping the last ``keep_last``.
    filename : str
        A ``str.format`` template with ``{epoch}`` and ``{iteration}``.
    """

    default_timestep = TimeStep(1, "epoch")
    priority = -100  # after the hooks that add values to the epoch record

    def __init__(
        self,
        folder,
        timestep: TimeStep | None = None,
        best_only: bool = False,
        monitor: str = "val_loss",
        mode: str = "min",
        keep_last: int | None = None,
        filename: str | None = None,
        **kwargs,
    ):
        super().__init__(timestep, **kwargs)
        if mode not in ("min", "max"):
            raise ValueError(f"Invalid value for `mode`. Expected 'min' or 'max'. Received: {mode!r}")
        if keep_last is not None and int(keep_last) < 1:
            raise ValueError(
                f"Invalid value for `keep_last`. Expected an integer >= 1. Received: {keep_last!r}"
            )
        self.folder = os.fspath(folder)
        self.best_only, self.monitor, self.mode = bool(best_only), monitor, mode
        self.keep_last = None if keep_last is None else int(keep_last)
        self.filename = filename or (
            "best.h5" if best_only else "checkpoint-e{epoch:04d}-i{iteration:08d}.h5"
        )
        self.best = math.inf if mode == "min" else -math.inf
        self.saved: list[str] = []
        if best_only:
            self.reads = (monitor,)

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
        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(
            self.folder, self.filename.format(epoch=trainer.epoch, iteration=trainer.iteration)
        )
        if path in self.saved:
            self.saved.remove(path)
        self.saved.append(path)  # before saving, so the file's own hook state lists itself
        checkpoint.save(trainer, path)
        self._prune()
        trainer.events.emit(
            CheckpointSaved(
                source=trainer.name,
                path=path,
                epoch=trainer.epoch,
                iteration=trainer.iteration,
                reason=reason,
            )
        )

    def _prune(self):
        if self.keep_last is None:
            return
        while len(self.saved) > self.keep_last:
            old = self.saved.pop(0)
            try:
                os.remove(old)
            except FileNotFoundError:
                pass

    def state_dict(self):
        return {**super().state_dict(), "best": self.best, "saved": json.dumps(self.saved)}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.best = float(state.get("best", self.best))
        saved = json.loads(state.get("saved", "[]"))
        if not isinstance(saved, list) or not all(isinstance(p, str) for p in saved):
            raise ValueError("CheckpointSaver state: `saved` must be a list of paths")
        self.saved = saved
