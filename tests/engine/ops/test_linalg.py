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
