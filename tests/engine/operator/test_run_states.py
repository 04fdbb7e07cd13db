"""Run-state transitions with real threads: pause, resume, step once, stop, reset, errors."""

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.events import ErrorEvent, RunStateChanged
from engine.hooks import FunctionHook, TimeStep
from engine.operator import RunControl
from tests.engine.training.nets import blobs, small_trainer

TIMEOUT = 20


class States:
    """Records run states from the event bus; waits for the n-th occurrence of a state."""

    def __init__(self, bus):
        self.seen = []
        self.cond = threading.Condition()
        bus.subscribe(self.on_event, RunStateChanged)

    def on_event(self, event):
        with self.cond:
            self.seen.append(event.state)
            self.cond.notify_all()

    def wait(self, state, count=1):
        with self.cond:
            assert self.cond.wait_for(lambda: self.seen.count(state) >= count, TIMEOUT), (state, self.seen)


def start(trainer, epochs=10_000, **kwargs):
    x, y = blobs(n=64)
    errors = []

    def target():
        try:
            trainer.fit((x, y), epochs=epochs, **kwargs)
        except Exception as exc:  # handed to the test
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, errors


def test_pause_step_resume_stop_with_real_threads():
    trainer = small_trainer(batch_size=16)
    states = States(trainer.events)
    thread, errors = start(trainer)
    states.wait("running")
    assert trainer.operator.pause()
    states.wait("paused")
    frozen = trainer.iteration
    assert trainer.operator.state == "paused"
    # step once: exactly one more iteration, then paused again
    assert trainer.operator.step()
    states.wait("paused", 2)
    assert trainer.iteration == frozen + 1
    assert trainer.operator.step(3)
    states.wait("paused", 3)
    assert trainer.iteration == frozen + 4
    assert trainer.operator.resume()
    states.wait("running", 4)
    assert trainer.operator.stop()
    thread.join(TIMEOUT)
    assert not thread.is_alive() and not errors
    assert trainer.operator.state == "stopped"
    assert states.seen[-2:] == ["stopping", "stopped"]


def test_pause_then_stop_and_final_hooks_run():
    stops = []
    trainer = small_trainer(hooks=[FunctionHook(lambda t: stops.append(t.iteration), TimeStep(unit="stop"))])
    states = States(trainer.events)
    thread, errors = start(trainer)
    states.wait("running")
    trainer.operator.pause()
    states.wait("paused")
    assert trainer.operator.stop()
    thread.join(TIMEOUT)
    assert not thread.is_alive() and not errors
    assert trainer.operator.state == "stopped" and stops == [trainer.iteration]
    # commands that do not apply are refused, not queued
    assert not trainer.operator.pause() and not trainer.operator.resume() and not trainer.operator.step()


def test_stop_mid_epoch_keeps_position_and_fit_continues():
    trainer = small_trainer(batch_size=16)  # 64 samples: 4 iterations per epoch
    trainer.add_hook(FunctionHook(lambda t: t.operator.stop("test"), TimeStep(6, once=True)))
    x, y = blobs(n=64)
    trainer.fit((x, y), epochs=3)
    assert trainer.operator.state == "stopped"
    assert (trainer.iteration, trainer.epoch, trainer.iterator.position) == (6, 1, 2)
    trainer.fit((x, y), epochs=3)
    assert trainer.operator.state == "finished"
    assert (trainer.iteration, trainer.epoch) == (12, 3)


def test_reset_during_a_run_and_when_idle():
    trainer = small_trainer()
    initial = {k: p.data.copy() for k, p in trainer.parameters.items()}
    states = States(trainer.events)
    thread, errors = start(trainer)
    states.wait("running")
    assert trainer.operator.reset() is False  # deferred: stops first
    thread.join(TIMEOUT)
    assert not errors and trainer.operator.state == "idle"
    assert trainer.iteration == 0 and trainer.epoch == 0 and trainer.history == []
    for k, p in trainer.parameters.items():
        np.testing.assert_array_equal(p.data, initial[k])
    x, y = blobs(n=64)
    trainer.fit((x, y), epochs=1)
    assert trainer.operator.state == "finished"
    assert trainer.operator.reset() is True and trainer.operator.state == "idle" and trainer.iteration == 0


