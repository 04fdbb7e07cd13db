"""Drop anywhere: a file or folder dropped on any part of the main window is opened or imported.

Qt hands a drag to the widget under the cursor that accepts drops (the charts' graphics views do, and
then ignore files), so a filter on the application sees the drag events of every widget of the window
and takes those not meant for a widget with its own drop handling (the dataset panel). While a drag is
over the window an overlay says what the drop will do.

What a drop does (:func:`drop_action`): a project file (``.json``) is opened, an ``.h5``/``.hdf5`` file
that is a Sigma checkpoint is restored, a run folder (one holding ``run.json``) is watched live
(:mod:`studio.watch_actions`), anything else is imported as data in the dataset panel.
"""

from __future__ import annotations

import os

from PySide6 import QtCore, QtWidgets

from studio.run_watch import is_run_folder

__all__ = ["DropAnywhere", "drop_action", "local_paths"]


def local_paths(mime) -> list[str]:
    """The local files and folders in a drag's mime data (remote URLs are left out)."""
    if mime is None or not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]


def _is_checkpoint(path: str) -> bool:
    """Whether ``path`` is a Sigma checkpoint (its root ``format`` attribute; only the header is read)."""
    try:
        import h5py  # only when an HDF5 file is dropped

        from engine import checkpoint

        with h5py.File(path, "r") as f:
            return f.attrs.get("format") == checkpoint.FORMAT
    except (OSError, ValueError, ImportError):
        return False


def drop_action(paths: list[str], probe: bool = False) -> tuple[str, str]:
    """What dropping ``paths`` does: ``(kind, sentence)`` with kind ``project``, ``checkpoint``, ``run``,
    ``data`` or ``none``. ``probe`` reads an HDF5 file's header to tell a checkpoint from data (at drop
    time; while dragging, both are named)."""
    if not paths:
        return "none", "Only files and folders on this computer can be dropped here."
    first = paths[0]
    name = os.path.basename(first.rstrip("/\\")) or first
    lower = first.lower()
    if len(paths) == 1 and is_run_folder(first):
        return "run", f"Drop to watch the run {name}"
    if len(paths) == 1 and lower.endswith(".json"):
        return "project", f"Drop to open the project {name}"
    if len(paths) == 1 and lower.endswith((".h5", ".hdf5")):
        if not probe:
            return "checkpoint", f"Drop to restore the checkpoint {name} (or import it as HDF5 data)"
        if _is_checkpoint(first):
            return "checkpoint", f"Restore the checkpoint {name}"
    what = name if len(paths) == 1 else f"{len(paths)} files"
    return "data", f"Drop to import {what} as data"


class DropAnywhere(QtCore.QObject):
    """Takes file drops anywhere on ``window`` (a :class:`~studio.main_window.MainWindow`).

    ``window.open_dropped(paths)`` does the work; widgets inside ``skip`` (callables returning a
    widget or None) keep their own drop handling.
    """

    def __init__(self, window: QtWidgets.QMainWindow, skip=()):
        super().__init__(window)
        self.window = window
        self._skip = tuple(skip)
        window.setAcceptDrops(True)  # widgets that take no drops hand them to their window
        self.overlay = QtWidgets.QLabel(window)
        self.overlay.setObjectName("drop-overlay")
        self.overlay.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.overlay.setWordWrap(True)
        self.overlay.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.overlay.setStyleSheet(
            "QLabel#drop-overlay { background: rgba(0, 114, 178, 40); border: 3px dashed #0072B2;"
            " color: #003c5e; font-size: 20px; font-weight: bold; }"
        )
        self.overlay.hide()
        app = QtWidgets.QApplication.instance()
        app.installEventFilter(self)
        window.destroyed.connect(lambda: app.removeEventFilter(self))

    def _ours(self, obj) -> bool:
        if not isinstance(obj, QtWidgets.QWidget) or obj.window() is not self.window:
            return False
        for get in self._skip:
            own = get()
            if own is not None and own.isVisible() and (own is obj or own.isAncestorOf(obj)):
                return False
        return True

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        T = QtCore.QEvent.Type
        if kind not in (T.DragEnter, T.DragMove, T.DragLeave, T.Drop) or not self._ours(obj):
            if kind in (T.DragEnter, T.Drop) and isinstance(obj, QtWidgets.QWidget):
                self.overlay.hide()  # a widget of its own takes it (the dataset panel shows its own hint)
            return False
        if kind == T.DragLeave:
            self.overlay.hide()
            return False
        paths = local_paths(event.mimeData())
        if kind in (T.DragEnter, T.DragMove):
            if not paths:
                return False
            event.setDropAction(QtCore.Qt.DropAction.CopyAction)
            event.accept()
            if kind == T.DragEnter:
                self._show_overlay(drop_action(paths)[1])
            return True
        self.overlay.hide()
        if not paths:
            return False
        event.setDropAction(QtCore.Qt.DropAction.CopyAction)
        event.accept()
        # After the drop returns: the drag's event loop must end before a question or a job starts.
        QtCore.QTimer.singleShot(0, lambda p=list(paths): self._open(p))
        return True

    def _open(self, paths: list[str]) -> None:
        try:
            self.window.open_dropped(paths)
        except RuntimeError:  # the window closed in between: nothing to open into
            pass

    def _show_overlay(self, text: str) -> None:
        self.overlay.setText(text)
        self.overlay.setGeometry(self.window.rect().adjusted(8, 8, -8, -8))
        self.overlay.raise_()
        self.overlay.show()
