"""The environment (trainers, monitors, one bus, settings) and the console monitor."""

import io

import pytest

from engine.console import ConsoleMonitor, format_event
from engine.environment import Environment
from engine.events import ErrorEvent, IterationMetrics, LogMessage
from engine.hooks import MetricReporter, every
from tests.engine.training.nets import blobs, small_net, small_trainer

X, Y = blobs(n=64)


def test_environment_trainers_share_its_bus_and_settings():
    seen = []
    with Environment(settings={"seed": 9, "batch_size": 16}) as env:
        env.add_monitor(seen.append)
        a = env.create_trainer(small_net(), optimiser="adam", hooks=[MetricReporter(every(2))])
        b = env.add_trainer(small_trainer(), name="trainer1")
        assert (a.seed, a.batch_size, a.events, b.events) == (9, 16, env.events, env.events)
        assert list(env.trainers) == ["trainer1", "trainer1_2"] and b.name == "trainer1_2"
        a.fit((X, Y), epochs=1)
        b.fit((X, Y), epochs=1)
    assert {e.source for e in seen} == {"trainer1", "trainer1_2"}
    assert sum(isinstance(e, IterationMetrics) for e in seen) == 2
    assert env.monitors == [] and len(env.events) == 0  # closing detached the monitors


def test_console_monitor_prints_progress_lines():
    out = io.StringIO()
    env = Environment()
    env.add_monitor(ConsoleMonitor(out, every=2))
    trainer = env.create_trainer(
        small_net(), optimiser="adam", batch_size=16, metrics=["accuracy"], hooks=[MetricReporter(every(1))]
    )
    trainer.fit((X, Y), epochs=2, validation=(X, Y))
    lines = out.getvalue().splitlines()
    assert lines[0] == "[trainer1] running" and lines[-1] == "[trainer1] finished"
    progress = [line for line in lines if " iteration " in line and "done" not in line]
    assert len(progress) == 4 and "loss" in progress[0] and "/8" in progress[0]
    assert sum("done" in line and "val_accuracy" in line for line in lines) == 2


def test_console_formats_and_filters():
    assert format_event(ErrorEvent(source="t", message="boom in 'fc1'")) == "[t] ERROR: boom in 'fc1'"
    out = io.StringIO()
    monitor = ConsoleMonitor(out, level="warning")
    monitor(LogMessage(level="info", message="hidden"))
    monitor(LogMessage(level="warning", message="shown"))
    assert out.getvalue() == "warning: shown\n"
    with pytest.raises(ValueError, match="`level`"):
        ConsoleMonitor(level="loud")
