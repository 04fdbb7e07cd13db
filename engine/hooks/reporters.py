"""Reporters: loss and metrics (accumulated and averaged), runtime/throughput/ETA, CPU/memory/GPU use.

Reporters read the trainer's device-side tally and convert to floats only when a report is due.
"""

from __future__ import annotations

import time

from ..events import IterationMetrics, LogMessage, ResourceUsage
from .base import Hook, PacedHook
from .timestep import TimeStep

__all__ = ["MetricReporter", "RuntimeReporter", "ResourceReporter"]


class MetricReporter(Hook):
    """Emit :class:`~engine.events.IterationMetrics` with the loss and metrics.

    With ``average=True`` (default) values are per-sample averages over the iterations since the last
    report; otherwise the last iteration's loss. Each report also carries the learning rate, the
    throughput (samples per second since the last report), the total iterations of the run and an ETA
    when the run's length is known. Reports are also appended to ``trainer.iteration_history`` (a bounded list
    of ``(iteration, {name: value})``, evenly downsampled on long runs) when ``record=True``.

    ``min_interval_s`` skips a due report when the last one is more recent than that (the next report
    averages over the skipped iterations too): with ``TimeStep(1)`` it gives live charts at a bounded
    rate without a device-to-host sync every step. The recorded history then depends on timing, so
    ``record`` is off by default in that case.
    """

    default_timestep = TimeStep(10, "iteration")

    def __init__(
        self,
        timestep: TimeStep | None = None,
        average: bool = True,
        record: bool | None = None,
        min_interval_s: float | None = None,
        **kwargs,
    ):
        super().__init__(timestep, **kwargs)
        self.min_interval_s = None if min_interval_s is None else float(min_interval_s)
        self.average = bool(average)
        self.record = bool(record) if record is not None else self.min_interval_s is None
        self._since = None
        self._since_time = None

    def maybe_run(self, event, trainer):
        if (
            self.min_interval_s is not None
            and self._since_time is not None
            and event == self.timestep.event
            and time.perf_counter() - self._since_time < self.min_interval_s
        ):
            return False
        return super().maybe_run(event, trainer)

    def run(self, trainer):
        # Every iteration in the studio, right after the step has pushed Python's own data out of
        # the caches: each line here costs about a microsecond there, so the path is kept short.
        now = time.perf_counter()
        tally, since = trainer.tally, self._since
        if since is None or since["count"] > tally.count:  # first report, or after a reset
            since = {"count": 0, **{n: 0.0 for n in tally.names}}
        samples = tally.count - since["count"]
        if self.average:
            metrics = tally.averages(since)
        else:
            metrics = {"loss": trainer.value("loss")}
        metrics["learning_rate"] = float(trainer.optimiser.learning_rate)
        if self.record:  # the throughput is not part of the history
            trainer.iteration_history.append((trainer.iteration, dict(metrics)))
        eta, total = None, getattr(trainer, "planned_iterations", None)
        if self._since_time is not None and now > self._since_time:
            rate = samples / (now - self._since_time)
            metrics["samples_per_second"] = rate
            if total and rate > 0:
                eta = (total - trainer.iteration) * trainer.batch_size / rate
        self._since = tally.snapshot()
        self._since_time = now
        trainer.events.emit(
            IterationMetrics(
                source=trainer.name,
                epoch=trainer.epoch,
                iteration=trainer.iteration,
                metrics=metrics,
                total_iterations=total,
                eta_seconds=eta,
            )
        )

    def state_dict(self):
        state = super().state_dict()
        if self._since is not None:
            state["since"] = {k: (int(v) if k == "count" else float(v)) for k, v in self._since.items()}
        return state

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self._since = dict(state["since"]) if "since" in state else None
        self._since_time = None


class RuntimeReporter(Hook):
    """Log elapsed time, throughput and the estimated time left (a :class:`LogMessage` per epoch)."""

    default_timestep = TimeStep(1, "epoch")

    def run(self, trainer):
        operator = trainer.operator
        elapsed = time.perf_counter() - operator.started_at
        done = trainer.iteration - operator.start_iteration
        rate = done / elapsed if elapsed > 0 else 0.0
        total = getattr(trainer, "planned_iterations", None)
        eta = (total - trainer.iteration) / rate if total and rate > 0 else None
        eta_text = f", about {eta:.0f} s left" if eta is not None else ""
        trainer.events.emit(
            LogMessage(
                source=trainer.name,
                level="info",
                message=(
                    f"epoch {trainer.epoch}: {elapsed:.1f} s, {rate:.1f} iterations/s "
                    f"({rate * trainer.batch_size:.0f} samples/s){eta_text}"
                ),
            )
        )


class ResourceReporter(PacedHook):
    """Emit :class:`~engine.events.ResourceUsage`: process CPU percent (since the last report),
    resident memory (psutil) and the backend's GPU memory pool use.

    With ``min_interval_s`` a due report closer than that to the last one is held back (the newest
    held back is made when the run pauses or ends; see :class:`~engine.hooks.base.PacedHook`).
    """

    default_timestep = TimeStep(50, "iteration")

    def __init__(self, timestep: TimeStep | None = None, min_interval_s: float | None = None, **kwargs):
        super().__init__(timestep, min_interval_s, **kwargs)
        import psutil

        self._process = psutil.Process()
        self._process.cpu_percent(None)  # the first call only starts the measurement

    def run(self, trainer):
        backend = trainer.backend
        gpu = backend.memory_used() if backend.is_cuda else None
        trainer.events.emit(
            ResourceUsage(
                source=trainer.name,
                cpu_percent=float(self._process.cpu_percent(None)),
                memory_bytes=int(self._process.memory_info().rss),
                gpu_memory_bytes=gpu,
            )
        )
