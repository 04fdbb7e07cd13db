"""Issue 15, parts 8 and 9: every visible control explains itself in a tooltip; the Help menu; messages
float over the window (the panels do not move) and keep long detail behind "Show details"."""

from __future__ import annotations

from PySide6 import QtWidgets

from engine.templates import digits_project
from studio.layout_check import open_sized

_CONTROLS = (
    QtWidgets.QAbstractButton,
    QtWidgets.QComboBox,
    QtWidgets.QLineEdit,
    QtWidgets.QAbstractSpinBox,
    QtWidgets.QSlider,
)


def _missing_tooltips(root) -> list[str]:
    missing = []
    for w in root.findChildren(QtWidgets.QWidget):
        if not isinstance(w, _CONTROLS) or not w.isVisible() or w.objectName().startswith("qt_"):
            continue  # Qt's own parts (dock title buttons, a spin box's line edit) explain themselves
        if isinstance(w, QtWidgets.QLineEdit) and w.isReadOnly():
            continue  # a read-only line is a label
        if len(w.toolTip().split()) < 3:
            text = w.text() if hasattr(w, "text") else ""
            missing.append(f"{type(w).__name__} {text!r} in {type(w.parentWidget()).__name__}")
    return missing


def test_every_visible_control_has_a_tooltip(qtbot):
    w = open_sized(1600, 1000, project=digits_project(), build_run=lambda p: None)
    qtbot.addWidget(w)
    missing = []
    for name in ("training", "dataset", "network_builder", "monitor"):
        w.panel(name).raise_()
        qtbot.waitUntil(w.panel(name).isVisible, timeout=2000)
        missing += [f"{name}: {m}" for m in _missing_tooltips(w.panel(name))]
    missing += [f"toolbar: {m}" for m in _missing_tooltips(w.run_toolbar)]
    assert not missing, "\n".join(sorted(set(missing)))
    w.close_project_action.trigger()  # the start page
    assert not _missing_tooltips(w.start_page)


def test_help_menu_lists_the_shortcuts_and_has_a_getting_started_page(qtbot, window):
    texts = [a.text() for a in window.menu("Help").actions()]
    assert {"&Getting started", "&Keyboard shortcuts", "&Documentation", "&About Sigma Studio"} <= set(texts)
    window.help_actions["shortcuts"].trigger()
    page = window.help_page
    assert page.isVisible() and "F5" in page.text() and "Ctrl+S" in page.text() and "Start" in page.text()
    page.close()
    window.help_actions["getting_started"].trigger()
    assert "Open an example" in window.help_page.text()
    window.help_page.close()


def test_messages_float_over_the_panels_and_keep_detail_behind_a_button(qtbot, window):
    monitor = window.panel("monitor")
    qtbot.waitUntil(lambda: window._sized, timeout=2000)
    qtbot.wait(100)  # the first show sizes the docks once
    before = monitor.geometry()
    window.banner.show_message(
        "Could not import flowers.csv: row 12 has 3 fields, the header 4. Fix the row and import again."
        "\n\nFile /tmp/flowers.csv, row 12: 'a,b,c'",
        "error",
    )
    banner = window.banner
    assert banner.isVisible() and monitor.geometry() == before  # nothing moved
    assert banner.geometry().top() >= window.menuBar().height()
    assert "Fix the row" in banner.label.text() and not banner.details.isVisible()
    banner.details_button.click()
    assert banner.details.isVisible() and "row 12" in banner.details.text()
    window.banner.show_message("Saved /tmp/x.sigma.json", "success")
    assert banner.property("level") == "success" and not banner.details_button.isVisible()
    banner.dismiss()
    assert not banner.isVisible() and monitor.geometry() == before


def test_save_checkpoint_is_offered_only_for_a_run_of_the_project_on_screen(qtbot, window):
    action = window.project_actions.checkpoint_action
    assert not action.isEnabled() and "Start a run" in action.toolTip()
    with qtbot.waitSignal(
        window.bridge.sigStateChanged, check_params_cb=lambda s: s == "running", timeout=30000
    ):
        assert window.training.start()
    assert action.isEnabled()
    with qtbot.waitSignal(window.bridge.sigRunFinished, timeout=30000):
        window.bridge.stop()
    assert action.isEnabled()  # the stopped run's state can still be saved
    window.open_example("digits")
    assert not action.isEnabled()


def test_the_dark_theme_recolours_the_window_and_the_charts_and_is_remembered(qtbot, window):
    from PySide6 import QtCore, QtGui

    from studio import theme

    app = QtWidgets.QApplication.instance()
    try:
        window.theme_actions["dark"].trigger()
        assert app.palette().color(QtGui.QPalette.ColorRole.Window).lightness() < 80
        chart = window.monitor.loss_chart.plot_widget
        assert chart.backgroundBrush().color().lightness() < 80
        assert QtCore.QSettings("Sigma", "Sigma Studio").value("view/theme") == "dark"
        assert window.theme_actions["dark"].isChecked()
        window.set_theme("light")
        assert app.palette().color(QtGui.QPalette.ColorRole.Window).lightness() > 180
        assert chart.backgroundBrush().color().lightness() > 240
    finally:
        theme.apply(app, "light")  # the next tests expect the default look
