"""relu_max_pool2d: max_pool2d(relu(x)) computed as relu(max_pool2d(x)), exact in value and gradient."""

import numpy as np
import pytest
from op_check import check_op, randn
from test_pooling import CASES, direct_pool

import engine
from engine import ops


def relu_pool_ref(a, k, s, p):
    return direct_pool(np.maximum(a, 0), k, k if s is None else s, p, np.max, -np.inf)


@pytest.mark.parametrize("case", [*CASES, (2, 2, 1)], ids=str)
def test_relu_max_pool2d_gradients_and_double_backward(backend, case):
    k, s, p = case
    # shifted up a little so windows of all-negative, mixed and all-positive values all occur
    x = randn(np.random.default_rng(5), 2, 3, 7, 6) + 0.3
    check_op(
        backend,
        lambda t: ops.relu_max_pool2d(t, k, s, p),
        lambda a: relu_pool_ref(a, k, s, p),
        [x],
        double=True,
    )


@pytest.mark.parametrize("case", [(2, None, 0), (3, 2, 1), (2, 1, 0)], ids=str)
@pytest.mark.parametrize("shape", [(2, 3, 6, 8), (1, 2, 5, 7)], ids=str)
def test_relu_max_pool2d_equals_the_unfused_pair_bit_for_bit(backend, case, shape):
    # small integers around 0: ties (at 0 and above) and all-negative windows in every batch
    k, s, p = case
    rng = np.random.default_rng(6)
    x = rng.integers(-2, 3, size=shape).astype(np.float32)
    results, g = [], None
    for fused in (True, False):
        t = engine.tensor(backend.from_host(x), requires_grad=True)
        y = ops.relu_max_pool2d(t, k, s, p) if fused else ops.max_pool2d(ops.relu(t), k, s, p)
        g = rng.standard_normal(y.shape).astype(np.float32) if fused else g
        y.backward(backend.from_host(g))
        results.append((y.numpy(), t.grad.numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_relu_max_pool2d_without_a_graph():
    x = np.random.default_rng(7).standard_normal((1, 2, 4, 4)).astype(np.float32)
    with engine.no_grad():
        y = ops.relu_max_pool2d(engine.tensor(x, requires_grad=True), 2)
    np.testing.assert_array_equal(y.numpy(), relu_pool_ref(x, 2, None, 0).astype(np.float32))
    assert not y.requires_grad


def _in_order(a, channels_last):
    """``a`` (N, C, H, W) with the same values, in NCHW or channels-last memory."""
    if not channels_last:
        return np.ascontiguousarray(a)
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("fused", [True, False], ids=["relu_max_pool2d", "max_pool2d"])
def test_pair_pool_gradient_is_the_same_for_every_memory_order(fused):
    # The 2x2 scatter brings a gradient that arrives in another memory order than the pooled input's
    # (channels-last from a lowered convolution, NCHW from a flatten) to the masks' order first.
    rng = np.random.default_rng(8)
    x = rng.integers(-2, 3, size=(2, 3, 6, 8)).astype(np.float32)
    g = rng.standard_normal((2, 3, 3, 4)).astype(np.float32)
    op = ops.relu_max_pool2d if fused else ops.max_pool2d
    results = []
    for x_last in (False, True):
        for g_last in (False, True):
            t = engine.tensor(_in_order(x, x_last), requires_grad=True)
            y = op(t, 2)
            y.backward(_in_order(g, g_last))
            results.append((y.numpy(), t.grad.numpy()))
            # the gradient comes back in the pooled input's memory order
            assert t.grad.data.strides == t.data.strides
    for y, gx in results[1:]:
        np.testing.assert_array_equal(y, results[0][0])
        np.testing.assert_array_equal(gx, results[0][1])
