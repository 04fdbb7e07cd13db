"""Reductions over axes with keepdims, their double backward, and the pair sum_to / broadcast_to."""

import numpy as np
import pytest
from op_check import check_op, randn

import engine
from engine import ops
from engine.autodiff import ShapeError


def _np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    y = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return y if keepdims else np.squeeze(y, axis=axis) if axis is not None else y.reshape(())


REDUCTIONS = {
    "sum": (ops.sum, np.sum),
    "mean": (ops.mean, np.mean),
    "max": (ops.max, np.max),
    "min": (ops.min, np.min),
    "var": (ops.var, np.var),
    "std": (ops.std, np.std),
    "logsumexp": (ops.logsumexp, _np_logsumexp),
}

CASES = [((2, 3, 4), None), ((2, 3, 4), 0), ((2, 3, 4), -1), ((2, 3, 4), (0, 2)), ((5,), 0), ((), None)]


@pytest.mark.parametrize("name", list(REDUCTIONS))
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_reduction(backend, name, keepdims, case):
    shape, axis = case
    if name == "std" and (shape == () or shape == (5,) and axis is None):
        shape = (5,)  # std of a single element is sqrt(0): no finite gradient there
    op, ref = REDUCTIONS[name]
    x = randn(np.random.default_rng(0), *shape)
    check_op(
        backend,
        lambda t: op(t, axis=axis, keepdims=keepdims),
        lambda a: ref(a, axis=axis, keepdims=keepdims),
        [x],
        double=True,
    )


def test_var_ddof(backend):
    x = randn(np.random.default_rng(1), 4, 3)
    check_op(
        backend, lambda t: ops.var(t, axis=0, ddof=1), lambda a: np.var(a, axis=0, ddof=1), [x], double=True
    )


def test_max_ties_share_the_gradient():
    x = engine.tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]), requires_grad=True)
    ops.max(x, axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1, 0, 0]])


def test_logsumexp_is_finite_for_huge_inputs(backend):
    x = engine.tensor(backend.from_host(np.array([[1e4, -1e4, 0.0], [1e4, 1e4, 1e4]])), requires_grad=True)
    y = ops.logsumexp(x, axis=1)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), [1e4, 1e4 + np.log(3)])
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_argmax_argmin_have_no_gradient(backend, axis):
    x = randn(np.random.default_rng(2), 3, 4)
    t = engine.tensor(backend.from_host(x), requires_grad=True)
    for op, ref in ((ops.argmax, np.argmax), (ops.argmin, np.argmin)):
        r = op(t, axis=axis)
        assert not r.requires_grad
        np.testing.assert_array_equal(r.numpy(), ref(x, axis=axis))


@pytest.mark.parametrize(
    "shapes", [((4, 3), (3,)), ((2, 3, 4), (3, 1)), ((3,), ()), ((5, 1), (1, 1))], ids=str
)
def test_sum_to_and_broadcast_to(backend, shapes):
    big, small = shapes
    rng = np.random.default_rng(3)
    x = randn(rng, *big)

    def np_sum_to(a):
        lead = a.ndim - len(small)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, s in enumerate(small) if s == 1 and a.shape[i + lead] != 1
        )
        return a.sum(axis=axes, keepdims=True).reshape(small)

    check_op(backend, lambda t: ops.sum_to(t, small), np_sum_to, [x], double=True)
    y = randn(rng, *small)
    check_op(backend, lambda t: ops.broadcast_to(t, big), lambda a: np.broadcast_to(a, big), [y], double=True)


def test_sum_down_a_long_short_axis_uses_the_fast_path(backend):
    x = randn(np.random.default_rng(4), 300, 5)
    check_op(backend, lambda t: ops.sum(t, axis=0), lambda a: a.sum(axis=0), [x], fwd_rtol=1e-6)


def test_bad_axis_and_empty_mean_are_named():
    with pytest.raises(ShapeError, match="sum: axis 3"):
        ops.sum(engine.tensor(np.ones((2, 2))), axis=3)
    with pytest.raises(ShapeError, match="mean: reducing over an empty axis"):
        ops.mean(engine.tensor(np.ones((0, 2))), axis=0)
    with pytest.raises(ShapeError, match="broadcast_to"):
        ops.broadcast_to(engine.tensor(np.ones(3)), (2, 4))
