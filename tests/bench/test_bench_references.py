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
