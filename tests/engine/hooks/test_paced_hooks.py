"""Hooks whose consumers show only the newest report run at most once per ``min_interval_s``; the newest
held-back report is made when the run pauses or ends. And which events the hook list calls hooks on."""

import time

import numpy as np
import pytest

from engine.events import LayerHealthReport, ParameterHistograms, ResourceUsage, SamplePredictions
from engine.hooks import (
    HistogramReporter,
    Hook,
    LayerHealth,
    PacedHook,
    ResourceReporter,
    SamplePredictionStreamer,
    TimeStep,
    every,
)
from tests.engine.training.nets import blobs, small_trainer

X, Y = blobs(n=64)  # two batches of 32 an epoch


def fit(hook, epochs=3, **kwargs):
    events = []
    trainer = small_trainer(hooks=[hook], batch_size=32, **kwargs)
    kinds = (ParameterHistograms, ResourceUsage, LayerHealthReport, SamplePredictions)
    trainer.events.subscribe(events.append, kinds)
    trainer.fit((X, Y), epochs=epochs)
    return trainer, events


def test_histograms_held_back_by_the_interval_are_sent_when_the_run_ends():
    trainer, sent = fit(HistogramReporter(min_interval_s=3600.0), epochs=3)
    # the first epoch's, then epochs 2 and 3 come within the hour: the newest is made at the end
    assert [(e.epoch, e.iteration) for e in sent] == [(1, 2), (3, 6)]
    last = sent[-1]
    for name, p in trainer.network.parameters().items():
        counts, edges = last.weights[name]
        assert counts.sum() == p.data.size  # of the weights as the run left them
        assert edges[0] == float(p.data.min()) and edges[-1] == pytest.approx(float(p.data.max()))


def test_histograms_without_an_interval_or_with_a_short_one_come_every_epoch():
    for interval in (None, 0.0):
        _, sent = fit(HistogramReporter(min_interval_s=interval), epochs=3)
        assert [e.epoch for e in sent] == [1, 2, 3]  # none held back: nothing more at the end


def test_a_held_back_report_is_made_when_the_run_pauses():
    hook = HistogramReporter(min_interval_s=3600.0)
    trainer, sent = fit(hook, epochs=1)
    assert [e.epoch for e in sent] == [1]
    trainer.hooks.fire("epoch", trainer)  # due again within the hour: held back
    assert len(sent) == 1 and hook.runs == 1
    trainer.hooks.fire("pause", trainer)
    trainer.hooks.fire("stop", trainer)  # already sent at the pause
    assert len(sent) == 2 and hook.runs == 2


def test_resource_reports_at_most_once_per_interval():
    _, sent = fit(ResourceReporter(every(1), min_interval_s=3600.0), epochs=2)
    assert len(sent) == 2  # the first iteration's and, at the end, the newest held back
    _, sent = fit(ResourceReporter(every(1)), epochs=2)
    assert len(sent) == 4


def test_sample_predictions_of_a_classifier_are_paced_and_an_image_on_epochs_is_not():
    hook = SamplePredictionStreamer(X[:4], Y[:4], classes=("a", "b", "c"), min_interval_s=3600.0)
    trainer, sent = fit(hook, epochs=3)
    assert [e.epoch for e in sent] == [1, 3]
    np.testing.assert_allclose(sent[-1].predictions.sum(axis=1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="PSNR"):
        SamplePredictionStreamer(X[:4], X[:4], kind="image", image_shape=(2, 2, 6), min_interval_s=1.0)
    SamplePredictionStreamer(X[:4], X[:4], kind="image", image_shape=(2, 2, 6), timestep=every(5))


def test_invalid_interval_is_named():
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="min_interval_s"):
            HistogramReporter(min_interval_s=bad)
        with pytest.raises(ValueError, match="min_interval_s"):
            LayerHealth(min_interval_s=bad)


