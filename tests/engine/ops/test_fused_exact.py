"""The fused nodes and raw-array backward passes give the same bits as the engine ops they stand for.

Training results must not change when a step gets faster: each fast path here is compared bit for bit
(loss and every gradient) with the composite it replaces, in float32 and float64.
"""

import numpy as np
import pytest

import engine
from engine import ops
from engine.ops.linalg import ones_row

DTYPES = [np.float32, np.float64]


def _grads(fn, arrays, create_graph=False):
    """Value of ``fn`` and the gradients of every input (``create_graph`` takes the graph paths)."""
    ts = [engine.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward(create_graph=create_graph)
    return [out.numpy()] + [t.grad.numpy() for t in ts]


def _same_bits(got, want):
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        assert g.tobytes() == w.tobytes(), "not the same bits"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", [(37, 3), (5,), (2, 3, 4)], ids=str)
def test_mean_squared_error_is_its_composite_bit_for_bit(dtype, reduction, shape):
    rng = np.random.default_rng(0)
    p, t = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    reduce = ops.mean if reduction == "mean" else ops.sum
    fused = _grads(lambda a, b: ops.mean_squared_error(a, b, reduction=reduction), [p, t])
    composite = _grads(lambda a, b: reduce(ops.square(a - b)), [p, t])
    _same_bits(fused, composite)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_on_class_indices_equals_one_hot_targets_bit_for_bit(dtype, reduction):
    # Class indices without smoothing take a shorter path than probability targets; for finite logits
    # the one-hot form adds only exact zeros and factors of one, so both give the same bits.
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((33, 7)) * 3).astype(dtype)
    labels = rng.integers(0, 7, 33)
    onehot = np.eye(7, dtype=dtype)[labels]
    w = rng.standard_normal(33).astype(dtype)

    def weighted(targets):
        def loss(a):
            out = ops.softmax_cross_entropy(a, targets, reduction=reduction)
            return out if reduction != "none" else ops.sum(out * engine.tensor(w))

        return loss

    _same_bits(_grads(weighted(labels), [x]), _grads(weighted(onehot), [x]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_backward_on_arrays_equals_its_graph_form(dtype):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((9, 5)) * 4).astype(dtype)
    g = rng.standard_normal((9, 5)).astype(dtype)

    def f(a):
        return ops.sum(ops.sigmoid(a) * engine.tensor(g))

    _same_bits(_grads(f, [x]), _grads(f, [x], create_graph=True))


def test_ones_row_is_cached_read_only_and_sums_columns():
    row = ones_row(np, 6, np.float32)
    assert row is ones_row(np, 6, np.float32)
    assert row.dtype == np.float32 and row.shape == (6,) and (row == 1).all()
    assert not row.flags.writeable
    g = np.random.default_rng(3).standard_normal((6, 4)).astype(np.float32)
    assert np.array_equal(row @ g, np.ones(6, np.float32) @ g)
