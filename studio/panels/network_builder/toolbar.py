"""The network builder's toolbar and keyboard shortcuts: Templates, Undo/Redo, Auto layout, Fit, Delete,
and Copy/Cut/Paste/Select all (shortcuts only while the builder has focus, so the main window's own keep
working elsewhere)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar, QToolButton

__all__ = ["TEMPLATES", "make_toolbar"]

# Menu title -> function name in engine.templates.
TEMPLATES = {
    "MLP": "mlp",
    "LeNet-style CNN": "lenet",
    "LSTM classifier": "lstm_classifier",
    "Residual block": "residual_block",
    "Cat painter (Fourier features)": "cat_painter",
    "SIREN painter": "siren_painter",
    "Next-character model (GRU)": "char_model",
}


def make_toolbar(panel) -> QToolBar:
    """The toolbar of ``panel`` (a NetworkBuilderPanel); sets ``panel.undo_action``, ``redo_action`` and
    ``layout_action`` and adds every shortcut to the panel."""
    scene, view = panel.scene, panel.view
    bar = QToolBar()
    templates = QToolButton()
    templates.setText("Templates")
    templates.setToolTip("Replace the network by a ready-made one, fitted to the imported data (undoable).")
    templates.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    menu = QMenu(templates)
    for title, func in TEMPLATES.items():
        menu.addAction(title, lambda f=func: panel.load_template(f))
    templates.setMenu(menu)
    bar.addWidget(templates)
    bar.addSeparator()
    panel.undo_action = scene.undo_stack.createUndoAction(panel, "Undo")
    panel.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
    panel.undo_action.setToolTip("Undo the last change to the network (Ctrl+Z).")
    panel.redo_action = scene.undo_stack.createRedoAction(panel, "Redo")
    panel.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
    panel.redo_action.setToolTip("Redo the change just undone (Ctrl+Shift+Z).")
    bar.addAction(panel.undo_action)
    bar.addAction(panel.redo_action)
    bar.addSeparator()

    def auto_layout():
        scene.auto_layout()
        view.fit()

    def cut():
        scene.copy_selection()
        scene.delete_selection()

    def select_all():
        for node in scene.nodes():
            node.setSelected(True)

    panel.layout_action = _action(panel, "Auto layout", "Ctrl+L", auto_layout, bar)
    panel.layout_action.setToolTip("Arrange the layers top to bottom in reading order (Ctrl+L).")
    _action(panel, "Fit", "Ctrl+0", view.fit, bar).setToolTip("Zoom to show the whole network (Ctrl+0).")
    _action(panel, "Delete", QKeySequence.StandardKey.Delete, scene.delete_selection, bar).setToolTip(
        "Remove the selected layers and their connections (Delete; undoable)."
    )
    _action(panel, "Copy", QKeySequence.StandardKey.Copy, scene.copy_selection, None)
    _action(panel, "Cut", QKeySequence.StandardKey.Cut, cut, None)
    _action(panel, "Paste", QKeySequence.StandardKey.Paste, scene.paste, None)
    _action(panel, "Select all", QKeySequence.StandardKey.SelectAll, select_all, None)
    for action in (panel.undo_action, panel.redo_action):
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        panel.addAction(action)
    return bar


def _action(panel, text, shortcut, slot, bar) -> QAction:
    action = QAction(text, panel)
    action.setShortcut(QKeySequence(shortcut))
    # Only while the builder has focus, so the main window's own shortcuts keep working elsewhere.
    action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    action.triggered.connect(lambda _checked=False: slot())
    panel.addAction(action)
    if bar is not None:
        bar.addAction(action)
    return action
