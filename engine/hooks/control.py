"""Hooks that steer training: early stopping and the learning-rate scheduler."""

from __future__ import annotations

import math

import numpy as np

from ..optim.schedules import ReduceOnPlateau, Schedule, schedule_from_spec
from .base import Hook
from .timestep import TimeStep

__all__ = ["EarlyStopping", "LearningRateScheduler"]


def _improved(value, best, mode, min_delta):
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _check_mode(mode):
    if mode not in ("min", "max"):
        raise ValueError(f"Invalid value for `mode`. Expected 'min' or 'max'. Received: {mode!r}")
    return mode


class EarlyStopping(Hook):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` checks.

    With ``restore_best=True`` the parameters (and buffers) of the best check are put back when it
    stops. The best copies are host arrays kept in the hook's state, so they survive a checkpoint.

    Parameters
    ----------
    monitor : str
        A value name such as ``val_loss`` or ``val_accuracy``.
    mode : str
        ``"min"`` or ``"max"``.
    patience : int
    min_delta : float
    restore_best : bool
    """

    default_timestep = TimeStep(1, "epoch")
    priority = 50

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "min",
        patience: int = 5,
        min_delta: float = 0.0,
        restore_best: bool = True,
        timestep: TimeStep | None = None,
        **kwargs,
    ):
        super().__init__(timestep, **kwargs)
        self.monitor, self.mode = monitor, _check_mode(mode)
        self.patience, self.min_delta, self.restore_best = int(patience), float(min_delta), bool(restore_best)
        self.reads = (monitor,)
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = 0
        self.wait = 0
        self.stopped_epoch = 0
        self.best_parameters: dict = {}
        self.best_buffers: dict = {}

    def run(self, trainer):
        value = trainer.value(self.monitor)
        if value is None:
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r}, which training does not produce "
                f"(known now: {trainer.known_values()}); pass validation= to fit()"
            )
        if _improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, trainer.epoch, 0
            if self.restore_best:
                be = trainer.backend
                self.best_parameters = {
                    k: be.to_host(p.data).copy() for k, p in trainer.network.parameters().items()
                }
                buffers = getattr(trainer.network, "buffers", dict)()
                self.best_buffers = {k: be.to_host(b).copy() for k, b in buffers.items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = trainer.epoch
            if self.restore_best and self.best_parameters:
                self.restore(trainer)
            trainer.operator.stop(
                f"early stopping: {self.monitor} has not improved for {self.wait} epochs "
                f"(best {self.best:.6g} at epoch {self.best_epoch})"
            )

    def restore(self, trainer):
        """Put the best parameters (and buffers) back into the network."""
        be = trainer.backend
        for k, p in trainer.network.parameters().items():
            p.data[...] = be.from_host(self.best_parameters[k])
        if self.best_buffers and hasattr(trainer.network, "load_buffers"):
            trainer.network.load_buffers({k: be.from_host(v) for k, v in self.best_buffers.items()})

    def state_dict(self):
        return {
            **super().state_dict(),
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best_parameters": dict(self.best_parameters),
            "best_buffers": dict(self.best_buffers),
        }

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.best = float(state.get("best", self.best))
        self.best_epoch = int(state.get("best_epoch", 0))
        self.wait = int(state.get("wait", 0))
        self.stopped_epoch = int(state.get("stopped_epoch", 0))
        self.best_parameters = {k: np.array(v) for k, v in state.get("best_parameters", {}).items()}
        self.best_buffers = {k: np.array(v) for k, v in state.get("best_buffers", {}).items()}


class LearningRateScheduler(Hook):
    """Set ``optimiser.learning_rate`` from a schedule, per iteration or per epoch.

    The rate for step ``n`` (0-based count of iterations or epochs done) is set at the start of training
    and after each iteration/epoch, through the registry, so it takes effect at the next iteration
    boundary. A :class:`~engine.optim.ReduceOnPlateau` schedule is fed ``monitor`` after each epoch.

    Parameters
    ----------
    schedule : Schedule or dict
    unit : str
        ``"iteration"`` or ``"epoch"``.
    monitor : str
        The value a plateau schedule watches.
    """

    priority = 80

    def __init__(self, schedule, unit: str = "iteration", monitor: str = "val_loss", **kwargs):
        self.schedule: Schedule = schedule_from_spec(schedule)
        if isinstance(self.schedule, ReduceOnPlateau):
            unit = "epoch"
        super().__init__(TimeStep(1, unit), **kwargs)
        self.unit, self.monitor = self.timestep.event, monitor

    def maybe_run(self, event, trainer):
        if event == "start":
            self.schedule.bind(trainer.optimiser.learning_rate)
            self._set(trainer)
            return True
        return super().maybe_run(event, trainer)

    def run(self, trainer):
        if isinstance(self.schedule, ReduceOnPlateau):
            value = trainer.value(self.monitor)
            if value is None:
                raise ValueError(f"ReduceOnPlateau watches {self.monitor!r}, which training does not produce")
            self.schedule.update(value)
        self._set(trainer)

    def _set(self, trainer):
        step = trainer.iteration if self.unit == "iteration" else trainer.epoch
        trainer.registry.set("optimiser.learning_rate", self.schedule(step))

    def state_dict(self):
        return {**super().state_dict(), "schedule": self.schedule.state_dict()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        if "schedule" in state:
            self.schedule.load_state_dict(state["schedule"])
