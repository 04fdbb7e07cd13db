"""Pooling: max (gradient to the argmax), average (zero padding counted), global average."""

import numpy as np
import pytest
from op_check import check_op, randn

import engine
from engine import ops
from engine.autodiff import ShapeError


def direct_pool(x, k, s, p, reduce, fill):
    kh, kw = (k, k) if isinstance(k, int) else k
    sh, sw = (s, s) if isinstance(s, int) else s
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    ho = (x.shape[2] + 2 * p - kh) // sh + 1
    wo = (x.shape[3] + 2 * p - kw) // sw + 1
    y = np.empty(x.shape[:2] + (ho, wo))
    for i in range(ho):
        for j in range(wo):
            y[:, :, i, j] = reduce(xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw], axis=(2, 3))
    return y


CASES = [(2, None, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), 0), (2, 1, 0)]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_max_pool2d(backend, case):
    k, s, p = case
    x = randn(np.random.default_rng(0), 2, 3, 7, 6)
    check_op(
        backend,
        lambda t: ops.max_pool2d(t, k, s, p),
        lambda a: direct_pool(a, k, k if s is None else s, p, np.max, -np.inf),
        [x],
        double=True,
    )


@pytest.mark.parametrize("case", CASES, ids=str)
def test_avg_pool2d(backend, case):
    k, s, p = case
    x = randn(np.random.default_rng(1), 2, 3, 7, 6)
    check_op(
        backend,
        lambda t: ops.avg_pool2d(t, k, s, p),
        lambda a: direct_pool(a, k, k if s is None else s, p, np.mean, 0.0),
        [x],
        double=True,
    )


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_avg_pool2d(backend, keepdims):
    x = randn(np.random.default_rng(2), 2, 3, 4, 5)
    check_op(
        backend,
        lambda t: ops.global_avg_pool2d(t, keepdims=keepdims),
        lambda a: a.mean(axis=(2, 3), keepdims=keepdims),
        [x],
        double=True,
    )


def test_max_pool_routes_the_gradient_to_the_argmax_only():
    x = engine.tensor(np.array([[[[1.0, 5.0], [3.0, 2.0]]]]), requires_grad=True)
    ops.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[[0, 1], [0, 0]]]])


def test_pool_errors():
    with pytest.raises(ShapeError, match=r"max_pool2d: expected input \(N, C, H, W\), got shape \(3, 4\)"):
        ops.max_pool2d(engine.tensor(np.zeros((3, 4))), 2)
    with pytest.raises(ValueError, match="avg_pool2d: padding"):
        ops.avg_pool2d(engine.tensor(np.zeros((1, 1, 4, 4))), 2, padding=2)
    with pytest.raises(ShapeError, match="too small"):
        ops.max_pool2d(engine.tensor(np.zeros((1, 1, 2, 2))), 3)


def test_max_pool_tie_goes_to_the_first_maximum(backend):
    x = engine.tensor(backend.from_host(np.array([[[[3.0, 3.0], [1.0, 3.0]]]])), requires_grad=True)
    ops.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[[1, 0], [0, 0]]]])


def first_max_routing(x, g):
    """Reference 2x2/stride-2 max-pool backward: each window's gradient to its first maximum (row-major)."""
    n, c, h, w = x.shape
    out = np.zeros_like(x)
    for i in range(h // 2):
        for j in range(w // 2):
            win = x[:, :, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].reshape(n, c, 4)
            k = win.argmax(axis=2)  # numpy's argmax returns the first maximum
            for a in range(n):
                for b in range(c):
                    di, dj = divmod(int(k[a, b]), 2)
                    out[a, b, 2 * i + di, 2 * j + dj] = g[a, b, i, j]
    return out


@pytest.mark.parametrize("shape", [(2, 3, 6, 8), (1, 2, 5, 7)], ids=str)
def test_pair_max_pool_with_many_ties_routes_to_the_first_maximum(backend, shape):
    # small integers: most windows hold a tie, some several
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, size=shape).astype(np.float64)
    t = engine.tensor(backend.from_host(x), requires_grad=True)
    y = ops.max_pool2d(t, 2)
    g = rng.standard_normal(y.shape)
    y.backward(backend.from_host(g))
    np.testing.assert_array_equal(y.numpy(), direct_pool(x, 2, 2, 0, np.max, -np.inf))
    np.testing.assert_array_equal(t.grad.numpy(), first_max_routing(x, g))


def test_pair_max_pool_gradients_and_double_backward(backend):
    x = randn(np.random.default_rng(4), 2, 3, 6, 4)
    check_op(
        backend,
        lambda t: ops.max_pool2d(t, 2),
        lambda a: direct_pool(a, 2, 2, 0, np.max, -np.inf),
        [x],
        double=True,
    )
