"""The bridge's watch mode: a run that another process writes into its run folder, shown and steered
like a run of our own (issue 21). A mixin of :class:`studio.bridge.Bridge`, which owns the queue, the
delivery timer and the signals; this module holds what watching does with them.

The folder is read by a :class:`studio.run_watch.RunWatcher` on its own thread; the reconstructed
:mod:`engine.events` records go into the bridge's queue, so every view gets the same signals as for a
local run. The run's own state changes arrive with its events; ``lost`` (its writer gave no sign of
life for 30 s) is the watcher's word and becomes the bridge's state. Commands go through the run
folder's control file (``engine.runs.live.send_control``), written off the GUI thread. Stopping to
watch (``unwatch``, closing the window) never stops the run.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore

from engine import events as ev
from studio.run_info import RunFinished, RunInfo

__all__ = ["WatchMode"]


class WatchMode:
    """Watching a run folder: the part of :class:`~studio.bridge.Bridge` that has no trainer."""

    def watch(self, folder, **watcher_options) -> bool:
        """Show the run that another process writes into ``folder``, live; False while busy.

        The folder is read on the watcher's thread (:class:`studio.run_watch.RunWatcher`; options such
        as ``interval_s``, ``timeout_s``, ``reader_factory`` pass through). Its events go into the
        queue every run uses; the run's own state changes arrive with them, and ``lost`` (no sign of
        life from the writer) becomes the bridge's state. A run that ended is shown up to its end,
        then the bridge is free again; a live one is watched until :meth:`unwatch`.
        """
        if self._busy:
            return False
        from studio.run_watch import RunWatcher, WatchState

        folder = Path(folder)
        with self._lock:
            self._run = None
            self._stop_requested = False
        self.run_id = next(self._run_ids)
        self.progress.reset()
        self._queue.clear()
        self._busy = True
        self.watching = folder
        self.watch_record = None
        self._watch_sent = {}  # live values sent to the run: what it uses now, as far as we know
        self.watch_state = WatchState(folder)
        watcher = RunWatcher(
            folder, self._watched, report=self._control_failed, parent=self, **watcher_options
        )
        watcher.sigOpened.connect(self._watch_opened)
        watcher.sigState.connect(self._watch_changed)
        watcher.sigFailed.connect(self._watch_failed)
        self._watcher = watcher
        self._set_state("starting")
        self.sigWatchState.emit(self.watch_state)
        self._timer.start()
        watcher.start()
        return True

    def follow_settings(self, settings) -> None:
        """While watching: changes of these training settings (the watched run's project, shown in the
        training panel) steer the run, as a run of our own follows its project's settings."""
        if self.watching is not None:
            self._observe_settings(settings)

    def unwatch(self) -> bool:
        """Stop watching (the run itself goes on); False when not watching."""
        watcher = self._watcher
        if watcher is None or self.watching is None:
            return False
        watcher.stop()
        if self.watch_record is None:  # never read: nothing waits in the queue for it
            self._queue.clear()
        name = self.watching.name
        self.post(ev.LogMessage(source="studio.watch", level="info", message=f"stopped watching {name}"))
        self.post(RunFinished(source="studio.watch", run_id=self.run_id, state="idle"))
        self._watcher_done()
        return True

    def _control(self, command: str, **values) -> bool:
        watcher = self._watcher
        if watcher is None:
            return False
        watcher.send(command, **values)
        what = command if not values else ", ".join(f"{k} = {v}" for k, v in values.items())
        self.post(
            ev.LogMessage(
                source="studio.watch",
                level="info",
                message=f"{what}: sent to {self.watching.name} (applied at its next iteration)",
            )
        )
        return True

    def _control_failed(self, text: str) -> None:  # the control thread: into the log, as events go
        self.post(ev.LogMessage(source="studio.watch", level="warning", message=text))

    def _watched(self, events: list) -> None:  # the watcher's thread: queue them, as the listener does
        self._queue.extend(events)
        if any(isinstance(e, (ev.RunStateChanged, ev.ErrorEvent)) for e in events):
            QtCore.QMetaObject.invokeMethod(self, "_flush_now", QtCore.Qt.ConnectionType.QueuedConnection)

    def _watch_opened(self, record) -> None:
        if self.sender() is not self._watcher:
            return
        self.watch_record = record
        name = str((record.settings or {}).get("name") or record.path.parent.name)
        self.sigRunStarted.emit(RunInfo(self.run_id, f"{record.name} (watched)", name))
        self.flush()

    def _watch_changed(self, state) -> None:
        from studio.run_watch import FINAL_STATES

        if self.sender() is not self._watcher:
            return  # a watcher we stopped watching may still report
        before, self.watch_state = self.watch_state, state
        self.sigWatchState.emit(state)
        if state.run_state == before.run_state:
            return
        if state.run_state in FINAL_STATES:  # after everything it delivered: the end of the run
            final = "error" if state.run_state == "failed" else state.run_state
            self._queue.append(RunFinished(source="studio.watch", run_id=self.run_id, state=final))
        elif state.run_state != "opening":
            # The run's own events carry its state changes; "lost" is only known here.
            self._queue.append(ev.RunStateChanged(source="studio.watch", state=state.run_state))
        self._flush_now()

    def _watch_failed(self, message: str) -> None:
        if self.sender() is not self._watcher:
            return
        folder = str(self.watching)
        text = message if folder in message else f"{folder}: {message}"  # RunError names it already
        self.post(ev.ErrorEvent(source="studio.watch", message=f"cannot watch {text}", kind="RunError"))
        # "idle", not "error": no run stopped, the banner says what went wrong.
        self.post(RunFinished(source="studio.watch", run_id=self.run_id, state="idle"))
        self._watcher_done()

    def _watcher_done(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
            watcher.deleteLater()

    def _end_watch(self) -> None:
        """The watched run's end was delivered (or watching stopped): the bridge is free again."""
        self._watcher_done()
        self._observe_settings(None)
        self.watching = None
        self.watch_record = None
        self.watch_state = None
        self.sigWatchState.emit(None)

    def _watched_values(self) -> dict[str, object]:
        """The watched run's optimiser values as its settings started them (what the live boxes show)."""
        record = self.watch_record
        settings = getattr(record, "settings", None) or {}
        optimiser = (settings.get("training") or {}).get("optimiser") or {}
        values = {
            f"optimiser.{k}": v
            for k, v in optimiser.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        values.update({k: v for k, v in self._watch_sent.items() if k in values})
        return values

    def _batch_size(self) -> int | None:
        if self.watching is not None:
            settings = getattr(self.watch_record, "settings", None) or {}
            size = (settings.get("training") or {}).get("batch_size")
            return int(size) if isinstance(size, (int, float)) else None
        return getattr(self.trainer, "batch_size", None)
