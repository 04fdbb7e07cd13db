"""Elementwise math: forward vs numpy float64, gradients and double backward, with broadcasting and 0-d."""

import numpy as np
import pytest
from op_check import check_op, randn

import engine
from engine import ops
from engine.autodiff import DTypeError, ShapeError

BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (3,)), ((), ())]

BINARY = {
    "add": (ops.add, np.add),
    "sub": (ops.sub, np.subtract),
    "mul": (ops.mul, np.multiply),
    "div": (ops.div, np.divide),
    "maximum": (ops.maximum, np.maximum),
    "minimum": (ops.minimum, np.minimum),
}


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_binary(backend, name, shapes):
    rng = np.random.default_rng(0)
    op, ref = BINARY[name]
    a = randn(rng, *shapes[0])
    b = randn(rng, *shapes[1], positive=name == "div")
    check_op(backend, op, ref, [a, b], double=True)


def test_operators_match_functions(backend):
    rng = np.random.default_rng(1)
    a, b = randn(rng, 2, 3), randn(rng, 3, positive=True)
    check_op(
        backend,
        lambda x, y: (x + y, x - y, x * y, x / y, -x, x**2.0, 2.0 * x - 1.0 / y, abs(x)),
        lambda x, y: (x + y, x - y, x * y, x / y, -x, x**2, 2 * x - 1 / y, np.abs(x)),
        [a, b],
    )


UNARY = {
    "neg": (ops.neg, np.negative, {}),
    "exp": (ops.exp, np.exp, {}),
    "log": (ops.log, np.log, {"positive": True}),
    "sqrt": (ops.sqrt, np.sqrt, {"positive": True}),
    "abs": (ops.abs, np.abs, {"away_from": 0.0}),
    "square": (ops.square, np.square, {}),
    "reciprocal": (ops.reciprocal, np.reciprocal, {"positive": True}),
    "pow_const": (lambda x: ops.pow(x, 3), lambda x: x**3, {}),
    "pow_frac": (lambda x: ops.pow(x, 0.5), np.sqrt, {"positive": True}),
    "clip": (lambda x: ops.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), {}),
    "clip_lo": (lambda x: ops.clip(x, lo=0.2), lambda x: np.clip(x, 0.2, None), {}),
}


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("shape", [(3, 4), (5,), ()], ids=str)
def test_unary(backend, name, shape):
    rng = np.random.default_rng(2)
    op, ref, kw = UNARY[name]
    x = randn(rng, *shape, **kw)
    if name.startswith("clip"):  # keep away from the clip bounds (kinks)
        x = np.where(np.abs(x + 0.5) < 0.05, x + 0.1, x)
        x = np.where(np.abs(x - 0.7) < 0.05, x + 0.1, x)
        x = np.where(np.abs(x - 0.2) < 0.05, x + 0.1, x)
    check_op(backend, op, ref, [x], double=True)


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1), (4,)), ((), ())], ids=str)
def test_pow_tensor_exponent(backend, shapes):
    rng = np.random.default_rng(3)
    a = randn(rng, *shapes[0], positive=True)
    b = randn(rng, *shapes[1])
    check_op(backend, ops.pow, np.power, [a, b], double=True)


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1)), ((), (), ())], ids=str)
def test_where(backend, shapes):
    rng = np.random.default_rng(4)
    cond = rng.random(shapes[0]) > 0.5
    a, b = randn(rng, *shapes[1]), randn(rng, *shapes[2])
    check_op(
        backend, lambda x, y: ops.where(cond, x, y), lambda x, y: np.where(cond, x, y), [a, b], double=True
    )


def test_sign_has_no_gradient(backend):
    x = engine.tensor(backend.from_host(np.array([-2.0, 0.0, 3.0])), requires_grad=True)
    s = ops.sign(x)
    assert not s.requires_grad
    np.testing.assert_array_equal(s.numpy(), [-1, 0, 1])


def test_astype_between_floats(backend):
    rng = np.random.default_rng(5)
    x = randn(rng, 3, 2)
    check_op(
        backend,
        lambda t: ops.astype(ops.astype(t, np.float32), np.float64) * t,
        lambda t: t * t,
        [x],
        fwd_rtol=1e-6,
        f32=False,
        eps=1e-3,
        atol=1e-3,
    )  # float32 rounding: a coarser check
    y = ops.astype(engine.tensor(backend.from_host(x)), np.float32)
    assert y.dtype == np.float32


def test_maximum_tie_sends_gradient_to_first_operand():
    a = engine.tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = engine.tensor(np.array([1.0, 1.0]), requires_grad=True)
    ops.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1, 1])
    np.testing.assert_array_equal(b.grad.numpy(), [0, 0])


def test_clip_rejects_inverted_bounds():
    with pytest.raises(ValueError, match="clip"):
        ops.clip(engine.tensor([1.0]), 2.0, 1.0)


def test_mixed_float_dtypes_are_rejected_with_shapes():
    a = engine.tensor(np.ones((2, 3), np.float32))
    b = engine.tensor(np.ones((3,), np.float64))
    with pytest.raises(DTypeError, match=r"add.*float32\(2, 3\).*float64\(3,\)"):
        ops.add(a, b)


def test_broadcast_mismatch_names_the_op_and_shapes():
    with pytest.raises(ShapeError, match=r"^add: .*operand shapes \(2, 3\), \(4,\)"):
        engine.tensor(np.ones((2, 3))) + engine.tensor(np.ones(4))
