"""Notices runs that appear or change in a project's runs folder while nothing here trains them: runs
started by ``sigma train`` in a terminal, on another machine writing into a shared folder, or by a
sweep (issue 21).

Each check runs on a short-lived daemon thread, never on the GUI thread (the folder may sit on a
network share that stops answering): it lists the run folders and reads each ``status.json`` (a few
hundred bytes), and only when what it saw differs from the last check (a new run, a state or an epoch
that changed) does it read the runs in full (:func:`engine.runs.list_runs`) and hand them over. One
check at a time: a hung share holds one thread, never a pile of them.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6 import QtCore

__all__ = ["RunsFolderPoller"]


def _signature(folder: Path) -> tuple:
    """What a user would see change in the table: run names, states, epochs and iterations."""
    from engine.runs.series import read_json

    seen = []
    try:
        entries = sorted(p for p in folder.iterdir() if p.name.startswith("run-"))
    except OSError:
        return ()
    for entry in entries:
        status = read_json(entry / "status.json", None)
        status = status if isinstance(status, dict) else {}
        seen.append((entry.name, status.get("state"), status.get("epoch")))
    return tuple(seen)


class RunsFolderPoller(QtCore.QObject):
    """Checks a project's runs folder every ``interval_ms`` while started.

    ``sigChanged(project_path, records)`` (on the GUI thread) carries the runs read afresh when the
    folder changed since the last check.
    """

    sigChanged = QtCore.Signal(object, list)

    def __init__(self, interval_ms: int = 2000, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.project_path: Path | None = None
        self._last: tuple | None = None
        self._busy = threading.Lock()  # held while a check runs
        self._timer = QtCore.QTimer(self)
        self._timer.setObjectName("runs-folder-poll")
        self._timer.setInterval(int(interval_ms))
        self._timer.timeout.connect(self.check)

    def set_project_path(self, path, known: tuple | None = None) -> None:
        """Watch ``path``'s runs folder (None: nothing)."""
        self.project_path = Path(path) if path is not None else None
        self._last = known

    def start(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def check(self) -> None:
        """Start one check now (unless one is still running, or there is no saved project)."""
        path = self.project_path
        if path is None or not self._busy.acquire(blocking=False):
            return
        thread = threading.Thread(target=self._check, args=(path, self._last), name="runs-folder-poll")
        thread.daemon = True  # a check blocked on a dead share never holds the studio open
        thread.start()

    def _check(self, path: Path, last: tuple | None) -> None:  # its own thread
        from engine.runs import list_runs, runs_dir

        try:
            signature = _signature(runs_dir(path))
            if signature == last:
                return
            records = list_runs(path)
            self._last = signature
            self.sigChanged.emit(path, records)
        except Exception:  # an unreadable share: the next check tries again
            return
        finally:
            self._busy.release()
