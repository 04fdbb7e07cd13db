"""The builder's health overlay on a real digits run: a layer broken on purpose turns red."""

from __future__ import annotations

import pytest

from studio.panels.network_builder.items import HEALTH_COLOURS


@pytest.fixture
def window(qtbot, build_run):
    from engine.templates import digits_project, mlp
    from studio.main_window import MainWindow

    project = digits_project()
    project.network = mlp(inputs=64, hidden=(32, 16), classes=10)
    project.training.update({"epochs": 200, "batch_size": 64})  # the tests stop it
    w = MainWindow(project=project, build_run=build_run, restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    return w


def _break_fc2(project):
    """ReLU layer fc2 with a bias of -50: every unit dead from the first step."""
    for node in project.network["nodes"]:
        if node["name"] == "fc2":
            node["init"] = {"bias": {"type": "constant", "value": -50.0}}


def _run(qtbot, window, interval=5):
    window.project.training["health"] = True
    assert window.bridge.start(window.project)
    qtbot.waitUntil(lambda: window.bridge.trainer is not None, timeout=30000)
    from engine.hooks import LayerHealth, TimeStep

    hook = next(h for h in window.bridge.trainer.hooks if isinstance(h, LayerHealth))
    hook.timestep = TimeStep(interval)  # measure often: the test sees the overlay while the run is live


def test_nodes_change_colour_when_a_layer_is_broken(qtbot, window):
    panel, overlay, model = window.network_panel, window.health_overlay, window.health
    _break_fc2(window.project)
    window.network_panel.load_project(window.project)
    _run(qtbot, window)
    qtbot.waitUntil(lambda: model.active and model.has_data, timeout=30000)
    assert overlay.shown
    fc1, fc2 = panel.scene.node("fc1"), panel.scene.node("fc2")
    qtbot.waitUntil(lambda: fc2.health_severity == "problem", timeout=30000)
    logits = panel.scene.node("logits")
    assert logits.health_severity == "ok"
    assert "fc2: 100% dead units" in fc2.toolTip() and "gradient norm" in logits.toolTip()
    # no gradient reaches fc1 through the dead layer: it stops learning too, and says so
    assert {f.kind for f in model.findings("fc1")} <= {"tiny_update", "vanishing_gradient"}
    assert len(fc1.health["sparkline"]) >= 1
    said = [m for _level, m in window.monitor.log.lines if "fc2: 100% dead units" in m]
    assert len(said) == 1  # in the log once, however many reports say it
    # the stack view shows the same
    panel.tabs.setCurrentWidget(panel.stack)
    row = panel.stack.order.index("fc2")
    item = panel.stack.table.item(row, 4)
    assert "fc2: 100% dead units" == item.text() and item.foreground().color() == HEALTH_COLOURS["problem"]
    # clicking the node opens its history and what to try
    panel.tabs.setCurrentIndex(0)
    panel.scene.select("fc2")
    dialog = overlay.dialog
    assert dialog is not None and dialog.isVisible() and dialog.layer == "fc2"
    assert dialog.figure == "dead_fraction" and len(dialog.curve.xData) >= 1
    assert "What to try" in dialog.advice.toPlainText() or "What to try" in dialog.advice.toHtml()
    window.bridge.stop()
    qtbot.waitUntil(lambda: not window.bridge.busy, timeout=30000)
    # the overlay leaves with the run, and comes back for the last run on request
    assert not overlay.shown and fc2.health is None and panel.stack.table.columnCount() == 4
    assert overlay.recall.isEnabled()
    overlay.recall.click()
    assert overlay.shown and fc2.health_severity == "problem"
    overlay.recall.click()
    assert not overlay.shown
    dialog.close()


def test_healthy_network_is_all_green(qtbot, window):
    overlay, model = window.health_overlay, window.health
    _run(qtbot, window)
    qtbot.waitUntil(lambda: model.has_data and len(model.reports) >= 3, timeout=30000)
    window.bridge.stop()
    qtbot.waitUntil(lambda: not window.bridge.busy, timeout=30000)
    assert all(not r.findings for r in model.reports)
    overlay.recall.click()
    nodes = window.network_panel.scene.nodes()
    assert {n.name: n.health_severity for n in nodes if n.health is not None} == {
        "fc1": "ok",
        "fc2": "ok",
        "logits": "ok",
        "loss": "ok",
    }
