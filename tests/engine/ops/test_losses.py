"""Losses: values vs float64 numpy formulas, gradients (fused cross-entropy backward), double backward,
stability at logits of magnitude 1e4, and clear errors for bad targets."""

import numpy as np
import pytest
from op_check import check_op, randn

import engine
from engine import ops
from engine.autodiff import DTypeError, ShapeError


def _np_ce(x, q, smoothing=0.0):
    c = x.shape[1]
    q = (1 - smoothing) * q + smoothing / c
    m = x.max(axis=1, keepdims=True)
    logp = x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))
    return -(q * logp).sum(axis=1)


def _reduce(v, reduction):
    return v.mean() if reduction == "mean" else v.sum() if reduction == "sum" else v


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kind", ["index", "onehot", "soft"])
def test_softmax_cross_entropy(backend, smoothing, reduction, kind):
    rng = np.random.default_rng(0)
    n, c = 4, 5
    x = randn(rng, n, c) * 2
    idx = rng.integers(0, c, n)
    q = {"index": np.eye(c)[idx], "onehot": np.eye(c)[idx], "soft": rng.dirichlet(np.ones(c), n)}[kind]
    targets = idx if kind == "index" else q

    def f(t):
        return ops.softmax_cross_entropy(t, targets, label_smoothing=smoothing, reduction=reduction)

    check_op(backend, f, lambda a: _reduce(_np_ce(a, q, smoothing), reduction), [x], double=True)


def test_cross_entropy_targets_may_be_tensors(backend):
    x = randn(np.random.default_rng(1), 3, 4)
    t = engine.tensor(backend.from_host(np.array([0, 3, 1])))
    check_op(
        backend,
        lambda a: ops.softmax_cross_entropy(a, t),
        lambda a: _np_ce(a, np.eye(4)[[0, 3, 1]]).mean(),
        [x],
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_finite_at_huge_logits(backend, dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, -1e4]], dtype)
    for targets in (np.array([1, 0, 2]), np.eye(3, dtype=dtype)[[0, 1, 2]]):
        t = engine.tensor(backend.from_host(x), requires_grad=True)
        loss = ops.softmax_cross_entropy(t, backend.from_host(targets), label_smoothing=0.1)
        loss.backward()
        assert np.isfinite(loss.item())
        assert np.isfinite(t.grad.numpy()).all()
    t = engine.tensor(backend.from_host(x), requires_grad=True)
    loss = ops.softmax_cross_entropy(t, np.array([0, 1, 0]), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, np.log(2), np.log(2)], atol=1e-6)


