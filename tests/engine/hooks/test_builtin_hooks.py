"""Built-in hooks: early stopping, checkpoint saver, scheduler, reporters, guards, streamers, validation."""

import os

import numpy as np
import pytest

from engine import checkpoint
from engine.events import (
    CheckpointSaved,
    ConfusionMatrix,
    ErrorEvent,
    IterationMetrics,
    LogMessage,
    ResourceUsage,
    SamplePredictions,
)
from engine.hooks import (
    CheckpointSaver,
    EarlyStopping,
    FunctionHook,
    LearningRateScheduler,
    MetricReporter,
    ResourceReporter,
    RuntimeReporter,
    SamplePredictionStreamer,
    TimeStep,
    ValidationMetrics,
    ValueModifier,
    every,
)
from engine.layers import Dense, Input, SquaredError
from engine.network import Network
from engine.optim import SGD, StepDecay
from engine.training import Trainer
from tests.engine.training.nets import blobs, small_trainer

X, Y = blobs(n=64)
VX, VY = blobs(n=48, seed=5)


def snapshots():
    """A hook recording the parameters after each epoch (runs before early stopping acts)."""
    taken = {}
    hook = FunctionHook(
        lambda t: taken.__setitem__(t.epoch, {k: p.data.copy() for k, p in t.parameters.items()}),
        TimeStep(1, "epoch"),
        priority=60,
    )
    return hook, taken


def epoch_signal(values):
    return FunctionHook(
        lambda t: t.registry.set("test.score", values[t.epoch - 1]), TimeStep(1, "epoch"), priority=10_000
    )


def test_early_stopping_restores_the_best_weights():
    snap, taken = snapshots()
    stopper = EarlyStopping(monitor="test.score", mode="min", patience=2)
    trainer = small_trainer(
        hooks=[epoch_signal([3.0, 1.0, 2.0, 0.5, 0.7, 0.6, 0.9, 0.1]), snap, stopper], batch_size=16
    )
    trainer.fit((X, Y), epochs=8)
    assert trainer.operator.state == "stopped" and trainer.epoch == 6
    assert (stopper.best_epoch, stopper.stopped_epoch) == (4, 6)
    for k, p in trainer.parameters.items():
        np.testing.assert_array_equal(p.data, taken[4][k])


def test_early_stopping_on_real_validation_loss():
    snap, taken = snapshots()
    stopper = EarlyStopping(monitor="val_loss", patience=1, min_delta=0.0)
    noisy = (VX, np.random.default_rng(9).permutation(VY))  # labels that cannot be learnt: val_loss rises
    trainer = small_trainer(hooks=[snap, stopper], batch_size=8, optimiser=SGD(0.3))
    trainer.fit((X, Y), epochs=30, validation=noisy)
    best = min(range(len(trainer.history)), key=lambda i: trainer.history[i]["val_loss"]) + 1
    assert stopper.best_epoch == best and trainer.epoch < 30
    for k, p in trainer.parameters.items():
        np.testing.assert_array_equal(p.data, taken[best][k])


def test_missing_monitored_value_is_a_clear_error():
    trainer = small_trainer(hooks=[EarlyStopping(monitor="val_loss")])
    with pytest.raises(ValueError, match="val_loss.*validation="):
        trainer.fit((X, Y), epochs=1)


def test_best_only_saving_keeps_the_best_epoch(tmp_path):
    snap, taken = snapshots()
    saver = CheckpointSaver(tmp_path, best_only=True, monitor="val_loss")
    saved = []
    trainer = small_trainer(hooks=[snap, saver], batch_size=8, optimiser=SGD(0.3))
    trainer.events.subscribe(saved.append, CheckpointSaved)
    noisy = (VX, np.random.default_rng(9).permutation(VY))
    trainer.fit((X, Y), epochs=6, validation=noisy)
    losses = [r["val_loss"] for r in trainer.history]
    best = int(np.argmin(losses)) + 1
    summary = checkpoint.info(tmp_path / "best.h5")
    assert summary["epoch"] == best and summary["last_metrics"]["val_loss"] == min(losses)
    assert os.listdir(tmp_path) == ["best.h5"]
    improvements = [i + 1 for i in range(len(losses)) if losses[i] == min(losses[: i + 1])]
    assert [e.epoch for e in saved] == improvements
    fresh = small_trainer(batch_size=8, optimiser=SGD(0.3), hooks=[CheckpointSaver(tmp_path, best_only=True)])
    checkpoint.restore(fresh, tmp_path / "best.h5")
    for k, p in fresh.parameters.items():
        np.testing.assert_array_equal(p.data, taken[best][k])


