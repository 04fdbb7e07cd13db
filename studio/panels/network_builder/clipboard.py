"""The builder's layers on the system clipboard: copied as JSON under our own MIME type (and as text).

The clipboard owns the QMimeData we give it and deletes it when QtGui unloads, after the interpreter has
gone; shiboken then calls into a finalised Python and the process dies with a segmentation fault at exit.
So our layers are taken off the clipboard at exit (``atexit``), while Python still runs; copied layers
only mean something to a running studio anyway.
"""

from __future__ import annotations

import atexit

from PySide6.QtCore import QMimeData
from PySide6.QtWidgets import QApplication

__all__ = ["CLIPBOARD_MIME", "put_layers", "layers_text"]

CLIPBOARD_MIME = "application/x-sigma-layers"


def _release() -> None:
    app = QApplication.instance()
    if app is None:
        return
    clipboard = app.clipboard()
    mime = clipboard.mimeData()
    if mime is not None and mime.hasFormat(CLIPBOARD_MIME):
        clipboard.clear()


def put_layers(text: str) -> None:
    """Put copied layers (their JSON) on the clipboard."""
    mime = QMimeData()
    mime.setData(CLIPBOARD_MIME, text.encode())
    mime.setText(text)
    QApplication.clipboard().setMimeData(mime)
    atexit.unregister(_release)  # registered once, however many copies
    atexit.register(_release)


def layers_text() -> str:
    """The JSON of layers on the clipboard, or "" when it holds none of ours."""
    mime = QApplication.clipboard().mimeData()
    if mime is not None and mime.hasFormat(CLIPBOARD_MIME):
        return bytes(mime.data(CLIPBOARD_MIME)).decode()
    return ""
