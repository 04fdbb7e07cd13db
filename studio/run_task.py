"""The task that trains one run on the bridge's thread pool (:class:`studio.bridge.Bridge`): it builds
the run, subscribes to its events, calls ``fit``, and reports everything (events, errors, the end of
the run) through the bridge's queue, which the GUI thread drains."""

from __future__ import annotations

import traceback
from collections.abc import Callable

from PySide6 import QtCore

from engine import events as ev
from studio.run_info import RunFinished

__all__ = ["RunTask"]

_ACTIVE_STATES = ("running", "paused", "stopping")


class RunTask(QtCore.QRunnable):
    """Builds the run and calls ``fit`` on a pool thread; everything it reports goes through the queue."""

    def __init__(self, bridge, run_id: int, factory: Callable[[], object]):
        super().__init__()
        self.setAutoDelete(True)
        self._bridge = bridge
        self._run_id = run_id
        self._factory = factory

    def run(self) -> None:  # pool thread
        bridge, post = self._bridge, self._bridge._queue.append
        run, token, state = None, None, "error"

        def listener(event):  # on the engine's threads: queue, and honour a stop that came too early
            post(event)
            if isinstance(event, (ev.RunStateChanged, ev.ErrorEvent)):
                # Rare and decisive: deliver now rather than at the next tick, so a "pause when it
                # starts running" or an error banner never lags behind a short run.
                QtCore.QMetaObject.invokeMethod(
                    bridge, "_flush_now", QtCore.Qt.ConnectionType.QueuedConnection
                )
            if isinstance(event, ev.RunStateChanged) and event.state == "running" and bridge._stop_requested:
                run.trainer.operator.stop()

        try:
            run = self._factory()
            token = run.trainer.events.subscribe(listener)
            with bridge._lock:
                bridge._run = run
                cancelled = bridge._stop_requested
            if not cancelled:
                run.fit()
            state = run.trainer.operator.state if not cancelled else "stopped"
            if state in _ACTIVE_STATES:  # fit returned: the run is over whatever the operator says
                state = "stopped"
        except Exception as exc:  # any engine error becomes a message, never a crash of the GUI
            reported = run is not None and run.trainer.operator.state == "error"  # the operator said it
            if not reported:
                post(
                    ev.ErrorEvent(
                        source="studio.bridge",
                        message=_describe(exc),
                        kind=type(exc).__name__,
                        details=traceback.format_exc(),
                    )
                )
            state = "error"
        finally:
            if token is not None:
                run.trainer.events.unsubscribe(token)
            post(RunFinished(source="studio.bridge", run_id=self._run_id, state=state))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if type(exc).__name__ in text else f"{type(exc).__name__}: {text}"