def test_registry_value_reaches_the_optimiser_at_the_next_boundary():
    seen = []
    trainer = small_trainer(batch_size=16)

    def change_then_look(t):
        if t.iteration == 2:
            t.registry.set("optimiser.learning_rate", 0.5)
            seen.append(("set", t.optimiser.learning_rate))  # not yet: mid-iteration
        elif t.iteration == 3:
            seen.append(("next", t.optimiser.learning_rate))

    trainer.add_hook(FunctionHook(change_then_look))
    x, y = blobs(n=64)
    trainer.fit((x, y), epochs=1)
    assert seen == [("set", 0.01), ("next", 0.5)]
    # The one optimiser took it; the worker computes gradients and holds no optimiser settings.
    assert trainer.optimiser.learning_rate == 0.5
    assert trainer.operator.workers[0].registry.resolve("optimiser.*") == []


def test_registry_set_from_another_thread_while_paused():
    trainer = small_trainer(batch_size=16)
    states = States(trainer.events)
    thread, errors = start(trainer)
    states.wait("running")
    trainer.operator.pause()
    states.wait("paused")
    trainer.registry.set("optimiser.learning_rate", 0.123)
    trainer.operator.step()
    states.wait("paused", 2)
    assert trainer.optimiser.learning_rate == 0.123
    trainer.operator.stop()
    thread.join(TIMEOUT)
    assert not errors


def test_engine_error_becomes_error_event_and_state():
    trainer = small_trainer()
    errors = []
    trainer.events.subscribe(errors.append, ErrorEvent)
    x, y = blobs(n=64)
    bad_x = x[:, :5]  # the network expects 6 features
    with pytest.raises(Exception) as caught:
        trainer.fit((bad_x, y), epochs=1)
    assert trainer.operator.state == "error"
    assert len(errors) == 1 and "(32, 5)" in errors[0].message and "iteration 1" in errors[0].message
    assert errors[0].kind == type(caught.value).__name__
    trainer.fit((bad_x, y), epochs=1, raise_errors=False)  # the GUI's way: no exception, state says it
    assert trainer.operator.state == "error" and len(errors) == 2


def test_starting_twice_is_refused():
    control = RunControl()
    control.begin()
    with pytest.raises(RuntimeError, match="already running"):
        control.begin()


COMMANDS = st.lists(st.sampled_from(["pause", "resume", "step", "stop", "reset", "none"]), max_size=12)


@settings(max_examples=1000, deadline=None)
@given(COMMANDS)
def test_random_command_sequences_never_deadlock(commands):
    """A loop driven by RunControl on a real thread, commands from this thread: it always ends."""
    changes = []
    control = RunControl(on_change=lambda state, previous: changes.append((previous, state)))
    done = threading.Event()
    iterations = []

    def loop():
        control.begin()
        for i in range(50):
            if not control.boundary():
                break
            iterations.append(i)
        control.finish("finished")
        done.set()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    for command in commands:
        if command != "none":
            getattr(control, command)()
    control.stop()  # whatever happened, a stop must end the run
    control.resume()
    assert done.wait(TIMEOUT), f"deadlock after {commands}"
    thread.join(TIMEOUT)
    assert control.state in ("stopped", "finished", "idle")
    assert not control.active
    # listeners hear every transition once, in order: each starts where the previous one ended
    assert changes[0] == ("idle", "running") and changes[-1][1] == control.state
    assert all(a[1] == b[0] for a, b in zip(changes, changes[1:])), changes


def test_keyboard_interrupt_ends_as_a_clean_stop():
    stops = []

    def interrupt(t):
        raise KeyboardInterrupt

    trainer = small_trainer(
        hooks=[
            FunctionHook(interrupt, TimeStep(2, once=True)),
            FunctionHook(lambda t: stops.append(t.iteration), TimeStep(unit="stop")),
        ]
    )
    x, y = blobs(n=64)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit((x, y), epochs=3)
    assert trainer.operator.state == "stopped" and stops == [2]
