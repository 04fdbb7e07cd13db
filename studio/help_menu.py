"""The Help menu: getting started, the keyboard shortcuts, the documentation, about.

The shortcuts list is read from the window's own actions when it is opened, so it never goes stale.
Every page is a non-modal dialog (``open()``): the event loop, and training, keep running.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["install", "shortcut_rows", "GETTING_STARTED"]

GETTING_STARTED = """<h3>Getting started</h3>
<ol>
<li><b>Open an example</b> from the start page or the toolbar: "Paint the cat" shows a network learning a
picture; "Digits classifier" learns to read handwritten digits in seconds.</li>
<li><b>Press Start</b> (F5). The live monitor shows the loss falling, the predictions and, for a
classifier, the confusion matrix. Pause (F6), Step (F8) and Stop (Shift+F5) at any time.</li>
<li><b>Use your own data</b>: drop a file or folder anywhere on the window (images in one folder per class,
a CSV table, IDX, NPZ, HDF5, text). If the network does not fit the data, the builder and the training
panel say so and fix it in one click.</li>
<li><b>Change the network</b> in the Network builder: drag layers from the palette, or pick a template;
shapes and parameter counts update as you edit.</li>
<li><b>Save</b> the project (Ctrl+S). Unsaved work is autosaved and offered back if the studio closes.</li>
</ol>"""


def shortcut_rows(window) -> list[tuple[str, str]]:
    """``(menu path, shortcut)`` for every menu action that has a shortcut, in menu order."""
    rows = []

    def walk(menu: QtWidgets.QMenu, path: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), f"{path} > {action.text().replace('&', '')}")
            elif not action.shortcut().isEmpty():
                text = action.text().replace("&", "")
                rows.append((f"{path} > {text}", action.shortcut().toString(QtGui.QKeySequence.NativeText)))

    for action in window.menuBar().actions():
        if action.menu() is not None:
            walk(action.menu(), action.text().replace("&", ""))
    return rows


def _documentation() -> Path | None:
    """The README of a source checkout (the installed studio has the same text in its package page)."""
    here = Path(__file__).resolve().parent.parent / "README.md"
    return here if here.is_file() else None


def install(window) -> dict:
    """Add the Help menu's pages to ``window``; returns the actions by name."""
    menu = window.menu("Help")
    actions = {
        "getting_started": menu.addAction("&Getting started"),
        "shortcuts": menu.addAction("&Keyboard shortcuts"),
        "documentation": menu.addAction("&Documentation"),
    }
    actions["getting_started"].setShortcut(QtGui.QKeySequence.StandardKey.HelpContents)
    actions["getting_started"].triggered.connect(lambda: _page(window, "Getting started", GETTING_STARTED))
    actions["shortcuts"].triggered.connect(
        lambda: _page(window, "Keyboard shortcuts", _shortcuts_html(window))
    )
    actions["documentation"].triggered.connect(lambda: open_documentation(window))
    menu.addSeparator()
    return actions


def _shortcuts_html(window) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(where)}</td><td><b>{html.escape(keys)}</b></td></tr>"
        for where, keys in shortcut_rows(window)
    )
    return f"<h3>Keyboard shortcuts</h3><table cellspacing='6'>{rows}</table>"


def _page(window, title: str, text: str) -> QtWidgets.QMessageBox:
    box = QtWidgets.QMessageBox(window)
    box.setWindowTitle(title)
    box.setTextFormat(QtCore.Qt.TextFormat.RichText)
    box.setText(text)
    box.setIcon(QtWidgets.QMessageBox.Icon.Information)
    box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    window.help_page = box
    box.open()
    return box


def open_documentation(window) -> bool:
    """Open the documentation (the README) in the system's viewer; a message if there is none."""
    path = _documentation()
    if path is None:
        window.banner.show_message(
            "The documentation is the README of Sigma Studio's source; this installation has no copy.", "info"
        )
        return False
    return QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(path)))