def test_periodic_saving_keeps_the_last_k(tmp_path):
    saver = CheckpointSaver(tmp_path, TimeStep(2, "iteration"), keep_last=2)
    trainer = small_trainer(hooks=[saver], batch_size=16)
    trainer.fit((X, Y), epochs=2)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint-e0001-i00000006.h5", "checkpoint-e0001-i00000008.h5"]
    assert [checkpoint.info(tmp_path / f)["iteration"] for f in sorted(os.listdir(tmp_path))] == [6, 8]


def test_learning_rate_schedule_is_applied_per_iteration_and_per_epoch():
    used = []
    record = FunctionHook(lambda t: used.append(t.optimiser.learning_rate), every(1), priority=-1000)
    sched = LearningRateScheduler(StepDecay(step_size=3, gamma=0.5), unit="iteration")
    trainer = small_trainer(hooks=[sched, record], batch_size=16, optimiser=SGD(0.8))
    trainer.fit((X, Y), epochs=2)
    assert used == [0.8 * 0.5 ** (i // 3) for i in range(8)]

    used.clear()
    per_epoch = LearningRateScheduler({"type": "exponential", "gamma": 0.1, "initial": 1.0}, unit="epoch")
    trainer = small_trainer(hooks=[per_epoch, record], batch_size=16, optimiser=SGD(0.8))
    trainer.fit((X, Y), epochs=3)
    assert used == pytest.approx([1.0] * 4 + [0.1] * 4 + [0.01] * 4)


def test_reduce_on_plateau_hook():
    sched = LearningRateScheduler(
        {"type": "reduce_on_plateau", "factor": 0.5, "patience": 0}, monitor="test.score"
    )
    trainer = small_trainer(
        hooks=[epoch_signal([1.0, 2.0, 0.5, 0.6]), sched], batch_size=16, optimiser=SGD(0.4)
    )
    trainer.fit((X, Y), epochs=4)
    trainer.operator.sync()
    assert trainer.optimiser.learning_rate == pytest.approx(0.1)


def test_metric_reporter_averages_per_sample_and_records():
    losses = []
    local = FunctionHook(lambda w: losses.append((w.value("loss"), w.last.size)), every(1), placement="local")
    reports = []
    trainer = small_trainer(hooks=[local, MetricReporter(every(3))], batch_size=24)  # 64 = 24 + 24 + 16
    trainer.events.subscribe(reports.append, IterationMetrics)
    trainer.fit((X, Y), epochs=2)
    assert [r.iteration for r in reports] == [3, 6]
    values = np.array([v for v, _ in losses])
    sizes = np.array([s for _, s in losses])
    expected = (values[3:6] * sizes[3:6]).sum() / sizes[3:6].sum()
    assert reports[1].metrics["loss"] == pytest.approx(expected, rel=1e-6)
    assert reports[1].metrics["learning_rate"] == 0.01 and reports[1].total_iterations == 6
    assert 0.0 <= reports[1].metrics["accuracy"] <= 1.0
    assert trainer.iteration_history[1][0] == 6
    assert trainer.history[0]["loss"] == pytest.approx((values[:3] * sizes[:3]).sum() / 64, rel=1e-6)


def test_nan_guard_names_the_first_non_finite_tensor_and_keeps_parameters_clean():
    errors = []
    poison = FunctionHook(
        lambda t: t.parameters["fc2.bias"].data.__setitem__(0, np.nan), TimeStep(3, once=True)
    )
    trainer = small_trainer(hooks=[poison], batch_size=16)
    trainer.events.subscribe(errors.append, ErrorEvent)
    with pytest.raises(FloatingPointError, match="gradient of fc1.weights"):
        trainer.fit((X, Y), epochs=2)
    assert trainer.operator.state == "error" and trainer.iteration == 3
    assert "iteration 4" in errors[0].message and "fc1.weights" in errors[0].message
    assert np.isfinite(trainer.parameters["fc1.weights"].data).all()


def test_value_modifier_clips_parameters():
    trainer = small_trainer(hooks=[ValueModifier("*.weights", clip=(-0.05, 0.05))], batch_size=16)
    trainer.fit((X, Y), epochs=1)
    assert all(np.abs(p.data).max() <= 0.05 for k, p in trainer.parameters.items() if k.endswith("weights"))
    with pytest.raises(ValueError, match="matches no parameter"):
        small_trainer(hooks=[ValueModifier("conv*.weights", scale=0.5)]).fit((X, Y), epochs=1)


def test_validation_metrics_confusion_matrix_and_top_k():
    matrices = []
    trainer = small_trainer(hooks=[ValidationMetrics((VX, VY), top_k=(1, 2), classes=["a", "b", "c"])])
    trainer.events.subscribe(matrices.append, ConfusionMatrix)
    trainer.fit((X, Y), epochs=2, validation=(VX, VY))
    record = trainer.history[-1]
    assert record["val_top1_accuracy"] == pytest.approx(record["val_accuracy"])
    assert record["val_top2_accuracy"] >= record["val_top1_accuracy"]
    assert (
        len(matrices) == 2
        and matrices[-1].matrix.sum() == len(VY)
        and matrices[-1].classes == ("a", "b", "c")
    )
    assert np.trace(matrices[-1].matrix) / len(VY) == pytest.approx(record["val_accuracy"])
    assert 0.0 <= record["val_macro_f1"] <= 1.0


def test_sample_predictions_for_classification_and_for_an_image():
    events = []
    trainer = small_trainer(hooks=[SamplePredictionStreamer(VX[:5], VY[:5], classes=["a", "b", "c"])])
    trainer.events.subscribe(events.append, SamplePredictions)
    trainer.fit((X, Y), epochs=1)
    (e,) = events
    assert e.kind == "classification" and e.predictions.shape == (5, 3)
    np.testing.assert_allclose(e.predictions.sum(axis=1), 1.0, rtol=1e-5)

    # the cat painter: colours from coordinates, the whole image predicted each time
    h, w = 4, 5
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    coords = np.stack([yy.ravel(), xx.ravel()], axis=1).astype(np.float32)
    colours = np.random.default_rng(0).random((h * w, 3)).astype(np.float32)
    net = Network(Input((2,)) + Dense(8, activation="tanh") + Dense(3) + SquaredError(), seed=0)
    painter = Trainer(
        net,
        optimiser="adam",
        batch_size=8,
        hooks=[SamplePredictionStreamer(coords, colours, kind="image", image_shape=(h, w, 3))],
    )
    painter.events.subscribe(events.append, SamplePredictions)
    painter.fit((coords, colours), epochs=1)
    image = events[-1]
    assert image.kind == "image" and image.predictions.shape == (h, w, 3) and image.targets.shape == (h, w, 3)
    assert image.predictions.min() >= 0 and image.predictions.max() <= 1 and image.error >= 0
    with pytest.raises(ValueError, match="image_shape"):
        SamplePredictionStreamer(coords, kind="image")


def test_resource_and_runtime_reporters():
    events = []
    trainer = small_trainer(hooks=[ResourceReporter(every(2)), RuntimeReporter()], batch_size=16)
    trainer.events.subscribe(events.append, (ResourceUsage, LogMessage))
    trainer.fit((X, Y), epochs=2)
    usage = [e for e in events if isinstance(e, ResourceUsage)]
    logs = [e for e in events if isinstance(e, LogMessage)]
    assert len(usage) == 4 and usage[0].memory_bytes > 0 and usage[0].gpu_memory_bytes is None
    assert len(logs) == 2 and "samples/s" in logs[0].message


def test_metric_reporter_rate_limit_keeps_averaging_over_skipped_iterations():
    reports = []
    trainer = small_trainer(hooks=[MetricReporter(every(1), min_interval_s=3600.0)], batch_size=16)
    trainer.events.subscribe(reports.append, IterationMetrics)
    trainer.fit((X, Y), epochs=2)
    assert [r.iteration for r in reports] == [1]  # the first report, then nothing for an hour
    assert trainer.iteration_history == []  # timing-dependent reports are not recorded by default
    unlimited = MetricReporter(every(1), min_interval_s=0.0, record=True)
    trainer = small_trainer(hooks=[unlimited], batch_size=16)
    trainer.fit((X, Y), epochs=1)
    assert len(trainer.iteration_history) == 4


def test_histograms_count_exactly_and_leave_out_non_finite_values():
    from engine.hooks import HistogramReporter

    hook = HistogramReporter(bins=30)
    rng = np.random.default_rng(3)
    # float32 values, some on the bin edges, binned in their own dtype (no float64 copy): the counts are
    # exact for the edges handed out, which are the float64 edges to float32 precision
    values = [
        rng.standard_normal(5000).astype(np.float32),
        (rng.integers(0, 31, 999) / 30).astype(np.float32),
    ]
    for v in values:
        counts, edges = hook._histogram(v.reshape(-1, 1))
        assert counts.dtype == np.int64 and edges.dtype == np.float64
        np.testing.assert_array_equal(counts, np.histogram(v.astype(np.float64), edges)[0])
        span = (float(v.min()), float(v.max()))
        np.testing.assert_allclose(edges, np.histogram_bin_edges(v.astype(np.float64), 30, span), rtol=1e-6)
    with_bad = np.array([1.0, np.nan, 2.0, np.inf, 3.0, -np.inf], np.float32)
    counts, edges = hook._histogram(with_bad)
    assert counts.sum() == 3 and edges[0] == 1.0 and edges[-1] == 3.0
    counts, edges = hook._histogram(np.full(4, np.nan, np.float32))  # nothing finite: one bin of zero
    assert counts.sum() == 1 and edges[0] == -0.5
    counts, _ = hook._histogram(np.arange(5, dtype=np.int64))  # integers too
    assert counts.sum() == 5
