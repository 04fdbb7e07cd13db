"""Watching a run folder that another process writes: ``sigma train`` on this machine, a GPU server or
rank 0 of an MPI run, seen through a local disk or a network share (issue 21).

Threads
-------
Every read of the folder happens on the watcher's own thread, never on the GUI thread: a network share
that stops answering can block a ``read()`` for minutes and no Python call can be cancelled. So each
poll is *timed* rather than interrupted: a GUI-side timer sees a poll that has been in flight longer
than ``timeout_s`` and reports the share as not reachable (with the time the run was last heard from);
when the blocked read returns, the next poll reports it reachable again. Only one poll is in flight at
a time, so a hung share holds one thread, never a growing pile. The threads are daemons: a share that
never answers again cannot keep the studio from quitting.

Control commands (pause, resume, step, stop, checkpoint, live values) are written by a second thread
for the same reason: writing the control file on a hung share must not freeze the window, and must
not wait behind a blocked poll either.

What the reader gives (``engine.runs.live.LiveReader``): the run's events, reconstructed from its
folder as the same :mod:`engine.events` records a local run emits, and its live state (running, paused,
finished, stopped, failed, or lost: no heartbeat for 30 s). The watcher hands the events to
``deliver`` (the bridge's queue) and reports its own :class:`WatchState` through ``sigState``.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore

__all__ = ["RunWatcher", "WatchState", "FINAL_STATES", "is_run_folder"]

#: Live states after which a run writes nothing more (the reader's word for an error is "failed").
FINAL_STATES = ("finished", "stopped", "failed", "error")


def is_run_folder(path) -> bool:
    """Whether ``path`` looks like a run folder (it holds ``run.json``). One ``stat``: only for local
    paths the user just dropped or chose; the watcher itself checks properly on its own thread."""
    try:
        return (Path(path) / "run.json").is_file()
    except OSError:
        return False


@dataclasses.dataclass(frozen=True)
class WatchState:
    """Where watching a run folder stands.

    Attributes
    ----------
    folder : Path
        The run folder.
    run_state : str
        The run's live state as its folder says: ``opening`` (not read yet), ``running``, ``paused``,
        ``finished``, ``stopped``, ``failed``, ``lost`` (its writer stopped giving signs of life).
    reachable : bool
        False while the folder cannot be read (a poll failed or has taken longer than the timeout).
    last_heard : float or None
        ``time.time()`` of the last poll that read the folder.
    problem : str
        Why the folder is not reachable (or cannot be watched), for the user.
    """

    folder: Path
    run_state: str = "opening"
    reachable: bool = True
    last_heard: float | None = None
    problem: str = ""

    def text(self) -> str:
        """One line for the status bar: ``running``, or ``share not reachable, last heard 14:02:11``."""
        if self.reachable:
            return self.run_state
        heard = "never"
        if self.last_heard is not None:
            heard = time.strftime("%H:%M:%S", time.localtime(self.last_heard))
        return f"share not reachable, last heard {heard}"


def _default_reader(folder):
    from engine.runs.live import LiveReader  # engine side of issue 21

    return LiveReader(folder)


def _default_send(folder, command: str, **values) -> None:
    from engine.runs.live import send_control

    send_control(folder, command, by="sigma-studio", **values)


class RunWatcher(QtCore.QObject):
    """Polls a run folder on a thread of its own and hands what it reads to ``deliver``.

    Parameters
    ----------
    folder : path
        The run folder (it holds ``run.json``).
    deliver : callable(list[engine.events.Event])
        Called on the watcher's thread with each poll's new events, oldest first; must not block
        (the bridge appends them to its queue).
    interval_s : float
        Pause between polls while the run is live (a lost or unreachable run is polled at most once a
        second). Metrics reach the window within ``interval_s`` plus the writer's commit interval.
    timeout_s : float
        A poll in flight for longer than this makes the share "not reachable".
    reader_factory : callable(folder) -> reader, optional
        Defaults to ``engine.runs.live.LiveReader``; the reader needs ``poll()`` and ``state()``.
    send_control : callable(folder, command, **values), optional
        Defaults to ``engine.runs.live.send_control``.
    report : callable(str), optional
        Called on the control thread with a sentence when a command could not be written (the run has
        ended, the share refused the write); must not block. It is called even after :meth:`stop`,
        so a command given just before watching ended is still answered.
    """

    sigOpened = QtCore.Signal(object)  # engine.runs.RunRecord of the folder: settings, label
    sigState = QtCore.Signal(object)  # WatchState, on each change
    sigFailed = QtCore.Signal(str)  # the folder cannot be watched at all; the watcher has ended

    def __init__(
        self,
        folder,
        deliver: Callable[[list], None],
        interval_s: float = 0.2,
        timeout_s: float = 2.0,
        reader_factory: Callable | None = None,
        send_control: Callable | None = None,
        report: Callable[[str], None] | None = None,
        parent: QtCore.QObject | None = None,
    ):
        super().__init__(parent)
        self.folder = Path(folder)
        self._deliver = deliver
        self.interval_s = float(interval_s)
        self.timeout_s = float(timeout_s)
        self._make_reader = reader_factory or _default_reader
        self._send_control = send_control or _default_send
        self._report = report or (lambda text: None)
        self._stop = threading.Event()
        self._lock = threading.Lock()  # guards _state and _poll_started (poll thread vs GUI thread)
        self._state = WatchState(self.folder)
        self._poll_started: float | None = None  # time.monotonic() of the poll in flight, if any
        self._thread: threading.Thread | None = None
        self._controls: queue.Queue = queue.Queue()
        self._control_thread: threading.Thread | None = None
        # On the GUI thread: notices a poll that hangs (the poll thread cannot report its own hang).
        self._watchdog = QtCore.QTimer(self)
        self._watchdog.setObjectName("watch-timeout")
        self._watchdog.setInterval(max(50, int(self.timeout_s * 250)))
        self._watchdog.timeout.connect(self._check_hang)

    # ------------------------------------------------------------------ GUI thread
    @property
    def state(self) -> WatchState:
        with self._lock:
            return self._state

    @property
    def running(self) -> bool:
        """Whether the poll thread is still alive (it ends on :meth:`stop`, a final state or a failure)."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start polling (once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name=f"watch {self.folder.name}", daemon=True)
        self._thread.start()
        self._watchdog.start()

    def stop(self, wait_s: float = 0.0) -> bool:
        """Stop polling. The thread ends after its current poll; waits up to ``wait_s`` for it (never
        longer: a poll blocked on a dead share is left to end on its own). True if it has ended."""
        self._stop.set()
        self._controls.put(None)
        self._watchdog.stop()
        ended = True
        for thread in (self._thread, self._control_thread):
            if thread is not None:
                thread.join(wait_s)
                ended = ended and not thread.is_alive()
        return ended

    def send(self, command: str, **values) -> None:
        """Write a control command into the run folder, on the control thread (returns at once). The run
        applies it at its next iteration boundary and says so in its events."""
        if self._stop.is_set():
            return
        if self._control_thread is None:
            self._control_thread = threading.Thread(
                target=self._control_loop, name=f"control {self.folder.name}", daemon=True
            )
            self._control_thread.start()
        self._controls.put((command, values))

    def _check_hang(self) -> None:
        with self._lock:
            started = self._poll_started
            hung = started is not None and time.monotonic() - started > self.timeout_s
            if not hung or not self._state.reachable:
                return
            self._state = dataclasses.replace(
                self._state, reachable=False, problem=f"no answer from {self.folder} for {self.timeout_s:g} s"
            )
            state = self._state
        self.sigState.emit(state)

    # ------------------------------------------------------------------ poll thread
    def _loop(self) -> None:
        from engine.runs import RunError, open_run

        reader = None
        failures = 0
        final_seen = False
        while not self._stop.is_set():
            with self._lock:
                self._poll_started = time.monotonic()
            try:
                if reader is None:
                    reader = self._make_reader(self.folder)  # RunError when it is not a run folder
                    record = getattr(reader, "record", None) or open_run(self.folder)
                    self._emit(self.sigOpened, record)
                events = reader.poll()
                run_state = str(reader.state())
            except RunError as exc:
                if reader is None and self.state.last_heard is None:
                    self._emit(self.sigFailed, str(exc))  # never opened: nothing to wait for
                    return
                failures += 1
                self._update(reachable=False, problem=str(exc))
            except Exception as exc:  # OSError on a share, or a damaged file: keep trying
                failures += 1
                self._update(reachable=False, problem=f"{type(exc).__name__}: {exc}")
            else:
                failures = 0
                if events and not self._stop.is_set():  # after stop() nobody wants them
                    self._deliver(list(events))
                if run_state in FINAL_STATES and not final_seen:
                    # Read once more before saying so: what the run wrote with its last state is in.
                    final_seen = True
                    self._update(reachable=True, last_heard=time.time(), problem="")
                elif run_state in FINAL_STATES:  # the run writes nothing more: everything has been read
                    self._update(run_state=run_state, reachable=True, last_heard=time.time(), problem="")
                    return
                else:
                    self._update(run_state=run_state, reachable=True, last_heard=time.time(), problem="")
            finally:
                self._end_poll()
            slow = failures or self.state.run_state == "lost"
            # A failing share is asked again later and later (0.5 s, 1 s, ... at most 5 s apart).
            self._stop.wait(min(0.5 * max(failures, 1), 5.0) if slow else self.interval_s)

    def _emit(self, signal, value) -> None:
        """Emit from a worker thread (queued to the GUI thread, where the watcher lives); after
        :meth:`stop` nobody listens, and the watcher itself may be deleted already."""
        if self._stop.is_set():
            return
        try:
            signal.emit(value)
        except RuntimeError:  # the C++ object went between the check and the emit
            pass

    def _end_poll(self) -> None:
        with self._lock:
            self._poll_started = None

    def _update(self, **changes) -> None:
        with self._lock:
            state, before = dataclasses.replace(self._state, **changes), self._state
            self._state = state
            # last_heard alone changes on every poll: only a change the user would see is signalled.
            if dataclasses.replace(state, last_heard=None) == dataclasses.replace(before, last_heard=None):
                return
        self._emit(self.sigState, state)

    # ------------------------------------------------------------------ control thread
    def _control_loop(self) -> None:
        while True:
            item = self._controls.get()
            if item is None:
                return
            command, values = item
            try:
                self._send_control(self.folder, command, **values)
            except Exception as exc:  # a share that refuses the write: say so, keep going
                self._report(f"could not send {command} to {self.folder.name}: {exc}")