def test_cross_entropy_bad_targets_name_op_and_shapes():
    x = engine.tensor(np.zeros((3, 4)))
    with pytest.raises(
        ValueError, match=r"softmax_cross_entropy: class index out of range.*\[0, 4\].*\(3, 4\)"
    ):
        ops.softmax_cross_entropy(x, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"out of range.*\[-1, 1\]"):
        ops.softmax_cross_entropy(x, np.array([0, -1, 1]))
    with pytest.raises(
        ShapeError, match=r"softmax_cross_entropy: integer targets must have shape \(3,\).*\(2,\)"
    ):
        ops.softmax_cross_entropy(x, np.array([0, 1]))
    with pytest.raises(
        ShapeError, match=r"probability targets must have the logits' shape \(3, 4\), got \(3, 5\)"
    ):
        ops.softmax_cross_entropy(x, np.zeros((3, 5)))
    with pytest.raises(ShapeError, match=r"logits must have shape \(N, C\), got \(4,\)"):
        ops.softmax_cross_entropy(engine.tensor(np.zeros(4)), np.array([0]))
    with pytest.raises(ValueError, match="reduction"):
        ops.softmax_cross_entropy(x, np.array([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        ops.softmax_cross_entropy(x, np.array([0, 1, 2]), label_smoothing=1.0)
    with pytest.raises(DTypeError, match="softmax_cross_entropy"):
        ops.softmax_cross_entropy(x, np.array(["a", "b", "c"]))


ELEMENTWISE = {
    "mse": (ops.mean_squared_error, lambda p, t: (p - t) ** 2),
    "l1": (ops.l1_loss, lambda p, t: np.abs(p - t)),
    "huber": (
        ops.huber_loss,
        lambda p, t: np.where(np.abs(p - t) <= 1, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5),
    ),
    "huber_0.3": (
        lambda p, t, reduction="mean": ops.huber_loss(p, t, 0.3, reduction=reduction),
        lambda p, t: np.where(np.abs(p - t) <= 0.3, 0.5 * (p - t) ** 2, 0.3 * (np.abs(p - t) - 0.15)),
    ),
    "bce_logits": (
        ops.binary_cross_entropy_with_logits,
        lambda x, t: -(t * np.log(1 / (1 + np.exp(-x))) + (1 - t) * np.log(1 - 1 / (1 + np.exp(-x)))),
    ),
}


@pytest.mark.parametrize("name", list(ELEMENTWISE))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(4, 3), (5,), ()], ids=str)
def test_elementwise_loss(backend, name, reduction, shape):
    rng = np.random.default_rng(2)
    op, ref = ELEMENTWISE[name]
    p = randn(rng, *shape) * 2
    t = rng.random(shape) if name == "bce_logits" else randn(rng, *shape)
    if name.startswith("huber") or name == "l1":  # keep |p - t| away from the kinks at 0 and delta
        d = p - t
        for k in (0.0, 0.3, 1.0):
            p = np.where(np.abs(np.abs(d) - k) < 0.05, p + 0.2, p)
            d = p - t
    check_op(
        backend,
        lambda a, b: op(a, b, reduction=reduction),
        lambda a, b: _reduce(ref(a, b), reduction),
        [p, t],
        double=True,
    )


def test_losses_accept_integer_or_float64_constant_targets(backend):
    p = engine.tensor(backend.from_host(np.array([0.5, 1.5], np.float32)), requires_grad=True)
    loss = ops.mean_squared_error(p, backend.from_host(np.array([1, 1])))
    assert loss.dtype == np.float32
    loss.backward()
    np.testing.assert_allclose(p.grad.numpy(), [-0.5, 0.5])


def test_bce_with_logits_is_stable(backend):
    x = engine.tensor(backend.from_host(np.array([1e4, -1e4, 30.0])), requires_grad=True)
    loss = ops.binary_cross_entropy_with_logits(
        x, backend.from_host(np.array([0.0, 1.0, 1.0])), reduction="none"
    )
    loss.sum().backward()
    np.testing.assert_allclose(loss.numpy(), [1e4, 1e4, np.log1p(np.exp(-30.0))])
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, -np.exp(-30.0)], atol=1e-15)


def test_elementwise_loss_errors():
    a, b = engine.tensor(np.zeros((2, 3))), engine.tensor(np.zeros((3, 2)))
    with pytest.raises(
        ShapeError, match=r"mean_squared_error: predictions of shape \(2, 3\) and targets of shape \(3, 2\)"
    ):
        ops.mean_squared_error(a, b)
    with pytest.raises(ValueError, match="huber_loss.*delta"):
        ops.huber_loss(a, a, delta=0)
    with pytest.raises(ValueError, match="l1_loss.*reduction"):
        ops.l1_loss(a, a, reduction="max")


def test_cross_entropy_checks_labels_wherever_they_live(backend):
    # host labels (numpy or a list) are checked before upload; device labels with one fused comparison
    x = engine.tensor(backend.from_host(np.zeros((3, 4))))
    for labels in ([0, 5, 1], np.array([0, 5, 1]), backend.from_host(np.array([0, 5, 1]))):
        with pytest.raises(ValueError, match=r"class index out of range.*\[0, 5\]"):
            ops.softmax_cross_entropy(x, labels)
    assert np.isfinite(ops.softmax_cross_entropy(x, backend.from_host(np.array([0, 3, 1]))).item())


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, ">i4"])
def test_cross_entropy_label_check_for_every_integer_dtype(dtype):
    # host labels are checked in one pass (read as unsigned, a negative index is large): the edges
    x = engine.tensor(np.zeros((3, 4), np.float32))
    assert np.isfinite(ops.softmax_cross_entropy(x, np.array([0, 3, 1], dtype)).item())
    bad = [[0, 4, 1]] if np.dtype(dtype).kind == "u" else [[0, 4, 1], [0, -1, 1], [-128, 0, 1]]
    for labels in bad:
        with pytest.raises(ValueError, match="class index out of range"):
            ops.softmax_cross_entropy(x, np.array(labels, dtype))
