"""Time-step and criteria semantics, counted over real training runs."""

import threading

import pytest

from engine.hooks import (
    FunctionHook,
    NewExtremum,
    Not,
    Repeated,
    Threshold,
    TimeStep,
    Toggle,
    every,
    on,
    once_after,
)
from engine.operator import Worker
from tests.engine.training.nets import blobs, small_trainer

# 64 samples, batch 16: 4 iterations per epoch; 3 epochs = 12 iterations.
X, Y = blobs(n=64)
SIGNAL = [5, 4, 3, 2, 1, 2, 3, 1, 0, 4, 0, 0]  # one value per iteration


def counter(timestep=None, criterion=None, **kwargs):
    calls = []
    hook = FunctionHook(
        lambda t: calls.append(t.iteration), timestep or every(1), criterion=criterion, **kwargs
    )
    return hook, calls


def signal_source():
    """A hook that publishes SIGNAL[iteration - 1] as registry value test.signal before the others run."""
    return FunctionHook(
        lambda t: t.registry.set("test.signal", SIGNAL[t.iteration - 1]), every(1), priority=10_000
    )


def run(*hooks, epochs=3):
    trainer = small_trainer(hooks=hooks, batch_size=16)
    trainer.fit((X, Y), epochs=epochs)
    return trainer


def test_time_steps_count_their_firings():
    every3, c_every3 = counter(every(3))
    every2e, c_every2e = counter(TimeStep(2, "epoch"))
    once5, c_once5 = counter(once_after(5))
    start, c_start = counter(on("start"))
    stop, c_stop = counter(on("stop"))
    live, c_live = counter(TimeStep(1, "iteration", live_time=2))
    once_e, c_once_e = counter(TimeStep(1, "epoch", once=True))
    trainer = run(every3, every2e, once5, start, stop, live, once_e)
    assert c_every3 == [3, 6, 9, 12]
    assert c_every2e == [8]
    assert c_once5 == [5]
    assert c_start == [0] and c_stop == [12]
    assert c_live == [1, 2] and live.retired
    assert c_once_e == [4]
    # a resumed run keeps the rhythm: counters are totals, not per fit() call
    trainer.fit((X, Y), epochs=5)
    assert c_every3 == [3, 6, 9, 12, 15, 18] and c_once5 == [5] and c_start == [0, 12]


def test_pause_and_resume_hooks_fire_on_the_training_thread():
    paused, resumed = threading.Event(), threading.Event()
    threads = []
    pause_hook = FunctionHook(
        lambda t: (threads.append(threading.current_thread()), paused.set()), on("pause")
    )
    resume_hook = FunctionHook(lambda t: resumed.set(), on("resume"))
    trainer = small_trainer(hooks=[pause_hook, resume_hook], batch_size=16)
    result = []
    thread = threading.Thread(target=lambda: result.append(trainer.fit((X, Y), epochs=10_000)), daemon=True)
    thread.start()
    assert trainer.operator.wait("running", timeout=20)
    trainer.operator.pause()
    assert paused.wait(20) and pause_hook.runs == 1 and threads == [thread]
    trainer.operator.step()  # a single step does not count as resuming
    trainer.operator.resume()
    assert resumed.wait(20)
    trainer.operator.stop()
    thread.join(20)
    assert pause_hook.runs >= 1 and resume_hook.runs == 1


def test_priorities_order_hooks_on_the_same_event():
    order = []
    hooks = [
        FunctionHook(lambda t, n=n: order.append(n), every(1), priority=p, name=n)
        for n, p in (("low", -5), ("high", 50), ("mid", 0), ("mid2", 0))
    ]
    trainer = run(*hooks, epochs=1)
    assert order[:4] == ["high", "mid", "mid2", "low"]
    assert [h.name for h in trainer.hooks][:2] == ["NaNGuard", "high"]  # the guard has the top priority


@pytest.mark.parametrize(
    "criterion, expected",
    [
        (lambda: Threshold("test.signal", "<", 2.5), [4, 5, 6, 8, 9, 11, 12]),
        (lambda: Threshold("test.signal", "<", 2.5, mode="crossing"), [4, 8, 11]),
        (lambda: NewExtremum("test.signal", "min"), [1, 2, 3, 4, 5, 9]),
        (lambda: NewExtremum("test.signal", "max"), [1]),
        (lambda: NewExtremum("test.signal", "min", min_delta=1.5), [1, 3, 5]),
        (lambda: Repeated(Threshold("test.signal", "<", 2.5), 2), [5, 9, 12]),
        (lambda: Threshold("test.signal", "<", 2.5) & NewExtremum("test.signal", "min"), [4, 5, 9]),
        (
            lambda: Threshold("test.signal", ">", 3.5) | Threshold("test.signal", "==", 0),
            [1, 2, 9, 10, 11, 12],
        ),
        (lambda: ~Threshold("test.signal", "<", 2.5), [1, 2, 3, 7, 10]),
        (lambda: Not(Threshold("missing.value", ">", 0)), list(range(1, 13))),
    ],
)
def test_criteria_count_their_firings(criterion, expected):
    hook, calls = counter(every(1), criterion())
    run(signal_source(), hook)
    assert calls == expected


def test_toggle_from_the_registry_and_from_another_thread():
    setter = FunctionHook(
        lambda t: t.registry.set("hooks.enabled", 4 <= t.iteration < 8), every(1), priority=10_000
    )
    gated, calls = counter(every(1), Toggle(key="hooks.enabled"))
    one_shot = Toggle(once=True)
    button, button_calls = counter(every(1), one_shot)
    flipped = threading.Thread(target=one_shot.set)  # the GUI thread presses the button
    flipped.start()
    flipped.join()
    run(setter, gated, button)
    assert calls == [4, 5, 6, 7]
    assert button_calls == [1] and not one_shot.on


def test_local_hooks_run_on_the_worker_with_its_view():
    views = []
    local = FunctionHook(lambda w: views.append((type(w), w.value("loss"))), every(1), placement="local")
    trainer = run(local, epochs=1)
    assert len(views) == 4 and all(cls is Worker for cls, _ in views)
    assert all(isinstance(loss, float) for _, loss in views)
    assert local in trainer.hooks.placed("local")
    assert trainer.operator.local_views() == trainer.operator.workers


def test_criteria_state_survives_state_dict():
    c = Repeated(Threshold("v", "<", 1, mode="crossing") & NewExtremum("v"), 3)
    c.streak, c.criterion.parts[0]._held, c.criterion.parts[1].best = 2, True, 0.25
    d = Repeated(Threshold("v", "<", 1, mode="crossing") & NewExtremum("v"), 3)
    d.load_state_dict(c.state_dict())
    assert d.streak == 2 and d.criterion.parts[0]._held and d.criterion.parts[1].best == 0.25


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="`unit`"):
        TimeStep(1, "week")
    with pytest.raises(ValueError, match="`interval`"):
        every(0)
    with pytest.raises(ValueError, match="`op`"):
        Threshold("loss", "<<", 1)
    with pytest.raises(ValueError, match="`placement`"):
        FunctionHook(print, placement="remote")
