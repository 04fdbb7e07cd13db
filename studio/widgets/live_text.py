"""A line of text that changes many times a second during a run (ETA, captions) without making Qt lay
out the window again each time.

A QLabel's size hint follows its text, so every ``setText`` invalidates its layout, and the layouts
above it, up to the main window: in ``python -m bench gui`` the ETA line and the sample captions made
the main window lay itself out ~8 times a second, creating a geometry animation per dock each time,
all on the GUI thread and much of it holding the GIL the training thread wants. A read-only, frameless
QLineEdit looks like a label and its size hint does not depend on its text. It is a plain Qt widget (no
Python subclass), so painting it never needs the GIL.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["live_text"]

_ROLES = {
    None: "",
    "caption": "color: #555555; font-size: 11px;",
}


def live_text(
    text: str = "",
    role: str | None = None,
    alignment: QtCore.Qt.AlignmentFlag = QtCore.Qt.AlignmentFlag.AlignLeft,
) -> QtWidgets.QLineEdit:
    """A label-like, read-only line of text; ``text()``/``setText()`` as on a QLabel.

    ``role`` "caption" gives the theme's caption look (small, grey). The text can be selected and
    copied, which a person reading an ETA or an error figure may want anyway.
    """
    if role not in _ROLES:
        raise ValueError(f"live_text: unknown role {role!r}; known: {sorted(r for r in _ROLES if r)}")
    line = QtWidgets.QLineEdit(text)
    line.setReadOnly(True)
    line.setFrame(False)
    line.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
    line.setAlignment(alignment | QtCore.Qt.AlignmentFlag.AlignVCenter)
    line.setStyleSheet(f"QLineEdit {{ background: transparent; border: none; padding: 0; {_ROLES[role]} }}")
    line.setCursorPosition(0)
    return line
