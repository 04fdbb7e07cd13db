"""The typed training settings: one set of defaults everywhere, checks naming the field, change events."""

from __future__ import annotations

import copy
import gc
import inspect
import json
import math

import pytest

from engine import checkpoint, templates
from engine.project import Project, ProjectError
from engine.run import build_run, load_project_data
from engine.settings import TRAINING_DEFAULTS, TrainingSettings
from engine.training import Trainer
from tests.engine.test_cli import sigma

#: A small network for the digits (64 pixels, 16 hidden units, 10 classes).
_NETWORK = templates.mlp(64, hidden=(16,), classes=10)


def _old_project_file(path, training: dict) -> None:
    """A project file as an older studio wrote it: only some training keys, and one we do not know."""
    doc = {
        "format": "sigma.project/1",
        "name": "old",
        "task": "classification",
        "dataset": {"source": "sample:digits"},
        "network": _NETWORK,
        "training": training,
    }
    path.write_text(json.dumps(doc), encoding="utf-8")


def test_one_default_for_each_setting_project_trainer_and_build_run_agree(tmp_path):
    fresh = Project()
    assert dict(fresh.training) == copy.deepcopy(TRAINING_DEFAULTS)
    keywords = inspect.signature(Trainer).parameters
    for name in ("batch_size", "seed", "backend", "workers"):
        assert keywords[name].default == TRAINING_DEFAULTS[name], name
    assert keywords["optimiser"].default == TRAINING_DEFAULTS["optimiser"]["type"]

    path = tmp_path / "old.sigma"
    _old_project_file(path, {"epochs": 1})  # nothing else chosen: every other setting is the default
    run = build_run(Project.load(path), record=False)
    trainer = run.trainer
    assert trainer.batch_size == TRAINING_DEFAULTS["batch_size"] == 64
    assert trainer.seed == TRAINING_DEFAULTS["seed"] and trainer.workers == TRAINING_DEFAULTS["workers"]
    assert trainer.backend.name == TRAINING_DEFAULTS["backend"]
    assert type(trainer.optimiser).__name__.lower() == TRAINING_DEFAULTS["optimiser"]["type"]
    assert trainer.optimiser.learning_rate == TRAINING_DEFAULTS["optimiser"]["learning_rate"]
    assert [m.name for m in trainer.metrics] == TRAINING_DEFAULTS["metrics"]


def test_the_cli_trains_an_old_project_with_the_same_defaults(tmp_path):
    path = tmp_path / "old.sigma"
    _old_project_file(path, {"epochs": 1, "checkpoint": {"every_epochs": 1}})
    done = sigma("train", path, "--checkpoint-dir", tmp_path / "ckpt", "--no-record")
    assert done.returncode == 0, done.stderr
    records = len(load_project_data(Project.load(path)))
    steps = checkpoint.info(tmp_path / "ckpt" / "last.h5")["iteration"]
    assert steps == math.ceil(records / TRAINING_DEFAULTS["batch_size"])  # batches of 64, not 32


def test_old_files_load_and_keep_keys_this_version_does_not_know(tmp_path):
    path = tmp_path / "old.sigma"
    _old_project_file(path, {"batch_size": 16, "future_setting": {"x": 1}})
    project = Project.load(path)
    assert project.training.batch_size == 16 and project.training.epochs == TRAINING_DEFAULTS["epochs"]
    project.save()
    again = json.loads(path.read_text(encoding="utf-8"))["training"]
    assert again["future_setting"] == {"x": 1} and again["batch_size"] == 16
    assert isinstance(project.training, TrainingSettings)


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("batch_size", 0, "training.batch_size"),
        ("workers", "two", "training.workers"),
        ("epochs", -1, "training.epochs"),
        ("metrics", "accuracy", "training.metrics"),
        ("optimiser", {"type": "adam", "learning_rate": [0.1]}, "training.optimiser.learning_rate"),
        ("checkpoint", {"keep": -3}, "training.checkpoint.keep"),
    ],
)
def test_a_bad_value_is_refused_naming_the_field_and_nothing_changes(key, value, field):
    settings = TrainingSettings()
    heard = []
    settings.subscribe(lambda k, v: heard.append(k))
    before = settings.to_dict()
    with pytest.raises(ProjectError) as caught:
        settings[key] = value
    assert caught.value.field == field and field in str(caught.value)
    assert settings.to_dict() == before and heard == []


def test_several_changes_are_checked_together_and_typos_are_errors():
    settings = TrainingSettings()
    with pytest.raises(ProjectError, match="training.workers"):
        settings.update(epochs=3, workers=0)
    assert settings.epochs == TRAINING_DEFAULTS["epochs"]  # not half-applied
    with pytest.raises(AttributeError, match="batchsize"):
        settings.batchsize = 8
    with pytest.raises(ProjectError, match="training.batch_size"):
        TrainingSettings({"batch_size": 2.5}, "p.sigma")
    with pytest.raises(ProjectError, match="p.sigma: training.epochs"):
        Project.from_dict({"format": "sigma.project/1", "training": {"epochs": "ten"}}, "p.sigma")


def test_observers_hear_each_change_once_and_closed_ones_are_dropped():
    settings = TrainingSettings()
    heard = []

    class Panel:
        def changed(self, key, value):
            heard.append((key, value))

    panel = Panel()
    settings.subscribe(panel.changed)
    settings.batch_size = 128
    settings["batch_size"] = 128  # the same value: no event (two views echoing each other stop here)
    settings.learning_rate = 0.01
    assert heard == [("batch_size", 128), ("optimiser", {"type": "adam", "learning_rate": 0.01})]
    assert settings.learning_rate == 0.01 and settings.optimiser["learning_rate"] == 0.01

    twin = copy.deepcopy(settings)  # a copy (a sweep trial, the batch finder) has no observers
    twin.batch_size = 8
    assert settings.batch_size == 128 and len(heard) == 2

    del panel
    gc.collect()
    settings.batch_size = 32
    assert len(heard) == 2  # the panel is gone; nothing holds it alive or calls it

    other = Panel()
    settings.subscribe(other.changed)
    settings.unsubscribe(other.changed)
    settings.epochs = 2
    assert len(heard) == 2
    del settings["epochs"]  # back to the default
    assert settings.epochs == TRAINING_DEFAULTS["epochs"]
