"""LayerHealth on hand-built broken networks: it names what is broken, and nothing on a healthy run."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data import samples
from engine.events import LayerHealthReport, LogMessage
from engine.hooks import LayerHealth, TimeStep
from engine.layers import Dense, Input
from engine.network import Network
from engine.optim import SGD, Adam
from engine.training import Trainer


@pytest.fixture(scope="module")
def digits():
    d = samples.digits()
    x = np.asarray(d["inputs"], np.float32)
    y = np.asarray(d["targets"]).astype(np.int64)
    return x[:640], y[:640]


def mlp(hidden=(64, 32), activation="relu", seed=0):
    arch = Input((64,))
    for k, units in enumerate(hidden):
        arch = arch + Dense(units, activation=activation, name=f"dense{k + 1}")
    return Network(arch + Dense(10, name="out"), seed=seed)


def run(network, data, optimiser, iterations, interval=1, nan_guard=True, **hook_args):
    hook = LayerHealth(TimeStep(interval), **hook_args)
    trainer = Trainer(
        network,
        optimiser=optimiser,
        loss="softmax_cross_entropy",
        batch_size=32,
        hooks=[hook],
        nan_guard=nan_guard,
    )
    reports, logs = [], []
    trainer.events.subscribe(reports.append, LayerHealthReport)
    trainer.events.subscribe(lambda e: logs.append(e.message), LogMessage)
    trainer.fit(data, epochs=100, max_iterations=iterations)
    return trainer, hook, reports, logs


def kinds(report, layer=None):
    return {(f.layer, f.kind) for f in report.findings if layer is None or f.layer == layer}


def test_healthy_digits_mlp_has_no_finding(digits):
    trainer, hook, reports, logs = run(mlp(), digits, Adam(0.002), 100, interval=10)
    assert len(reports) == 10  # the final measurement at the end is the one at iteration 100
    assert [r.findings for r in reports] == [()] * 10
    assert not [m for m in logs if m.startswith("health")]
    assert set(reports[-1].layers) == {"dense1", "dense2", "out"}


def test_dead_relu_layer_from_large_negative_bias(digits):
    net = mlp()
    net.layers["dense2"].parameters["bias"].data[...] = -50.0
    _, hook, reports, logs = run(net, digits, Adam(0.001), 3)
    found = {f.kind: f for f in reports[-1].findings if f.layer == "dense2"}
    assert found["dead_units"].severity == "problem"
    assert found["dead_units"].message == "dense2: 100% dead units"
    assert ("dense1", "dead_units") not in kinds(reports[-1])
    assert any("dense2: 100% dead units" in m for m in logs)


def test_sigmoid_stack_with_big_weights_saturates(digits):
    net = mlp((32, 32, 32), activation="sigmoid")
    rng = np.random.default_rng(1)
    for name in ("dense1", "dense2", "dense3"):
        w = net.layers[name].parameters["weights"]
        w.data[...] = rng.normal(0, 10.0, w.shape).astype(np.float32)
    _, _, reports, _ = run(net, digits, SGD(0.01), 2)
    for name in ("dense1", "dense2", "dense3"):
        assert (name, "saturation") in kinds(reports[-1]), name
        assert reports[-1].layers[name]["saturation"] > 0.7


def test_tiny_learning_rate_gives_tiny_update_ratio(digits):
    _, _, reports, logs = run(mlp(), digits, SGD(1e-9), 3)
    found = {f.layer: f for f in reports[-1].findings if f.kind == "tiny_update"}
    assert set(found) == {"dense1", "dense2", "out"}
    assert all(f.severity == "problem" and f.value < 1e-7 for f in found.values())
    assert "barely learning" in found["dense1"].message


def test_learning_rate_ten_explodes(digits):
    _, _, reports, _ = run(mlp(), digits, SGD(10.0), 6, nan_guard=False)
    flagged = set()
    for report in reports:
        flagged |= {f.kind for f in report.findings if f.severity == "problem"}
    assert flagged & {"exploding_gradient", "large_update", "nonfinite"}
    assert "large_update" in {f.kind for f in reports[0].findings}  # the very first step is too big


def test_nan_in_one_layers_weights_names_that_layer(digits):
    net = mlp()
    net.layers["dense2"].parameters["weights"].data[3, 5] = np.nan
    hook = LayerHealth(TimeStep(10))
    trainer = Trainer(net, optimiser=Adam(0.001), loss="softmax_cross_entropy", batch_size=32, hooks=[hook])
    reports = []
    trainer.events.subscribe(reports.append, LayerHealthReport)
    trainer.fit(digits, epochs=1, raise_errors=False)  # the NaN guard stops the run at iteration 1
    assert trainer.operator.state == "error" and len(reports) == 1
    nonfinite = [f for f in reports[-1].findings if f.kind == "nonfinite"]
    assert [f.layer for f in nonfinite] == ["dense2"]
    assert nonfinite[0].message == "dense2: NaN or inf in its weights"
    assert reports[-1].severity_of("dense2") == "problem"
    assert reports[-1].severity_of("dense1") == "ok"


def test_figures_match_direct_numpy(digits):
    x, _ = digits
    net = mlp()
    hook = LayerHealth(TimeStep(5), probe_size=48)
    trainer = Trainer(net, optimiser=SGD(0.05), loss="softmax_cross_entropy", batch_size=32, hooks=[hook])
    before = {}

    def keep(t):
        if t.iteration == 4:
            before.update({k: p.data.astype(np.float64).copy() for k, p in t.network.parameters().items()})

    from engine.hooks import FunctionHook

    trainer.add_hook(FunctionHook(keep, priority=100))
    trainer.fit(digits, epochs=10, max_iterations=5)
    figures = hook.last.layers
    params = {k: p.data.astype(np.float64) for k, p in net.parameters().items()}
    grads = {k: p.grad.data.astype(np.float64) for k, p in net.parameters().items()}
    probe = x[:48].astype(np.float64)
    h = probe
    for name in ("dense1", "dense2", "out"):
        w, b = params[f"{name}.weights"], params[f"{name}.bias"]
        z = h @ w + b
        h = np.maximum(z, 0) if name != "out" else z
        f = figures[name]
        gnorm = np.sqrt(np.sum(grads[f"{name}.weights"] ** 2) + np.sum(grads[f"{name}.bias"] ** 2))
        wnorm = np.sqrt(np.sum(w**2) + np.sum(b**2))
        dw = np.sqrt(np.sum((w - before[f"{name}.weights"]) ** 2) + np.sum((b - before[f"{name}.bias"]) ** 2))
        bnorm = np.sqrt(np.sum(before[f"{name}.weights"] ** 2) + np.sum(before[f"{name}.bias"] ** 2))
        assert f["grad_norm"] == pytest.approx(gnorm, rel=1e-4)
        assert f["weight_norm"] == pytest.approx(wnorm, rel=1e-5)
        assert f["update_ratio"] == pytest.approx(dw / bnorm, rel=1e-3)
        assert f["act_mean"] == pytest.approx(h.mean(), rel=1e-4, abs=1e-6)
        assert f["act_std"] == pytest.approx(h.std(), rel=1e-4)
        if name != "out":
            assert f["dead_fraction"] == pytest.approx(1 - (h > 0).any(axis=0).mean())
        assert trainer.registry.get(f"health.{name}.grad_norm") == pytest.approx(f["grad_norm"])


def test_update_ratio_is_the_optimisers_step_with_sgd(digits):
    # With plain SGD the step is exactly lr * gradient: the ratio is lr * ||g|| / ||w_before||.
    net = mlp()
    hook = LayerHealth(TimeStep(3))
    trainer = Trainer(net, optimiser=SGD(0.01), loss="softmax_cross_entropy", batch_size=32, hooks=[hook])
    trainer.fit(digits, epochs=10, max_iterations=3)
    f = hook.last.layers["dense1"]
    before_norm = f["weight_norm"]  # within one tiny step of the norm before it
    assert f["update_ratio"] == pytest.approx(0.01 * f["grad_norm"] / before_norm, rel=1e-2)


def test_invalid_arguments_are_named():
    with pytest.raises(ValueError, match="probe_size"):
        LayerHealth(probe_size=0)
    with pytest.raises(TypeError, match="thresholds"):
        LayerHealth(thresholds={"dead_warning": 0.1})


def test_two_thread_workers_give_the_same_figures(digits):
    figures = []
    for workers in (1, 2):
        hook = LayerHealth(TimeStep(4))
        trainer = Trainer(
            mlp(),
            optimiser=SGD(0.05),
            loss="softmax_cross_entropy",
            batch_size=32,
            hooks=[hook],
            workers=workers,
        )
        trainer.fit(digits, epochs=10, max_iterations=4)
        figures.append(hook.last.layers)
    for layer, values in figures[0].items():
        for name, value in values.items():
            assert figures[1][layer][name] == pytest.approx(value, rel=1e-4, abs=1e-7), (layer, name)


def test_activation_mean_and_std_match_float64_numpy_and_say_non_finite():
    from engine.hooks.health import _mean_std

    rng = np.random.default_rng(7)
    cases = [
        np.maximum(rng.standard_normal((64, 16, 28, 28)), 0).astype(np.float32),
        (1000.0 + 1e-3 * rng.standard_normal((64, 300))).astype(np.float32),  # mean far above the spread
        rng.standard_normal((5, 7)),  # float64
        rng.integers(-5, 5, (40, 3)),  # integers take the float64 copy
        np.full((3, 4), 2.5, np.float32),  # no spread at all
    ]
    for data in cases:
        mean, std = _mean_std(np, data)
        as64 = data.astype(np.float64)
        assert mean == pytest.approx(as64.mean(), rel=1e-12)
        assert std == pytest.approx(as64.std(), rel=1e-6, abs=1e-12)
    for bad in (np.nan, np.inf, -np.inf):
        data = np.ones((8, 8), np.float32)
        data[3, 5] = bad
        assert _mean_std(np, data) is None
    huge = np.full(4, 1e308)  # float64 values whose total overflows are finite: not taken for NaN
    with np.errstate(over="ignore"):
        assert _mean_std(np, huge) is not None
