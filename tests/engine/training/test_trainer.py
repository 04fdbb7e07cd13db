"""The trainer: data forms, determinism, evaluation and prediction, losses, initialisers, events."""

import numpy as np
import pytest

from engine.data import Dataset, MinibatchIterator
from engine.events import EpochMetrics, RunStateChanged
from engine.init import Constant
from engine.layers import Dense, Input
from engine.network import Network
from engine.optim import SGD, Adam
from engine.training import Trainer
from tests.engine.training.nets import blobs, small_net, small_trainer

ALL_X, ALL_Y = blobs(n=136)
X, Y, VX, VY = ALL_X[:96], ALL_Y[:96], ALL_X[96:], ALL_Y[96:]


def params(trainer):
    return {k: p.data.copy() for k, p in trainer.parameters.items()}


def test_same_seed_same_data_same_settings_is_bit_identical():
    a, b, c = small_trainer(seed=5), small_trainer(seed=5), small_trainer(seed=6)
    for t in (a, b, c):
        t.fit((X, Y), epochs=3, validation=(VX, VY))
    for k, v in params(a).items():
        np.testing.assert_array_equal(v, params(b)[k])
    assert a.history == b.history
    assert any(not np.array_equal(v, params(c)[k]) for k, v in params(a).items())


def test_tuple_dataset_and_iterator_give_the_same_training():
    runs = []
    for data in (
        (X, Y),
        Dataset({"inputs": X, "targets": Y}),
        MinibatchIterator(Dataset({"inputs": X, "targets": Y}), 32, shuffle=True, seed=3),
    ):
        t = small_trainer(seed=3, batch_size=32)
        t.fit(data, epochs=2)
        runs.append((params(t), t.history))
    for p, h in runs[1:]:
        assert h == runs[0][1]
        for k in p:
            np.testing.assert_array_equal(p[k], runs[0][0][k])


def test_fit_in_parts_equals_fit_at_once():
    whole, parts = small_trainer(), small_trainer()
    whole.fit((X, Y), epochs=4)
    for epochs in (1, 3, 4):  # epochs counts in total
        parts.fit((X, Y), epochs=epochs)
    assert parts.history == whole.history and parts.iteration == whole.iteration == 12
    for k, v in params(whole).items():
        np.testing.assert_array_equal(v, params(parts)[k])


def test_it_learns_and_evaluate_and_predict_agree():
    trainer = small_trainer(dropout=0.0)
    trainer.fit((X, Y), epochs=15)
    scores = trainer.evaluate((VX, VY))
    assert scores["accuracy"] > 0.9 and scores["loss"] < 0.5
    logits = trainer.predict(VX)
    assert logits.shape == (40, 3) and logits.dtype == np.float32
    np.testing.assert_array_equal(logits, trainer.predict(VX, batch_size=7))
    assert (logits.argmax(axis=1) == VY).mean() == pytest.approx(scores["accuracy"])
    assert trainer.predict(VX[:0]).shape[0] == 0


def test_named_losses_without_a_loss_head():
    net = Network(Input((6,)) + Dense(3), seed=0)
    trainer = Trainer(net, optimiser=SGD(0.1), loss="cross_entropy", metrics=["accuracy", "top2_accuracy"])
    trainer.fit((X, Y), epochs=2)
    assert trainer.loss_name == "softmax_cross_entropy"
    assert set(trainer.history[-1]) >= {"loss", "accuracy", "top2_accuracy"}
    assert trainer.history[-1]["top2_accuracy"] >= trainer.history[-1]["accuracy"]
    regression = Trainer(
        Network(Input((6,)) + Dense(2), seed=0), optimiser=Adam(0.01), loss="mse", metrics=["mae"]
    )
    regression.fit((X, X[:, :2] * 2.0), epochs=3)
    assert regression.history[-1]["loss"] < regression.history[0]["loss"]


def test_initialisers_by_pattern():
    trainer = Trainer(small_net(), initialisers={"*.bias": Constant(0.5), "fc2.weights": Constant(-1.0)})
    assert np.all(trainer.parameters["fc1.bias"].data == 0.5) and np.all(
        trainer.parameters["fc2.weights"].data == -1
    )
    assert not np.all(trainer.parameters["fc1.weights"].data == -1)


def test_events_states_and_epochs():
    trainer = small_trainer()
    events = []
    trainer.events.subscribe(events.append, (RunStateChanged, EpochMetrics))
    trainer.fit((X, Y), epochs=2, validation=(VX, VY))
    states = [e.state for e in events if isinstance(e, RunStateChanged)]
    epochs = [e for e in events if isinstance(e, EpochMetrics)]
    assert states == ["running", "finished"]
    assert [e.epoch for e in epochs] == [1, 2] and set(epochs[0].metrics) >= {"loss", "accuracy", "val_loss"}
    assert trainer.value("val_loss") == trainer.history[-1]["val_loss"]
    assert trainer.value("optimiser.learning_rate") == 0.01 and trainer.value("nothing") is None
    assert trainer.registry.get("network.layers.fc1.weights") is trainer.parameters["fc1.weights"]
    assert trainer.registry.resolve("network.layers.*<trainable>.bias") == [
        "network.layers.fc1.bias",
        "network.layers.fc2.bias",
    ]


def test_argument_errors_name_the_argument():
    with pytest.raises(ValueError, match="`loss`"):
        Trainer(Network(Input((6,)) + Dense(3)), loss="hinge")
    with pytest.raises(ValueError, match="no loss"):
        Trainer(Network(Input((6,)) + Dense(3)))
    with pytest.raises(ValueError, match="`batch_size`"):
        small_trainer(batch_size=0)
    with pytest.raises(ValueError, match="`workers`"):
        small_trainer(workers=0)
    with pytest.raises(ValueError, match="metric"):
        small_trainer(metrics=["f2"])
    with pytest.raises(ValueError, match="different lengths"):
        small_trainer().fit((X, Y[:5]), epochs=1)
    with pytest.raises(TypeError, match="Dataset, a MinibatchIterator"):
        small_trainer().fit(X, epochs=1)


def test_frozen_layers_do_not_move():
    trainer = small_trainer(optimiser=Adam(0.01, frozen=["network.layers.fc1.*"]))
    before = params(trainer)
    trainer.fit((X, Y), epochs=2)
    after = params(trainer)
    assert all(np.array_equal(before[k], after[k]) for k in ("fc1.weights", "fc1.bias"))
    assert not np.array_equal(before["fc2.weights"], after["fc2.weights"])


def test_fit_gathers_in_memory_batches_inline_and_prefetches_mapped_files(tmp_path):
    from engine.training.data import as_iterator

    x, y = np.arange(40, dtype=np.float32).reshape(20, 2), np.arange(20) % 2
    inline = as_iterator((x, y), 8, seed=0)
    assert inline.prefetch == 0 and inline.reuse_buffers  # no thread hand-off for rows in RAM
    np.save(tmp_path / "x.npy", x)
    mapped = as_iterator(Dataset({"inputs": np.load(tmp_path / "x.npy", mmap_mode="r"), "targets": y}), 8, 0)
    assert mapped.prefetch == 2  # rows read from a file keep the background prefetch
    assert [b["targets"].tolist() for b in inline] == [b["targets"].tolist() for b in mapped]