def test_layer_health_interval_leaves_out_measurements_and_copies_no_weights_for_them():
    hook = LayerHealth(TimeStep(2), min_interval_s=3600.0, log=False)
    trainer, reports = fit(hook, epochs=3)  # 6 iterations: due at 2, 4, 6
    # iteration 2 is measured (with the weights copied at iteration 1), 4 and 6 are left out, and the
    # run's end is measured as always
    assert [r.iteration for r in reports] == [2, 6]
    assert hook._before_iteration == 1
    assert "update_ratio" in reports[0].layers["fc1"]
    hook = LayerHealth(TimeStep(2), min_interval_s=0.0, log=False)
    _, reports = fit(hook, epochs=3)
    assert [r.iteration for r in reports] == [2, 4, 6]


def test_the_hook_list_calls_a_hook_on_its_events_and_an_overriding_one_on_all():
    heard = []

    class Plain(Hook):
        def run(self, trainer):
            heard.append(("plain", trainer.iteration))

    class Listener(Hook):  # overrides maybe_run: hears every event, as before
        def maybe_run(self, event, trainer):
            heard.append(("listener", event))
            return False

    class Paced(PacedHook):
        def run(self, trainer):
            heard.append(("paced", trainer.epoch))

    trainer = small_trainer(
        hooks=[Plain(TimeStep(1, "epoch")), Listener(), Paced(TimeStep(1, "epoch"), min_interval_s=3600.0)],
        batch_size=32,
    )
    trainer.fit((X, Y), epochs=2)
    assert [h for h in heard if h[0] == "plain"] == [("plain", 2), ("plain", 4)]
    epoch = ["iteration", "iteration", "epoch"]
    assert [h[1] for h in heard if h[0] == "listener"] == ["start", *epoch, *epoch, "stop"]
    assert [h for h in heard if h[0] == "paced"] == [("paced", 1), ("paced", 2)]  # epoch 2 at the stop
    assert Plain.also_hears == () and Listener.also_hears is None and Paced.also_hears == ("pause", "stop")


def test_histogram_counts_stay_exact():
    hook = HistogramReporter(bins=30)
    v = np.linspace(-1, 1, 3001, dtype=np.float32)
    counts, edges = hook._histogram(v)
    np.testing.assert_array_equal(counts, np.histogram(v, edges)[0])


def test_time_a_benchmark_holds_the_run_is_left_out_of_the_floors():
    """bench's gate holds one long run between timed blocks; the floors must count training time only."""
    from engine.hooks.timestep import floor_clock, hold_floor_clock

    started, on_floor_clock = time.monotonic(), floor_clock()
    hold_floor_clock(30.0)  # the run was held that long, not training
    try:
        passed = time.monotonic() - started
        assert floor_clock() - on_floor_clock == pytest.approx(passed - 30.0, abs=0.5)
    finally:
        hold_floor_clock(-30.0)


def test_the_hook_list_reroutes_when_hooks_or_time_steps_change():
    """Events are routed from a table made per (event, placement): it must follow every change."""
    heard = []

    class Note(Hook):
        def run(self, trainer):
            heard.append((self.name, trainer.iteration, trainer.epoch))

    trainer = small_trainer(batch_size=32)  # 64 records: 2 iterations an epoch
    late = Note(TimeStep(1, "epoch"), name="late")

    class Adder(Hook):  # adds a hook while an event is being fired: it hears the next event on
        def run(self, trainer):
            if late not in trainer.hooks:
                trainer.add_hook(late)

    switched = trainer.add_hook(Note(TimeStep(1, "epoch"), name="switched"))
    trainer.add_hook(Adder(TimeStep(1, "iteration", once=True)))
    trainer.fit((X, Y), epochs=1)
    assert heard == [("switched", 2, 1), ("late", 2, 1)]
    heard.clear()
    switched.timestep = TimeStep(1, "iteration")  # replaced after joining: heard on iterations now
    trainer.hooks.remove(late)
    trainer.fit((X, Y), epochs=2)
    assert heard == [("switched", 3, 1), ("switched", 4, 1)]
    heard.clear()
    switched.placement = "local"  # changed in place: heard again after reroute, on the workers
    trainer.hooks.reroute()
    trainer.fit((X, Y), epochs=3)
    assert [h[1] for h in heard] == [5, 6]
    assert switched in trainer.hooks.hearing("iteration", "local")
    assert switched not in trainer.hooks.hearing("iteration", "global")
