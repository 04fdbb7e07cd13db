"""Dropout (inverted, host-drawn mask) and embedding lookup (scatter-add backward)."""

import numpy as np
import pytest
from op_check import check_op, randn

import engine
from engine import ops
from engine.autodiff import DTypeError, ShapeError


def test_dropout_is_inverted_and_reproducible(backend):
    x = np.ones((200, 50))
    t = engine.tensor(backend.from_host(x), requires_grad=True)
    y = ops.dropout(t, 0.25, training=True, rng=np.random.default_rng(7))
    out = y.numpy()
    assert set(np.unique(out)) <= {0.0, 1 / 0.75}
    assert abs((out == 0).mean() - 0.25) < 0.02
    expected = ops.dropout_mask(x.shape, 0.25, np.random.default_rng(7), np.float64)
    np.testing.assert_array_equal(out, expected)  # the same mask whatever the device
    y.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), expected)


def test_dropout_gradient_and_inference(backend):
    x = randn(np.random.default_rng(0), 4, 5)
    check_op(
        backend,
        lambda t: ops.dropout(t, 0.5, True, np.random.default_rng(3)),
        lambda a: a * ops.dropout_mask(a.shape, 0.5, np.random.default_rng(3), np.float64),
        [x],
        double=True,
    )
    t = engine.tensor(backend.from_host(x))
    assert ops.dropout(t, 0.5, training=False, rng=np.random.default_rng(0)) is t
    assert ops.dropout(t, 0.0, training=True, rng=np.random.default_rng(0)) is t


def test_dropout_errors():
    t = engine.tensor(np.ones(3))
    with pytest.raises(ValueError, match="dropout: invalid value for `rate`"):
        ops.dropout(t, 1.0, True, np.random.default_rng(0))
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        ops.dropout(t, 0.5, True, 42)


@pytest.mark.parametrize("index_shape", [(4,), (2, 3), ()], ids=str)
def test_embedding(backend, index_shape):
    rng = np.random.default_rng(1)
    w = randn(rng, 5, 3)
    idx = rng.integers(0, 5, index_shape)
    check_op(backend, lambda t: ops.embedding(idx, t), lambda a: a[idx], [w], double=True)


def test_embedding_accumulates_repeated_rows():
    w = engine.tensor(np.zeros((4, 2)), requires_grad=True)
    ops.embedding(np.array([1, 1, 3, 1]), w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[0, 0], [3, 3], [0, 0], [1, 1]])


def test_embedding_errors():
    w = engine.tensor(np.zeros((4, 2)))
    with pytest.raises(
        ShapeError, match=r"embedding: indices span \[0, 4\] but the table \(4, 2\) has 4 rows"
    ):
        ops.embedding(np.array([0, 4]), w)
    with pytest.raises(DTypeError, match="embedding: indices must be integers"):
        ops.embedding(np.array([0.0, 1.0]), w)
