"""The builder's layers on the system clipboard: copied as JSON under our own MIME type (and as text).

:func:`layers_json` writes the selected layers (with the edges among them and their places) and
:func:`pasted_layers` reads them back as renamed copies; the scene's ``copy_selection`` and ``paste``
use them.

The clipboard owns the QMimeData we give it and deletes it when QtGui unloads, after the interpreter has
gone; shiboken then calls into a finalised Python and the process dies with a segmentation fault at exit.
So our layers are taken off the clipboard at exit (``atexit``), while Python still runs; copied layers
only mean something to a running studio anyway.
"""

from __future__ import annotations

import atexit
import copy
import json

from PySide6.QtCore import QMimeData
from PySide6.QtWidgets import QApplication

from .spec_io import NodeData, unique_name

__all__ = ["CLIPBOARD_MIME", "put_layers", "layers_text", "layers_json", "pasted_layers"]

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


def layers_json(chosen) -> str:
    """The JSON of the layers ``chosen`` (node items): type, name, fields, the inputs among them and
    position, in the order they were made."""
    names = {n.name for n in chosen}
    payload = [
        {
            "type": n.type,
            "name": n.name,
            "props": n.props,
            "inputs": [s for s in n.data.inputs if s in names],
            "pos": [n.pos().x(), n.pos().y()],
        }
        for n in sorted(chosen, key=lambda n: n.node_id)
    ]
    return json.dumps(payload)


def pasted_layers(text: str, used: set) -> list[tuple[NodeData, tuple]]:
    """Copies of the layers in ``text`` (from :func:`layers_json`) under names not in ``used`` (which
    gains them), wired among themselves, each with its position moved 40 px down and right; ``[]`` for
    text that holds none."""
    try:
        payload = json.loads(text or "[]")
    except json.JSONDecodeError:
        return []
    if not payload:
        return []
    renamed = {}
    for entry in payload:
        renamed[entry["name"]] = unique_name(entry["type"], used)
        used.add(renamed[entry["name"]])
    layers = []
    for entry in payload:
        data = NodeData(
            entry["type"],
            renamed[entry["name"]],
            copy.deepcopy(entry["props"]),
            [renamed[s] for s in entry["inputs"]],
        )
        x, y = entry.get("pos", (0.0, 0.0))
        layers.append((data, (x + 40.0, y + 40.0)))
    return layers
