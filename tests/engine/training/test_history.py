"""Bounded histories: evenly downsampled records, and an exact copy through a checkpoint even after the
history has been downsampled (a resumed run keeps and drops the same records as the uninterrupted one)."""

from __future__ import annotations

import numpy as np
import pytest

from engine import checkpoint
from engine.hooks import MetricReporter, every
from engine.layers import Dense, Input, SoftmaxCrossEntropy
from engine.network import Network
from engine.training import Trainer
from engine.training.history import ITERATION_CAPACITY, BoundedHistory
from engine.training.state import TrainerStateError
from tests.engine.training.nets import blobs


def test_appending_keeps_every_stride_th_record_and_the_newest():
    history = BoundedHistory(range(21), capacity=8)
    assert history.stride == 4 and list(history) == [0, 4, 8, 12, 16, 20]
    history.append(21)
    assert list(history) == [0, 4, 8, 12, 16, 20, 21] and history.seen == 22


@pytest.mark.parametrize("appended", [0, 1, 7, 8, 9, 21, 22, 100])
def test_a_restored_history_goes_on_exactly_like_the_original(appended):
    original = BoundedHistory(range(appended), capacity=8)
    copy = BoundedHistory.restored(list(original), 8, original.layout())
    for n in range(appended, appended + 40):
        original.append(n)
        copy.append(n)
        assert list(copy) == list(original) and copy.layout() == original.layout()


def test_records_a_layout_does_not_describe_are_appended_anew():
    records = [0, 4, 8, 12]
    assert BoundedHistory.restored(records, 8, [21, 4]) == records  # the layout wants 6 records
    assert BoundedHistory.restored(records, 8, None).layout() == [4, 1]  # an older checkpoint


def _trainer():
    net = Network(
        Input((6,), name="x")
        + Dense(8, activation="relu", name="fc")
        + Dense(3, name="out")
        + SoftmaxCrossEntropy(name="loss"),
        seed=1,
    )
    return Trainer(
        net,
        optimiser={"type": "sgd", "learning_rate": 0.05},
        batch_size=1,
        seed=3,
        hooks=[MetricReporter(every(1))],
    )


def test_resume_after_the_iteration_history_was_downsampled_is_exact(tmp_path):
    data = blobs(n=64)  # 64 iterations an epoch at batch 1
    epochs = ITERATION_CAPACITY // 64 + 3  # past the first downsampling, and resumed after it
    whole = _trainer()
    whole.fit(data, epochs=epochs)
    half = _trainer()
    half.fit(data, epochs=epochs - 1)
    assert half.iteration_history.stride == 2  # the checkpoint is taken after a downsampling
    path = checkpoint.save(half, tmp_path / "half.h5")
    resumed = _trainer()
    checkpoint.restore(resumed, path)
    resumed.fit(data, epochs=epochs)
    assert list(resumed.iteration_history) == list(whole.iteration_history)
    assert resumed.iteration_history.layout() == whole.iteration_history.layout()
    for k, p in whole.network.parameters().items():
        assert np.array_equal(p.data, resumed.network.parameters()[k].data), k


def test_a_malformed_layout_is_refused_and_changes_nothing():
    trainer = _trainer()
    state = trainer.state_dict()
    state["history_layout"] = {"iteration_history": [10, 3]}  # a stride that never occurs
    with pytest.raises(TrainerStateError, match="history_layout"):
        trainer.load_state_dict(state)
