"""Run states and the thread-safe run control that the operator's training thread obeys.

Commands (``pause``, ``resume``, ``step``, ``stop``, ``reset``) may come from any thread and never block
for long: they set a request under a lock and notify a condition variable. The training thread calls
:meth:`RunControl.boundary` between iterations; that is where requests take effect, and where a paused
run waits on the condition variable (no spinning).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from concurrent.futures import Future

__all__ = [
    "IDLE",
    "RUNNING",
    "PAUSED",
    "STOPPING",
    "STOPPED",
    "FINISHED",
    "ERROR",
    "STATES",
    "STARTING",
    "BUSY",
    "allowed_commands",
    "RunControl",
]

IDLE, RUNNING, PAUSED, STOPPING, STOPPED, FINISHED, ERROR = (
    "idle",
    "running",
    "paused",
    "stopping",
    "stopped",
    "finished",
    "error",
)
STATES = (IDLE, RUNNING, PAUSED, STOPPING, STOPPED, FINISHED, ERROR)
_ACTIVE = (RUNNING, PAUSED, STOPPING)
#: The studio's bridge reports this while it builds a run's trainer (no RunControl exists yet).
STARTING = "starting"
#: A run is under way (being built, or its training thread alive): no second run may start.
BUSY = (STARTING, *_ACTIVE)


def allowed_commands(state: str) -> dict[str, bool]:
    """The one table of which run command makes sense in ``state``: ``{"start", "pause", "resume",
    "step", "stop"} -> bool`` (the studio's buttons, menu items and toolbar follow it)."""
    return {
        "start": state not in BUSY,
        "pause": state == RUNNING,
        "resume": state == PAUSED,
        "step": state == PAUSED,
        "stop": state in BUSY and state != STOPPING,
    }


class RunControl:
    """The run state machine.

    ``idle -> running`` (``begin``), ``running <-> paused`` (``pause``/``resume``, taking effect at the
    next iteration boundary), ``paused -> running -> paused`` for one iteration (``step``),
    ``running|paused -> stopping -> stopped`` (``stop``; final hooks run in between),
    ``running -> finished`` (all epochs done), ``* -> error`` (an exception in training), and back to
    ``idle`` with ``reset`` once no run is active (``reset`` during a run stops it first).

    Parameters
    ----------
    on_change : callable(state, previous), optional
        Called after each transition on the thread that made it, outside the lock.
    on_pause, on_resume : callable(), optional
        Called on the training thread when it actually pauses / resumes (for pause/resume hooks).
    """

    def __init__(self, on_change: Callable[[str, str], None] | None = None):
        self._cond = threading.Condition()
        self._emit_lock = threading.RLock()  # re-entrant: a listener may issue a command
        self._outbox: collections.deque = collections.deque()
        self._state = IDLE
        self._pause_requested = False
        self._stop_requested = False
        self._reset_requested = False
        self._steps_allowed = 0  # iterations a paused run may still do (step once)
        self.stop_reason = ""
        self.on_change = on_change
        self.on_pause: Callable[[], None] | None = None
        self.on_resume: Callable[[], None] | None = None
        self._calls: collections.deque = collections.deque()  # (function, Future) for the next boundary

    # ------------------------------------------------------------------ queries
    @property
    def state(self) -> str:
        with self._cond:
            return self._state

    @property
    def active(self) -> bool:
        """True while a run is in progress (running, paused or stopping)."""
        with self._cond:
            return self._state in _ACTIVE

    @property
    def stop_requested(self) -> bool:
        with self._cond:
            return self._stop_requested

    def wait_for(self, *states: str, timeout: float | None = None) -> bool:
        """Block until the state is one of ``states`` (for tests and scripts, never the GUI thread)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._state in states, timeout)

    # ------------------------------------------------------------------ commands (any thread)
    def pause(self) -> bool:
        """Ask a running run to pause at the next iteration boundary. Returns whether it was accepted."""
        with self._cond:
            if self._state != RUNNING or self._stop_requested:
                return False
            self._pause_requested = True
            self._steps_allowed = 0
            return True

    def resume(self) -> bool:
        """Continue a paused run (or cancel a pause not yet taken)."""
        with self._cond:
            if self._state not in (RUNNING, PAUSED) or self._stop_requested:
                return False
            self._pause_requested = False
            self._steps_allowed = 0
            self._cond.notify_all()
            return True

    def step(self, iterations: int = 1) -> bool:
        """Let a paused run do ``iterations`` more iterations, then pause again."""
        with self._cond:
            if self._state != PAUSED or self._stop_requested:
                return False
            self._steps_allowed += int(iterations)
            self._cond.notify_all()
            return True

    def stop(self, reason: str = "stopped by request") -> bool:
        """Ask an active run to stop cleanly at the next iteration boundary (final hooks still run)."""
        with self._cond:
            if self._state not in _ACTIVE:
                return False
            if not self._stop_requested:
                self._stop_requested = True
                self.stop_reason = reason
                self._set(STOPPING)
            self._cond.notify_all()
        self._flush()
        return True

    def reset(self) -> bool:
        """Go back to idle; during a run, stop it first and reset when it has ended.

        Returns True when the reset happened now (no active run), False when it was deferred."""
        with self._cond:
            deferred = self._state in _ACTIVE
            if deferred:
                self._reset_requested = True
            else:
                self._set(IDLE)
        self._flush()
        if deferred:
            self.stop("reset requested")
            return False
        return True

    def submit(self, function: Callable[[], object]) -> Future | None:
        """Run ``function`` on the training thread at the next iteration boundary (at once if the run
        is paused, before it ends if it is ending). Returns its Future, or None when no run is active
        (the caller may then call ``function`` itself: nothing else touches the trainer)."""
        with self._cond:
            if self._state not in _ACTIVE:
                return None
            future: Future = Future()
            self._calls.append((function, future))
            self._cond.notify_all()
            return future

    def _run_calls(self) -> None:
        """Run the submitted calls (training thread, outside the lock)."""
        while True:
            with self._cond:
                if not self._calls:
                    return
                function, future = self._calls.popleft()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(function())
                except BaseException as exc:  # the caller gets the error; training goes on
                    future.set_exception(exc)

    # ------------------------------------------------------------------ training thread
    def begin(self) -> None:
        """Start a run (from any state but an active one)."""
        with self._cond:
            if self._state in _ACTIVE:
                raise RuntimeError(f"cannot start training: a run is already {self._state}")
            self._pause_requested = self._stop_requested = self._reset_requested = False
            self._steps_allowed = 0
            self.stop_reason = ""
            self._set(RUNNING)
        self._flush()

    def boundary(self) -> bool:
        """Called before each iteration. Runs submitted calls, pauses here if asked; returns False when
        the run must stop."""
        if self._calls:  # unlocked peek: a call submitted just now runs at the next boundary
            self._run_calls()
        elif not (self._stop_requested or self._pause_requested):
            # Unlocked too (every iteration): a command that lands just after this read takes effect
            # at the next boundary, as it would had it come a moment later.
            return True
        with self._cond:
            if self._stop_requested:
                return False
            if not self._pause_requested:
                return True
            if self._steps_allowed > 0:  # a step once while paused-but-not-yet-waiting
                self._steps_allowed -= 1
                return True
            self._set(PAUSED)
        self._flush()
        if self.on_pause is not None:
            self.on_pause()
        while True:
            self._run_calls()  # a save requested while paused runs here, on the training thread
            with self._cond:
                self._cond.wait_for(
                    lambda: (
                        bool(self._calls)
                        or self._stop_requested
                        or not self._pause_requested
                        or self._steps_allowed > 0
                    )
                )
                if not self._calls:
                    break
        with self._cond:
            stop = self._stop_requested
            stepping = self._pause_requested and self._steps_allowed > 0
            if stepping:
                self._steps_allowed -= 1
            if not stop:
                self._set(RUNNING)
        self._flush()
        if stop:
            return False
        if not stepping and self.on_resume is not None:
            self.on_resume()
        return True

    def finish(self, state: str) -> bool:
        """End the run in ``state`` (``finished``, ``stopped`` or ``error``). Returns whether a reset
        was requested during the run (the caller resets and goes idle). Calls submitted before the
        state changes run first; later ones are refused (``submit`` returns None)."""
        while True:
            self._run_calls()
            with self._cond:  # the state changes under the lock `submit` checks it with
                if self._calls:
                    continue
                reset = self._reset_requested
                self._reset_requested = self._pause_requested = False
                self._steps_allowed = 0
                if state != ERROR and self._stop_requested:
                    state = STOPPED
                self._set(state)
                break
        self._flush()
        return reset

    def _transition(self, state: str) -> None:
        """Change the state now (the operator's reset after a run)."""
        with self._cond:
            self._set(state)
        self._flush()

    def _set(self, state: str) -> None:
        """Change the state; the caller holds the lock. The listener hears of it in :meth:`_flush`."""
        previous, self._state = self._state, state
        self._cond.notify_all()
        if previous != state:
            self._outbox.append((state, previous))

    def _flush(self) -> None:
        """Tell the listener about transitions in the order they happened, outside the state lock."""
        with self._emit_lock:
            while True:
                with self._cond:
                    if not self._outbox:
                        return
                    state, previous = self._outbox.popleft()
                if self.on_change is not None:
                    self.on_change(state, previous)
