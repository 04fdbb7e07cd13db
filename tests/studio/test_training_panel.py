"""The training panel: settings go into project.training, bad values are refused at the field."""

from __future__ import annotations

import os

import pytest

from engine.backend import cuda_status
from studio.bridge import Bridge
from studio.panels.training import TrainingPanel


@pytest.fixture
def panel(qtbot, cat_project, build_run):
    bridge = Bridge(build_run=build_run)
    p = TrainingPanel(bridge)
    qtbot.addWidget(p)
    p.set_project(cat_project)
    p.show()
    yield p
    bridge.shutdown(5000)


def test_valid_settings_are_saved_into_the_project(panel, cat_project):
    assert panel.batch_size.set_text("32")
    assert panel.epochs.set_text("3")
    panel.optimiser.setCurrentText("momentum")
    assert panel.optimiser_form.fields["momentum"].set_text("0.8")
    assert panel.learning_rate.set_text("0.05")
    panel.schedule.setCurrentText("cosine")
    assert panel.schedule_form.fields["warmup_steps"].set_text("10")
    panel.early_stopping.setChecked(True)
    assert panel.es_patience.set_text("4")
    assert panel.ckpt_keep.set_text("2")
    assert panel.ckpt_floor.value() == 5.0  # the project default (the cat's file has no min_seconds)
    assert panel.ckpt_floor.set_text("2.5")
    t = cat_project.training
    assert t["batch_size"] == 32 and t["epochs"] == 3
    assert t["optimiser"] == {"type": "momentum", "learning_rate": 0.05, "momentum": 0.8, "weight_decay": 0.0}
    assert t["schedule"] == {"type": "cosine", "total_steps": 1000, "warmup_steps": 10}
    assert t["early_stopping"] == {"metric": "val_loss", "patience": 4, "min_delta": 0.0}
    assert t["checkpoint"]["keep"] == 2 and t["checkpoint"]["min_seconds"] == 2.5
    # The settings build a real optimiser and schedule in the engine.
    from engine.optim import from_spec, schedule_from_spec

    assert from_spec(t["optimiser"]).learning_rate == 0.05
    spec = dict(t["schedule"])
    spec["type"] = "cosine"
    assert schedule_from_spec(spec).warmup_steps == 10


@pytest.mark.parametrize(
    ("field", "text", "words"),
    [
        ("learning_rate", "-0.1", "greater than 0"),
        ("learning_rate", "abc", "must be a number"),
        ("batch_size", "0", "at least 1"),
        ("workers", str((os.cpu_count() or 1) + 1), f"this computer has {os.cpu_count() or 1} cores"),
        ("epochs", "2.5", "whole number"),
        ("ckpt_floor", "-1", "at least 0"),
    ],
)
def test_invalid_values_are_refused_at_the_field(panel, cat_project, field, text, words):
    before = cat_project.to_dict()
    widget = getattr(panel, field)
    assert not widget.set_text(text)
    assert words in widget.error()
    assert widget.error_label.isVisible(), "the reason must be visible under the field"
    assert cat_project.to_dict() == before, "a refused value must not reach the project"
    # Start is refused too, saying which field is wrong.
    assert not panel.start()
    assert panel.message.isVisible() and widget.label.lower() in panel.message.text()
    assert not panel.bridge.busy
    # Correcting the text clears the message.
    assert widget.set_text(widget.format(widget.value()))
    assert widget.error() == ""


def test_cuda_choice_says_why_it_is_unavailable(panel):
    available, reason = cuda_status()
    item = panel.backend.model().item(1)
    if available:
        assert item.isEnabled()
    else:
        assert not item.isEnabled()
        assert reason in panel.cuda_reason.text()


def test_run_controls_follow_the_run_and_learning_rate_goes_live(qtbot, panel, cat_project):
    bridge = panel.bridge
    assert panel.buttons["start"].isEnabled() and not panel.buttons["pause"].isEnabled()
    panel.buttons["start"].click()
    qtbot.waitUntil(lambda: bridge.state == "running", timeout=20000)
    assert not panel.buttons["start"].isEnabled() and panel.buttons["pause"].isEnabled()
    panel.buttons["pause"].click()
    qtbot.waitUntil(lambda: bridge.state == "paused", timeout=10000)
    assert panel.buttons["resume"].isEnabled() and panel.buttons["step"].isEnabled()
    # A learning rate typed into the field reaches the optimiser at the next iteration.
    assert panel.learning_rate.set_text("0.003")
    assert panel.optimiser_form.fields["beta1"].set_text("0.8")  # any optimiser hyperparameter, too
    before = bridge.trainer.iteration
    panel.buttons["step"].click()
    qtbot.waitUntil(lambda: bridge.trainer.iteration == before + 1, timeout=10000)
    assert bridge.trainer.optimiser.learning_rate == pytest.approx(0.003)
    assert bridge.trainer.optimiser.beta1 == pytest.approx(0.8)
    assert cat_project.training["optimiser"]["learning_rate"] == pytest.approx(0.003)
    panel.buttons["resume"].click()
    qtbot.waitUntil(lambda: panel.progress.value() > 0 or "iteration" in panel.eta.text(), timeout=10000)
    panel.buttons["stop"].click()
    qtbot.waitUntil(lambda: not bridge.busy, timeout=10000)
    assert panel.eta.text() == "Stopped"
    assert panel.buttons["start"].isEnabled()


def test_values_tagged_editable_appear_as_live_fields(qtbot, cat_project, build_run):
    def build_with_a_live_value(project):
        run = build_run(project)
        run.trainer.registry.set("hooks.samples.every", 4, tags=["editable"])
        return run

    bridge = Bridge(build_run=build_with_a_live_value)
    panel = TrainingPanel(bridge)
    qtbot.addWidget(panel)
    panel.set_project(cat_project)
    panel.show()
    panel.start()
    qtbot.waitUntil(lambda: "hooks.samples.every" in panel.live_fields, timeout=20000)
    assert panel.live_box.isVisible()
    field = panel.live_fields["hooks.samples.every"]
    assert not field.set_text("-1.5") and "whole number" in field.error()
    assert field.set_text("7")
    assert bridge.trainer.registry.get("hooks.samples.every") == 7
    bridge.stop()
    qtbot.waitUntil(lambda: not bridge.busy, timeout=10000)
    assert not panel.live_box.isVisible()
    bridge.shutdown()
