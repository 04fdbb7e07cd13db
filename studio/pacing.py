"""Show only the newest value, a few times a second: how the studio's text and image views keep up with
a run without taking its time.

The bridge delivers events up to 30 times a second, and every delivery that changes a label or an image
makes Qt repaint it (and, for a label in the status bar, the window behind it). On a 2-core machine that
painting holds the GIL and a core the training thread wants: in ``python -m bench gui`` the main window
repainted 60 times a second and the GUI thread used ~23 % of a core, most of it for text nobody can read
at that rate. A person reads a counter 4-5 times a second; charts keep every point (see
``studio.widgets.chart``), views that show only the latest state go through a :class:`Paced`.

No timer of its own: a value held back is shown by the next push or :meth:`Paced.poll` after the
interval (views poll on every tick of the bridge's delivery timer, 30 a second during a run, so all of
them draw in the same pass of the event loop), or by :meth:`Paced.flush`, which views call when the
run's state changes (paused, stopped, finished), so the last value always shows when it matters.
"""

from __future__ import annotations

import inspect
import time
import weakref
from collections.abc import Callable

__all__ = ["Paced"]

_NOTHING = object()


class Paced:
    """Calls ``show(value)`` with the newest pushed value, at most ``rate_hz`` times a second.

    Parameters
    ----------
    show : callable(value)
        Draws a value (sets a label's text, a widget's image...). A bound method is held weakly: the
        view owns its pacer, and a pacer holding the view back would make a reference cycle, so a
        closed window would be freed only when Python's cycle collector happens to run, possibly in
        the middle of a Qt call that lists the very widget being freed.
    rate_hz : float
        The most calls of ``show`` per second; a push within ``1 / rate_hz`` s of the last shown value is
        held (replacing any value held before) until the next push after the interval or :meth:`flush`.
    clock : callable() -> float
        Seconds, monotonic; tests pass their own.
    """

    def __init__(self, show: Callable[[object], None], rate_hz: float = 5.0, clock=time.monotonic):
        if rate_hz <= 0:
            raise ValueError(f"Paced: rate_hz must be > 0, got {rate_hz}")
        self._show = weakref.WeakMethod(show) if inspect.ismethod(show) else (lambda: show)
        self._interval = 1.0 / rate_hz
        self._clock = clock
        self._last = float("-inf")
        self._held = _NOTHING
        self.shown = 0  # how many times show() ran (tests and the bench read it)

    @property
    def interval(self) -> float:
        """Seconds between shown values at the least (``1 / rate_hz``); may be changed at any time."""
        return self._interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"Paced: interval must be > 0 s, got {seconds}")
        self._interval = float(seconds)

    @property
    def holding(self) -> bool:
        """True while a pushed value waits to be shown."""
        return self._held is not _NOTHING

    def push(self, value) -> None:
        """Offer a new value: shown now if the interval since the last one has passed, else held."""
        now = self._clock()
        if now - self._last >= self._interval:
            self._held = _NOTHING
            self._last = now
            self._call(value)
        else:
            self._held = value

    def poll(self) -> None:
        """Show the held value if the interval since the last shown one has passed."""
        if self._held is not _NOTHING and self._clock() - self._last >= self._interval:
            self.flush()

    def flush(self) -> None:
        """Show the held value now, if there is one (the run paused, stopped or finished)."""
        if self._held is _NOTHING:
            return
        value, self._held = self._held, _NOTHING
        self._last = self._clock()
        self._call(value)

    def _call(self, value) -> None:
        show = self._show()
        if show is None:  # the view is gone
            return
        self.shown += 1
        show(value)

    def drop(self) -> None:
        """Forget the held value (a new run starts: what the old one last said no longer matters)."""
        self._held = _NOTHING
        self._last = float("-inf")
