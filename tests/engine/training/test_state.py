"""The trainer's state contract: state_dict() copies, load_state_dict() staged and all-or-nothing.

For every stage of a restore (parameters, buffers, optimiser, counters, random generators, iterator,
and the commit itself) a state that fails there leaves the trainer bitwise what it was: the same
state, and the same training afterwards as a twin that never saw the failed restore.
"""

import json

import numpy as np
import pytest

from engine.hooks import EarlyStopping, Hook, MetricReporter, every
from engine.layers import BatchNorm, Dense, Input, SoftmaxCrossEntropy
from engine.network import Network
from engine.optim import Adam
from engine.training import Trainer
from engine.training.state import TrainerStateError
from tests.engine.training.nets import blobs

X, Y = blobs(n=64)


class Fragile(Hook):
    """A user hook that refuses any state but its own when ``refuse`` is set (the commit stage fails,
    after the parameters, optimiser and counters were already written)."""

    refuse = False

    def load_state_dict(self, state):
        if Fragile.refuse and state != self.state_dict():
            raise RuntimeError("this hook cannot take that state")
        super().load_state_dict(state)

    def run(self, trainer):
        pass


def make(seed=3):
    net = Network(
        Input((6,), name="x")
        + Dense(16, activation="relu", name="fc1")
        + BatchNorm(name="bn")
        + Dense(3, name="fc2")
        + SoftmaxCrossEntropy(name="loss"),
        seed=1,
    )
    hooks = [MetricReporter(every(2)), EarlyStopping(monitor="loss", patience=50), Fragile(every(1))]
    return Trainer(net, optimiser=Adam(0.01), batch_size=24, seed=seed, hooks=hooks, metrics=["accuracy"])


def trained(seed=3, data=(X, Y), epochs=2):
    trainer = make(seed)
    trainer.fit(data, epochs=epochs)
    return trainer


def fingerprint(trainer) -> str:
    """Every bit of the trainer's state, its grads and the fields a restore replaces, as text."""

    def encode(value):
        if isinstance(value, np.ndarray):
            return [str(value.dtype), list(value.shape), value.tobytes().hex()]
        if isinstance(value, dict):
            return {str(k): encode(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [encode(v) for v in value]
        return value

    grads = {k: None if p.grad is None else p.grad.data for k, p in trainer.network.parameters().items()}
    extra = {
        "grads": grads,
        "pending": trainer._pending_iterator_state,
        "expected": trainer._expected_fingerprint,
        "history_id": id(trainer.history),
    }
    return json.dumps(encode({**trainer.state_dict(), **extra}), sort_keys=True, default=str)


def corrupt_parameters(s):
    s["parameters"]["fc2.bias"] = np.array([0.0, np.nan, 0.0], np.float32)  # the last one: staged


def corrupt_buffers(s):
    name = sorted(s["buffers"])[-1]
    s["buffers"][name] = np.zeros(s["buffers"][name].shape[0] + 1, np.float32)


def corrupt_optimiser(s):
    s["optimiser"]["state"]["fc2.bias"]["m"] = np.zeros((4,), np.float32)


def corrupt_counters(s):
    s["epoch"] = -1


def corrupt_rng(s):
    s["rng"]["network"] = {"bit_generator": "PCG64", "state": {"state": "x", "inc": 1}}


def corrupt_iterator(s):
    s["iterator"]["position"] = "seven"


def corrupt_commit(s):
    Fragile.refuse = True


STAGES = {
    "parameters": corrupt_parameters,
    "buffers": corrupt_buffers,
    "optimiser": corrupt_optimiser,
    "counters": corrupt_counters,
    "rng": corrupt_rng,
    "iterator": corrupt_iterator,
    "commit": corrupt_commit,
}


@pytest.fixture(autouse=True)
def _fragile_off():
    Fragile.refuse = False
    yield
    Fragile.refuse = False


def test_state_dict_is_a_copy():
    trainer = trained()
    state = trainer.state_dict()
    before = state["parameters"]["fc1.weights"].copy()
    trainer.fit((X, Y), epochs=3)
    assert np.array_equal(state["parameters"]["fc1.weights"], before)
    assert not np.array_equal(trainer.network.parameters()["fc1.weights"].data, before)


def test_round_trip_resumes_exactly():
    whole = trained(epochs=4)
    half = trained(epochs=2)
    resumed = make()
    resumed.load_state_dict(half.state_dict())
    resumed.fit((X, Y), epochs=4)
    for k, p in whole.network.parameters().items():
        assert np.array_equal(p.data, resumed.network.parameters()[k].data), k
    assert list(resumed.history) == list(whole.history)


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_restore_failing_at_each_stage_leaves_the_trainer_bitwise_unchanged(stage):
    trainer, twin = trained(), trained()
    other = trained(seed=11, data=blobs(n=64, seed=5), epochs=3).state_dict()  # differs everywhere
    STAGES[stage](other)
    before = fingerprint(trainer)
    with pytest.raises(TrainerStateError) as caught:
        trainer.load_state_dict(other)
    assert caught.value.stage == stage
    assert fingerprint(trainer) == before
    Fragile.refuse = False
    trainer.fit((X, Y), epochs=3)  # and it trains on exactly as if nothing had happened
    twin.fit((X, Y), epochs=3)
    assert fingerprint(trainer).replace(str(id(trainer.history)), "") == fingerprint(twin).replace(
        str(id(twin.history)), ""
    )


def test_non_finite_hyperparameters_and_bad_values_are_refused():
    trainer = trained()
    for key, value in (("learning_rate", float("nan")), ("learning_rate", -1.0), ("beta1", 2.0)):
        state = trained(seed=4).state_dict()
        state["optimiser"][key] = value
        before = fingerprint(trainer)
        with pytest.raises(TrainerStateError, match=key):
            trainer.load_state_dict(state)
        assert fingerprint(trainer) == before


def test_loading_during_a_run_is_refused():
    import threading

    from engine.hooks import FunctionHook

    trainer = trained()
    paused = threading.Event()
    trainer.add_hook(FunctionHook(lambda t: (t.operator.pause(), paused.set()), every(1)))
    thread = threading.Thread(target=trainer.fit, args=((X, Y),), kwargs={"epochs": 50}, daemon=True)
    thread.start()
    assert paused.wait(20) and trainer.operator.wait("paused", timeout=20)
    with pytest.raises(RuntimeError, match="run is in progress"):
        trainer.load_state_dict(trainer.operator.at_boundary(trainer.state_dict))
    trainer.operator.stop()
    thread.join(20)
