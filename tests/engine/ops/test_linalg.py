"""Matrix products: shapes, batch broadcasting, 1-d operands, gradients and double backward."""

import numpy as np
import pytest
from op_check import check_op, randn

import engine
from engine import ops
from engine.autodiff import ShapeError

SHAPES = [
    ((3, 4), (4, 5)),
    ((2, 3, 4), (4, 5)),
    ((2, 1, 3, 4), (3, 4, 2)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4,)),
]


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_matmul(backend, shapes):
    rng = np.random.default_rng(0)
    a, b = randn(rng, *shapes[0]), randn(rng, *shapes[1])
    check_op(backend, ops.matmul, np.matmul, [a, b], double=True)
    check_op(backend, lambda x, y: x @ y, np.matmul, [a, b], grad=False)


def test_linear(backend):
    rng = np.random.default_rng(1)
    x, w, b = randn(rng, 5, 3), randn(rng, 3, 2), randn(rng, 2)
    check_op(backend, ops.linear, lambda x, w, b: x @ w + b, [x, w, b], double=True)
    check_op(backend, lambda x, w: ops.linear(x, w), lambda x, w: x @ w, [x, w])


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_linear_fused_relu(backend, bias):
    rng = np.random.default_rng(2)
    x, w, b = randn(rng, 6, 4), randn(rng, 4, 3), randn(rng, 3)
    if bias:
        check_op(
            backend,
            lambda x, w, b: ops.linear(x, w, b, activation="relu"),
            lambda x, w, b: np.maximum(x @ w + b, 0),
            [x, w, b],
            double=True,
        )
    else:
        check_op(
            backend,
            lambda x, w: ops.linear(x, w, activation="relu"),
            lambda x, w: np.maximum(x @ w, 0),
            [x, w],
            double=True,
        )


def test_linear_relu_gradient_matches_the_unfused_ops(backend):
    # exact zeros in x @ w + b: the fused op must use relu's convention (no gradient at 0), as relu does
    x = np.array([[1.0, -1.0], [0.5, 2.0], [0.0, 0.0]])
    w = np.array([[1.0, 2.0, -1.0], [1.0, -1.0, 0.5]])
    b = np.array([0.0, 0.5, 0.0])
    g = np.arange(9.0).reshape(3, 3) - 4

    def grads(fused):
        ts = [engine.tensor(backend.from_host(a), requires_grad=True) for a in (x, w, b)]
        y = ops.linear(*ts, activation="relu") if fused else ops.relu(ops.matmul(ts[0], ts[1]) + ts[2])
        y.backward(backend.from_host(g))
        return [y.numpy()] + [t.grad.numpy() for t in ts]

    for got, want in zip(grads(True), grads(False)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_linear_checks_its_arguments():
    expected = r"linear: expected x \(N, in\), weight \(in, out\) and bias \(out,\)"
    with pytest.raises(ShapeError, match=expected):
        ops.linear(engine.tensor(np.ones((2, 3))), engine.tensor(np.ones((3, 4))), engine.tensor(np.ones(3)))
    with pytest.raises(ShapeError, match=r"linear: shapes \(2, 3\) and \(4, 5\) do not align"):
        ops.linear(engine.tensor(np.ones((2, 3))), engine.tensor(np.ones((4, 5))))
    with pytest.raises(ValueError, match="Expected None or 'relu'. Received: 'tanh'"):
        ops.linear(engine.tensor(np.ones((2, 3))), engine.tensor(np.ones((3, 4))), activation="tanh")


def test_matmul_errors_name_the_shapes():
    with pytest.raises(ShapeError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) do not align"):
        ops.matmul(engine.tensor(np.ones((2, 3))), engine.tensor(np.ones((4, 5))))
    with pytest.raises(ShapeError, match="at least one dimension"):
        ops.matmul(engine.tensor(np.ones(())), engine.tensor(np.ones((2, 2))))


def test_matmul_of_constant_and_tensor(backend):
    a = randn(np.random.default_rng(2), 3, 3)
    w = engine.tensor(backend.from_host(a), requires_grad=True)
    y = (backend.from_host(np.eye(3)) @ w).sum()
    y.backward()
    np.testing.assert_allclose(w.grad.numpy(), np.ones((3, 3)))
