"""Batch norm (training/inference, running statistics in place) and layer norm."""

import numpy as np
import pytest
from op_check import check_op, randn

import engine
from engine import ops
from engine.autodiff import ShapeError


def _np_norm(x, g, b, axes, pshape, eps=1e-5):
    mu = x.mean(axis=axes, keepdims=True)
    v = x.var(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(v + eps) * g.reshape(pshape) + b.reshape(pshape)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2, 3)], ids=str)
def test_batch_norm_training(backend, shape):
    rng = np.random.default_rng(0)
    x, g, b = randn(rng, *shape), randn(rng, 3) + 2, randn(rng, 3)
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    pshape = (1, 3) if len(shape) == 2 else (1, 3, 1, 1)

    def f(x, g, b):
        zeros, ones = backend.from_host(np.zeros(3)), backend.from_host(np.ones(3))
        return ops.batch_norm(x, g, b, zeros, ones, training=True)

    check_op(backend, f, lambda x, g, b: _np_norm(x, g, b, axes, pshape), [x, g, b], double=True)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2, 3)], ids=str)
def test_batch_norm_updates_running_statistics_in_place(backend, shape):
    rng = np.random.default_rng(1)
    x = randn(rng, *shape)
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    rm, rv = backend.from_host(np.full(3, 0.5)), backend.from_host(np.full(3, 2.0))
    ops.batch_norm(
        engine.tensor(backend.from_host(x)), np.ones(3), np.zeros(3), rm, rv, training=True, momentum=0.2
    )
    n = x.size // 3
    np.testing.assert_allclose(engine.Tensor(rm).numpy(), 0.8 * 0.5 + 0.2 * x.mean(axis=axes))
    np.testing.assert_allclose(engine.Tensor(rv).numpy(), 0.8 * 2.0 + 0.2 * x.var(axis=axes) * n / (n - 1))


def test_batch_norm_inference_uses_running_statistics(backend):
    rng = np.random.default_rng(2)
    x, g, b = randn(rng, 5, 3, 2, 2), randn(rng, 3), randn(rng, 3)
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    before = rm.copy()

    def ref(x, g, b):
        return (x - rm.reshape(1, 3, 1, 1)) / np.sqrt(rv.reshape(1, 3, 1, 1) + 1e-5) * g.reshape(
            1, 3, 1, 1
        ) + b.reshape(1, 3, 1, 1)

    check_op(
        backend,
        lambda x, g, b: ops.batch_norm(x, g, b, backend.from_host(rm), backend.from_host(rv), False),
        ref,
        [x, g, b],
        double=True,
    )
    np.testing.assert_array_equal(rm, before)


@pytest.mark.parametrize("case", [((4, 5), -1), ((2, 3, 4), -1), ((2, 3, 4), (1, 2))], ids=str)
def test_layer_norm(backend, case):
    shape, axes = case
    rng = np.random.default_rng(3)
    ax = (axes,) if isinstance(axes, int) else axes
    ax = tuple(a % len(shape) for a in ax)
    pshape_small = tuple(shape[a] for a in ax)
    x, g, b = randn(rng, *shape), randn(rng, *pshape_small), randn(rng, *pshape_small)
    bshape = tuple(s if i in ax else 1 for i, s in enumerate(shape))
    check_op(
        backend,
        lambda x, g, b: ops.layer_norm(x, g, b, axes=axes),
        lambda x, g, b: _np_norm(x, g, b, ax, bshape),
        [x, g, b],
        double=True,
    )


def test_normalization_errors():
    x = engine.tensor(np.zeros((4, 3)))
    with pytest.raises(
        ShapeError, match=r"batch_norm: gamma must have shape \(3,\) for input \(4, 3\), got \(2,\)"
    ):
        ops.batch_norm(x, np.ones(2), np.zeros(3), np.zeros(3), np.ones(3), True)
    with pytest.raises(ShapeError, match=r"batch_norm: expected input \(N, C\) or \(N, C, H, W\)"):
        ops.batch_norm(engine.tensor(np.zeros(3)), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True)
    with pytest.raises(ShapeError, match="more than one value per channel"):
        ops.batch_norm(
            engine.tensor(np.zeros((1, 3))), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True
        )
    with pytest.raises(ShapeError, match=r"layer_norm: gamma and beta must have shape \(3,\)"):
        ops.layer_norm(x, np.ones(4), np.zeros(4))
