"""Activations: forward vs independent float64 numpy formulas, gradients, double backward, stability."""

import math

import numpy as np
import pytest
from op_check import check_op, randn

import engine
from engine import ops

SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
_erf = np.vectorize(math.erf)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


REFS = {
    "relu": (ops.relu, lambda x: np.where(x > 0, x, 0.0)),
    "leaky_relu": (ops.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x)),
    "leaky_relu_0.2": (lambda t: ops.leaky_relu(t, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "elu": (ops.elu, lambda x: np.where(x > 0, x, np.exp(x) - 1)),
    "elu_alpha": (lambda t: ops.elu(t, 0.5), lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1))),
    "selu": (ops.selu, lambda x: SELU_S * np.where(x > 0, x, SELU_A * (np.exp(x) - 1))),
    "gelu_tanh": (ops.gelu, lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))),
    "gelu_erf": (lambda t: ops.gelu(t, approximate=False), lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
    "erf": (ops.erf, _erf),
    "sigmoid": (ops.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "tanh": (ops.tanh, np.tanh),
    "softplus": (ops.softplus, lambda x: np.log1p(np.exp(x))),
    "softsign": (ops.softsign, lambda x: x / (1 + np.abs(x))),
}

KINKED = {"relu", "leaky_relu", "leaky_relu_0.2", "elu", "elu_alpha", "selu", "softsign"}


@pytest.mark.parametrize("name", list(REFS))
@pytest.mark.parametrize("shape", [(3, 4), (7,), ()], ids=str)
def test_elementwise_activation(backend, name, shape):
    op, ref = REFS[name]
    x = randn(np.random.default_rng(0), *shape, away_from=0.0 if name in KINKED else None) * 2
    check_op(backend, op, ref, [x], double=True)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("case", [((3, 5), -1), ((3, 5), 0), ((2, 3, 4), 1), ((6,), 0)], ids=str)
def test_softmax_family(backend, name, case):
    shape, axis = case
    op = getattr(ops, name)
    ref = (lambda x: _softmax(x, axis)) if name == "softmax" else (lambda x: np.log(_softmax(x, axis)))
    x = randn(np.random.default_rng(1), *shape) * 3
    check_op(backend, lambda t: op(t, axis=axis), ref, [x], double=True)


def test_relu_gradient_is_zero_at_zero(backend):
    x = engine.tensor(backend.from_host(np.array([-1.0, 0.0, 2.0])), requires_grad=True)
    ops.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize("shape", [(7, 40), (40,), (3, 5), (2, 3, 17), (0, 20)], ids=str)
def test_relu_array_matches_maximum_bit_for_bit(dtype, shape):
    # the host fast path compares with a cached row of zeros instead of the scalar 0: it must give the
    # same bits, signed zeros, NaN, infinities and subnormals included, in place and into a new array
    from engine.ops.activations import relu_array

    rng = np.random.default_rng(5)
    a = (rng.standard_normal(shape) * 3).astype(dtype)
    if np.issubdtype(dtype, np.floating) and a.size:
        specials = np.array([-0.0, 0.0, np.nan, -np.inf, np.inf, -1e-310, 1e-310, -1e-40, 1e-40, -1.0], dtype)
        flat = a.reshape(-1)
        flat[: min(len(flat), len(specials))] = specials[: len(flat)]
    want = np.maximum(a, 0)
    got = relu_array(np, a)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert want.tobytes() == got.tobytes()
    inplace = a.copy()
    assert relu_array(np, inplace, out=inplace) is inplace
    assert inplace.tobytes() == want.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_inputs_stay_finite(backend, dtype):
    x = np.array([[1e4, -1e4, 0.0, 5.0], [-1e4, -1e4, -1e4, -1e4]], dtype)
    for op in (
        ops.softmax,
        ops.log_softmax,
        ops.sigmoid,
        ops.softplus,
        ops.tanh,
        ops.elu,
        ops.selu,
        ops.gelu,
    ):
        t = engine.tensor(backend.from_host(x), requires_grad=True)
        y = op(t)
        (y * engine.tensor(backend.from_host(np.ones_like(x)))).sum().backward()
        assert np.isfinite(y.numpy()).all(), op.__name__
        assert np.isfinite(t.grad.numpy()).all(), op.__name__
    np.testing.assert_allclose(ops.softmax(engine.tensor(x)).numpy()[0], [1, 0, 0, 0])
    np.testing.assert_allclose(ops.log_softmax(engine.tensor(x)).numpy()[1], [-np.log(4)] * 4, rtol=1e-6)


def test_erf_accuracy_on_a_dense_grid():
    x = np.linspace(-7, 7, 20001)
    err = np.abs(ops.erf(engine.tensor(x)).numpy() - _erf(x)).max()
    assert err < 1e-13


def test_sigmoid_second_derivative_matches_formula():
    x = np.linspace(-3, 3, 7)
    d2 = engine.grad(lambda t: engine.grad(lambda u: ops.sigmoid(u).sum())(t).sum())(x)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(d2.numpy(), s * (1 - s) * (1 - 2 * s), rtol=1e-6)
