"""The cost before training in the studio: estimate by part and layer, the batch finder, "Use it"."""

from __future__ import annotations

import pytest

from engine import templates
from studio.bridge import Bridge
from studio.panels.training import TrainingPanel
from studio.widgets.cost_view import CostView


@pytest.fixture
def bridge(qtbot):
    b = Bridge()
    yield b
    b.shutdown(5000)


def test_the_cost_view_shows_the_estimate_and_follows_the_batch_size(qtbot, tmp_path):
    view = CostView()
    qtbot.addWidget(view)
    project = templates.digits_project()
    view.set_project(project)
    view.show()
    qtbot.waitUntil(lambda: view.estimate is not None, timeout=20000)
    assert "batch 64: about" in view.summary.text() and "per epoch" in view.summary.text()
    assert view.layers.rowCount() == len(view.estimate.layers)
    assert view.estimate.data_bytes > 0
    first = view.estimate.forward_bytes
    project.training["batch_size"] = 128
    with qtbot.waitSignal(view.sigUpdated, timeout=20000):
        view.refresh()
    assert view.estimate.forward_bytes == 2 * first
    view.wait()


def test_largest_batch_from_the_training_panel(qtbot, bridge):
    panel = TrainingPanel(bridge)
    qtbot.addWidget(panel)
    project = next(e for e in templates.EXAMPLES if e.key == "digits-cnn").make()
    panel.set_project(project)
    panel.show()
    panel.cost.budget.setValue(12)
    panel.cost.find_largest()
    qtbot.waitUntil(
        lambda: panel.cost.largest is not None or "Could not" in panel.cost.answer.text(), timeout=60000
    )
    batch = panel.cost.largest[0]
    assert batch > 16 and "Largest batch that fits in 12 MiB" in panel.cost.answer.text()
    panel.cost.use.click()
    assert project.training["batch_size"] == batch and panel.batch_size.value() == batch
    panel.cost.wait()
