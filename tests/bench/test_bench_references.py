"""The numpy reference steps compute correct gradients (float64 central differences on tiny instances)."""

import numpy as np
import pytest

from bench.workloads import WORKLOADS, make_data
from bench.workloads.numpy_steps import make_reference


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_reference_gradients_match_finite_differences(name):
    workload = WORKLOADS[name]
    config = workload.config(tiny=True)
    x, y = make_data(workload, config, seed=1, dtype=np.float64)
    ref = make_reference(workload.kind, config, np.float64, seed=2)
    # non-zero biases so every path carries gradient
    rng = np.random.default_rng(3)
    for p in ref.params.values():
        if p.ndim == 1:
            p[...] = rng.normal(0, 0.1, p.shape)
    ref.forward_backward(x, y)
    analytic = {k: g.copy() for k, g in ref.grads.items()}
    eps = 1e-6
    for key, p in ref.params.items():
        flat = p.reshape(-1)
        picks = rng.choice(flat.size, size=min(12, flat.size), replace=False)
        for i in picks:
            old = flat[i]
            flat[i] = old + eps
            up = ref.forward_backward(x, y)
            flat[i] = old - eps
            down = ref.forward_backward(x, y)
            flat[i] = old
            numeric = (up - down) / (2 * eps)
            got = analytic[key].reshape(-1)[i]
            assert got == pytest.approx(numeric, rel=1e-5, abs=1e-8), f"{name} {key}[{i}]"


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_reference_steps_lower_the_loss(name):
    workload = WORKLOADS[name]
    config = workload.config(tiny=True)
    config["lr"] = 0.05
    x, y = make_data(workload, config, seed=1)
    ref = make_reference(workload.kind, config, np.float32, seed=2)
    first = ref.step(x, y)
    for _ in range(30):
        last = ref.step(x, y)
    assert np.isfinite(last) and last < first


def test_reference_optimisers_match_their_equations():
    from bench.workloads.numpy_common import Adam, FlatParams, SGDMomentum

    rng = np.random.default_rng(0)
    grads = [rng.normal(size=5) for _ in range(2)]
    store = FlatParams({"w": (5,)}, np.float64)
    store.flat[:] = p = rng.normal(size=5)
    opt = Adam(store, learning_rate=0.1)
    m = v = np.zeros(5)
    for t, g in enumerate(grads, start=1):
        store.grad_flat[:] = g
        opt.step()
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        p = p - 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        np.testing.assert_allclose(store.flat, p, rtol=1e-12)
    store.flat[:] = p = rng.normal(size=5)
    opt = SGDMomentum(store, learning_rate=0.1, momentum=0.9)
    vel = np.zeros(5)
    for g in grads:
        store.grad_flat[:] = g
        opt.step()
        vel = 0.9 * vel + g
        p = p - 0.1 * vel
        np.testing.assert_allclose(store.flat, p, rtol=1e-12)
