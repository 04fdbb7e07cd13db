"""Thread-pool data-parallel workers: the same update as one worker, run control, no leaked threads."""

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.events import RunStateChanged
from engine.hooks import FunctionHook, TimeStep
from engine.layers import BatchNorm, Conv2D, Dense, Dropout, Flatten, Input, MaxPool2D, SoftmaxCrossEntropy
from engine.network import Network
from engine.operator import Operator, ThreadPoolOperator, make_operator
from engine.operator.sharding import shard_bounds
from engine.training import Trainer

TIMEOUT = 20
MOMENTUM = {"type": "momentum", "learning_rate": 0.1, "momentum": 0.9}


def mlp():
    return Network(
        Input((10,))
        + Dense(24, activation="relu")
        + Dropout(0.3)
        + Dense(12, activation="tanh")
        + BatchNorm()
        + Dense(4)
        + SoftmaxCrossEntropy(),
        seed=1,
    )


def cnn():
    return Network(
        Input((2, 8, 8))
        + Conv2D(4, 3, padding="same", activation="relu")
        + BatchNorm()
        + MaxPool2D(2)
        + Flatten()
        + Dropout(0.2)
        + Dense(3)
        + SoftmaxCrossEntropy(),
        seed=1,
    )


def mlp_data(n=50):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 10)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64) + 2 * (x[:, 1] > 0.5).astype(np.int64)


def cnn_data(n=36):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 2, 8, 8)).astype(np.float32)
    return x, (x[:, 0, :4].mean(axis=(1, 2)) > 0).astype(np.int64) + (x[:, 1, 4:].mean(axis=(1, 2)) > 0.1)


def train(make, data, workers, batch_size, epochs=2):
    trainer = Trainer(
        make(), optimiser=MOMENTUM, batch_size=batch_size, seed=3, workers=workers, metrics=["accuracy"]
    )
    trainer.fit(data, epochs=epochs)
    return trainer


