"""One truth for a run's progress: iterations done, throughput and time left, for every view.

The progress line, the status bar and the log must not contradict each other, so they all read one
:class:`ProgressEstimate`, kept by the bridge, over the same window as the engine's per-epoch log line
(:class:`engine.hooks.RuntimeReporter`): the whole run so far, from the moment it started running,
measured on the engine's own event time stamps (so the GUI's delivery delay does not count). The
per-iteration ``samples_per_second`` of the metrics is the step's compute rate alone (the Throughput
chart); the estimate here is what a user waits for: wall time, validation passes and pauses included.
"""

from __future__ import annotations

__all__ = ["ProgressEstimate", "format_duration"]


class ProgressEstimate:
    """Progress of the current run from its ``running`` state event and its IterationMetrics events.

    Attributes
    ----------
    iteration, epoch : int
        Of the newest IterationMetrics event.
    total_iterations : int or None
        What the run plans (None when unknown).
    iterations_per_second, samples_per_second, eta_seconds : float or None
        None until two points in time are known.
    """

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        """A new run: nothing known yet."""
        self._t0: float | None = None
        self._iteration0: int | None = None
        self.iteration = 0
        self.epoch = 0
        self.total_iterations: int | None = None
        self.iterations_per_second: float | None = None
        self.samples_per_second: float | None = None
        self.eta_seconds: float | None = None

    def running(self, when: float) -> None:
        """The run entered ``running`` at engine time ``when`` (only the first time counts, as the
        engine's own estimate counts from the start of ``fit``)."""
        if self._t0 is None:
            self._t0 = when

    def update(self, events: list, batch_size: int | None) -> None:
        """Take one delivery of :class:`engine.events.IterationMetrics` (oldest first): the first of the
        run sets where it started counting, the newest is where it is now."""
        if self._t0 is None:
            self._t0 = events[0].time
        if self._iteration0 is None:  # the iterations before this run (a resumed checkpoint)
            self._iteration0 = int(events[0].iteration) - 1
        event = events[-1]
        self.iteration, self.epoch = int(event.iteration), int(event.epoch)
        self.total_iterations = event.total_iterations
        elapsed = event.time - self._t0
        done = self.iteration - self._iteration0
        if elapsed <= 0 or done <= 0:
            return
        rate = done / elapsed
        self.iterations_per_second = rate
        self.samples_per_second = rate * batch_size if batch_size else None
        total = self.total_iterations
        self.eta_seconds = max(0.0, (total - self.iteration) / rate) if total else None


def format_duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s`` or ``2 h 07 min``: how every view writes a time left."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
