"""Panels observe the project's typed training settings: the builder's batch box and the training
panel's batch size always show the same value, whoever changes it."""

from __future__ import annotations

import pytest

from engine.project import Project
from engine.settings import TRAINING_DEFAULTS


def test_builder_batch_box_follows_the_training_panel_and_back(window):
    training, builder = window.training, window.network_panel
    assert builder.batch.value() == training.batch_size.value() == window.project.training.batch_size

    assert training.batch_size.set_text("48")  # typed into the training panel
    assert window.project.training.batch_size == 48 and builder.batch.value() == 48
    assert "at batch 48" in builder.totals_label.text()

    builder.batch.setValue(200)  # the builder's box edits the same setting
    assert window.project.training.batch_size == 200 and training.batch_size.value() == 200

    window.project.training.batch_size = 96  # anyone else (the batch finder, a script)
    assert training.batch_size.value() == 96 and builder.batch.value() == 96

    training._use_batch(512)  # the cost view's "Use this batch size"
    assert (
        builder.batch.value() == training.batch_size.value() == window.project.training["batch_size"] == 512
    )


def test_a_new_project_is_shown_with_the_defaults_and_the_old_one_no_longer_drives_the_panels(window):
    old = window.project
    fresh = Project(name="fresh")
    window.set_project(fresh)
    training, builder = window.training, window.network_panel
    assert training.batch_size.value() == builder.batch.value() == TRAINING_DEFAULTS["batch_size"]
    assert training.epochs.value() == TRAINING_DEFAULTS["epochs"]
    assert training.workers.value() == TRAINING_DEFAULTS["workers"]
    assert training.learning_rate.value() == TRAINING_DEFAULTS["optimiser"]["learning_rate"]
    assert training.backend.currentText() == TRAINING_DEFAULTS["backend"]

    old.training.batch_size = 7  # the project no longer shown changes nothing on screen
    assert training.batch_size.value() == builder.batch.value() == TRAINING_DEFAULTS["batch_size"]

    fresh.training.update(epochs=4, optimiser={"type": "sgd", "learning_rate": 0.05})
    assert training.epochs.value() == 4
    assert training.optimiser.currentText() == "sgd" and training.learning_rate.value() == 0.05


def test_the_running_projects_settings_are_the_route_to_the_optimiser(qtbot, window):
    """Spin box -> settings -> bridge -> registry -> the optimiser; another project's edits stay out."""
    bridge, running = window.bridge, window.project
    assert window.training.start()
    qtbot.waitUntil(lambda: bridge.state == "running", timeout=20000)
    bridge.pause()
    qtbot.waitUntil(lambda: bridge.state == "paused", timeout=10000)
    running.training.learning_rate = 0.004  # no panel involved: the settings alone are the route
    before = bridge.trainer.iteration
    bridge.step()
    qtbot.waitUntil(lambda: bridge.trainer.iteration == before + 1, timeout=10000)
    assert bridge.trainer.optimiser.learning_rate == pytest.approx(0.004)
    assert all(w.registry.resolve("optimiser.*") == [] for w in bridge.trainer.operator.workers)

    other = Project(name="other")  # shown while the first keeps training
    window.set_project(other)
    assert window.training.learning_rate.set_text("0.5")
    assert other.training.learning_rate == 0.5
    before = bridge.trainer.iteration
    bridge.step()
    qtbot.waitUntil(lambda: bridge.trainer.iteration == before + 1, timeout=10000)
    assert bridge.trainer.optimiser.learning_rate == pytest.approx(0.004)
    with qtbot.waitSignal(bridge.sigRunFinished, timeout=10000):
        bridge.stop()