def assert_same_training(reference, other):
    for key, p in reference.network.parameters().items():
        np.testing.assert_allclose(
            other.network.parameters()[key].data, p.data, rtol=1e-4, atol=1e-5, err_msg=key
        )
    for key, b in reference.network.buffers().items():
        np.testing.assert_allclose(other.network.buffers()[key], b, rtol=1e-4, atol=1e-5, err_msg=key)
    for a, b in zip(reference.history, other.history, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
        assert a["accuracy"] == b["accuracy"]
    state = reference.network.rng.bit_generator.state
    assert other.network.rng.bit_generator.state == state  # dropout drew exactly the same numbers


def no_worker_threads():
    return not [t for t in threading.enumerate() if "-worker" in t.name]


def test_shard_bounds_cover_the_batch_without_empty_shards():
    assert shard_bounds(10, 4) == [(0, 3), (3, 6), (6, 8), (8, 10)]
    assert shard_bounds(2, 4) == [(0, 1), (1, 2)]
    assert shard_bounds(7, 1) == [(0, 7)]


def test_mlp_with_dropout_and_batch_norm_equals_one_worker():
    # 50 rows in batches of 16: shards of 4 (and 5/4/4/3), and a last batch of 2 rows for 4 workers.
    one = train(mlp, mlp_data(), 1, 16)
    assert type(one.operator) is Operator
    for workers in (2, 4):
        many = train(mlp, mlp_data(), workers, 16)
        assert isinstance(many.operator, ThreadPoolOperator)
        assert_same_training(one, many)
    assert no_worker_threads()


def test_cnn_with_batch_norm_equals_one_worker():
    one = train(cnn, cnn_data(), 1, 12)
    for workers in (2, 4):
        assert_same_training(one, train(cnn, cnn_data(), workers, 12))
    assert no_worker_threads()


def test_evaluation_and_a_second_fit_continue_like_one_worker():
    one, two = (train(mlp, mlp_data(), w, 16, epochs=1) for w in (1, 2))
    for trainer in (one, two):
        trainer.fit(mlp_data(), epochs=2)
    assert_same_training(one, two)
    assert two.evaluate(mlp_data()) == pytest.approx(one.evaluate(mlp_data()), rel=1e-5)


def test_pause_step_and_stop_mid_epoch_leave_no_threads():
    trainer = Trainer(mlp(), optimiser=MOMENTUM, batch_size=4, seed=3, workers=2)
    trainer.add_hook(FunctionHook(lambda t: t.operator.pause(), TimeStep(3, "iteration", once=True)))
    errors, states, changed = [], [], threading.Condition()

    def on_state(event):
        with changed:
            states.append(event.state)
            changed.notify_all()

    def wait_paused(count):
        with changed:
            assert changed.wait_for(lambda: states.count("paused") >= count, TIMEOUT), states

    trainer.events.subscribe(on_state, RunStateChanged)

    def target():
        try:
            trainer.fit(mlp_data(), epochs=1000)
        except Exception as exc:  # handed to the test
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    wait_paused(1)
    frozen = trainer.iteration
    assert frozen == 3 and trainer.epoch == 0  # mid-epoch: 13 batches per epoch
    assert len([t for t in threading.enumerate() if "-worker" in t.name]) == 1  # worker 0: this thread
    assert trainer.operator.step()
    wait_paused(2)
    assert trainer.operator.state == "paused" and trainer.iteration == frozen + 1
    assert trainer.operator.stop()
    thread.join(TIMEOUT)
    assert not thread.is_alive() and not errors
    assert trainer.operator.state == "stopped"
    assert no_worker_threads()


def test_registry_values_reach_every_worker_at_the_next_iteration():
    trainer = Trainer(mlp(), optimiser=MOMENTUM, batch_size=8, seed=3, workers=3)
    trainer.registry.set("hooks.threshold", 1.0)  # a value local hooks read on each worker
    seen = []

    def change(t):
        if t.iteration == 2:
            t.registry.set("optimiser.learning_rate", 0.01)
            t.registry.set("hooks.threshold", 2.0)
        seen.append(
            ([w.registry.get("hooks.threshold") for w in t.operator.workers], t.optimiser.learning_rate)
        )

    trainer.add_hook(FunctionHook(change, TimeStep(1, "iteration")))
    trainer.fit(mlp_data(), epochs=1)
    assert seen[0] == ([1.0] * 3, 0.1) and seen[1] == ([1.0] * 3, 0.1)  # set by the hook after iteration 2
    assert seen[2] == ([2.0] * 3, 0.01)  # synced at the boundary before iteration 3
    # The optimiser's settings live with the one optimiser: the workers hold no copies of them.
    assert all(w.registry.resolve("optimiser.*") == [] for w in trainer.operator.workers)


def test_an_error_in_one_worker_stops_the_run_and_the_pool():
    def loss(outputs, targets):
        if outputs.shape[0] == 2:  # worker 2's shard of 8 rows split 3 ways (3, 3, 2); the others wait in
            # the batch-norm exchange of the backward pass
            raise ValueError("bad shard")
        return SoftmaxCrossEntropy().loss(outputs, targets)

    net = Network(Input((10,)) + Dense(6) + BatchNorm() + Dense(4), seed=1)
    trainer = Trainer(net, optimiser=MOMENTUM, loss=loss, batch_size=8, seed=3, workers=3)
    with pytest.raises(ValueError, match="bad shard"):
        trainer.fit(mlp_data(), epochs=1)
    assert trainer.operator.state == "error"
    assert no_worker_threads()


def test_operator_choice_and_errors():
    assert (
        type(make_operator(Trainer(mlp(), optimiser="sgd", batch_size=4), 1, "threads")) is ThreadPoolOperator
    )
    with pytest.raises(ValueError, match="`operator`"):
        Trainer(mlp(), optimiser="sgd", operator="gpus")
    with pytest.raises(ValueError, match="`workers`"):
        Trainer(mlp(), optimiser="sgd", workers=0)


def test_exact_resume_through_a_checkpoint_with_two_workers(tmp_path):
    from engine import checkpoint

    def trainer():
        return Trainer(mlp(), optimiser=MOMENTUM, batch_size=16, seed=3, workers=2, metrics=["accuracy"])

    whole = trainer()
    whole.fit(mlp_data(), epochs=3)
    half = trainer()
    half.fit(mlp_data(), epochs=3, max_iterations=6)  # stops mid-epoch (4 batches per epoch)
    checkpoint.save(half, tmp_path / "half.h5")
    resumed = trainer()
    checkpoint.restore(resumed, tmp_path / "half.h5")
    resumed.fit(mlp_data(), epochs=3)
    for key, p in whole.network.parameters().items():
        np.testing.assert_array_equal(resumed.network.parameters()[key].data, p.data, err_msg=key)
    assert resumed.history == whole.history


def test_synchronised_batch_norm_equals_whole_batch_statistics_and_gradients():
    from concurrent.futures import ThreadPoolExecutor

    from engine.autodiff.tensor import Tensor
    from engine.operator.sharding import SyncBatchNorm, ThreadGroup
    from engine.ops.normalization import batch_norm

    rng = np.random.default_rng(4)
    x, w = rng.normal(size=(2, 11, 3, 4, 4))
    gamma, beta = rng.normal(size=(2, 3))
    whole_x, whole_g, whole_b = (Tensor(a.copy(), requires_grad=True) for a in (x, gamma, beta))
    rm, rv = np.zeros(3), np.ones(3)
    (batch_norm(whole_x, whole_g, whole_b, rm, rv, True) * Tensor(w)).sum().backward()

    group, bounds = ThreadGroup(3), shard_bounds(11, 3)

    def shard(rank):
        start, stop = bounds[rank]
        xs, gs, bs = (Tensor(a.copy(), requires_grad=True) for a in (x[start:stop], gamma, beta))
        fn = SyncBatchNorm((0, 2, 3), 1e-5, lambda a: group.allreduce(a, rank), 11 * 16)
        (fn(xs, gs, bs) * Tensor(w[start:stop])).sum().backward()
        return xs.grad.data, gs.grad.data, bs.grad.data

    with ThreadPoolExecutor(3) as pool:
        parts = list(pool.map(shard, range(3)))
    np.testing.assert_allclose(
        np.concatenate([p[0] for p in parts]), whole_x.grad.data, rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(sum(p[1] for p in parts), whole_g.grad.data, rtol=1e-10)
    np.testing.assert_allclose(sum(p[2] for p in parts), whole_b.grad.data, rtol=1e-10)


COMMANDS = ("pause", "resume", "step", "stop", "reset", "none")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(COMMANDS), max_size=12))
def test_random_commands_on_a_thread_pool_run_never_deadlock_or_leak(commands):
    trainer = Trainer(mlp(), optimiser=MOMENTUM, batch_size=8, seed=3, workers=2)
    failures = []

    def target():
        try:
            trainer.fit(mlp_data(), epochs=40)
        except Exception as exc:  # handed to the test
            failures.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    assert trainer.operator.wait("running", timeout=TIMEOUT)  # before that they would reach an idle trainer
    for command in commands:
        if command != "none":
            getattr(trainer.operator, command)()
    trainer.operator.stop()  # whatever happened, a stop must end the run
    trainer.operator.resume()
    thread.join(TIMEOUT)
    assert not thread.is_alive(), f"deadlock after {commands}"
    assert not failures and trainer.operator.state in ("stopped", "finished", "idle")
    assert no_worker_threads()


def test_use_operator_switches_between_runs():
    one = train(mlp, mlp_data(), 1, 16, epochs=1)
    switched = train(mlp, mlp_data(), 1, 16, epochs=1)
    old = switched.operator
    assert isinstance(switched.use_operator("threads", workers=3), ThreadPoolOperator)
    assert switched.workers == 3 and switched.operator is not old
    for trainer in (one, switched):
        trainer.fit(mlp_data(), epochs=2)
    assert_same_training(one, switched)
    switched.registry.set("optimiser.learning_rate", 0.5)  # the replaced operator no longer listens
    assert not old._pending
