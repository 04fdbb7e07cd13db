"""The autodiff core: the backward walk, accumulation, modes, the functional API and its errors."""

import threading

import numpy as np
import pytest

import engine
from engine import ops
from engine.autodiff import DTypeError, GraphError, ShapeError, gradients


def leaf(x, backend=None, **kw):
    data = np.asarray(x, dtype=np.float64)
    if backend is not None:
        data = backend.from_host(data)
    return engine.tensor(data, requires_grad=True, **kw)


def test_ten_thousand_op_chain_backward_is_iterative(backend):
    x = leaf(1.0, backend)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0001**10_000, rtol=1e-9)


def test_fan_out_accumulates(backend):
    x = leaf([1.0, 2.0], backend)
    y = x * x + 3.0 * x + ops.exp(x)  # x used four times
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1, 2]) + 3 + np.exp([1, 2]))


def test_gradients_accumulate_over_backward_calls():
    x = leaf([1.0, -1.0])
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5, 5])
    x.zero_grad()
    assert x.grad is None


def test_broadcast_gradients_are_summed_to_the_input_shape(backend):
    a = leaf(np.ones((2, 3, 4)), backend)
    b = leaf(np.ones((3, 1)), backend)
    c = leaf(2.0, backend)
    (a * b * c).sum().backward()
    assert b.grad.shape == (3, 1) and c.grad.shape == ()
    np.testing.assert_allclose(b.grad.numpy(), np.full((3, 1), 8 * 2.0))
    np.testing.assert_allclose(c.grad.item(), 24.0)
    np.testing.assert_allclose(a.grad.numpy(), np.full((2, 3, 4), 2.0))


def test_no_grad_records_nothing_and_is_thread_local():
    x = leaf([1.0])
    seen = {}

    def other_thread():
        seen["requires_grad"] = (x * 2.0).requires_grad

    with engine.no_grad():
        y = x * 2.0
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        with engine.enable_grad():
            z = x * 2.0
    assert not y.requires_grad and y.creator is None
    assert z.requires_grad
    assert seen["requires_grad"] is True
    with pytest.raises(GraphError, match="does not require gradients"):
        y.sum().backward()


def test_detach_cuts_the_graph():
    x = leaf([2.0])
    y = (x * x).detach()
    assert y.is_leaf and not y.requires_grad
    (x * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0])  # y is a constant 4


def test_second_backward_without_retain_graph_fails_clearly():
    x = leaf([1.0, 2.0])
    y = (ops.exp(x) * x).sum()
    y.backward()
    with pytest.raises(GraphError, match="a second time.*retain_graph=True"):
        y.backward()
    z = (ops.exp(x) * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1, 2]) * (1 + np.array([1, 2])) * 3)


def test_retain_grad_keeps_an_intermediate_gradient():
    x = leaf([1.0, 2.0])
    h = (x * 3.0).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * 3 * np.array([1.0, 2.0]))


def test_grad_and_value_and_grad_with_argnums(backend):
    def f(a, b, c):
        return (a * b * c).sum()

    a, b, c = (backend.from_host(np.array(v)) for v in ([1.0, 2.0], [3.0, 4.0], [5.0, 6.0]))
    g0 = engine.grad(f)(a, b, c)
    np.testing.assert_allclose(g0.numpy(), np.array([3, 4]) * np.array([5, 6]))
    value, (gb, gc) = engine.value_and_grad(f, argnums=(1, 2))(a, b, c)
    np.testing.assert_allclose(value.item(), 1 * 3 * 5 + 2 * 4 * 6)
    np.testing.assert_allclose(gb.numpy(), [5, 12])
    np.testing.assert_allclose(gc.numpy(), [3, 8])
    gneg = engine.grad(f, argnums=-1)(a, b, c)
    np.testing.assert_allclose(gneg.numpy(), gc.numpy())
    with pytest.raises(IndexError, match="argnums=5"):
        engine.grad(f, argnums=5)(a, b, c)


def test_nested_grad_gives_second_and_third_derivatives(backend):
    def f(x):
        return (x * x * x * x).sum()  # x^4

    x = backend.from_host(np.array([1.5, -2.0]))
    d1 = engine.grad(f)
    d2 = engine.grad(lambda t: d1(t).sum())
    d3 = engine.grad(lambda t: d2(t).sum())
    np.testing.assert_allclose(d1(x).numpy(), 4 * np.array([1.5, -2.0]) ** 3)
    np.testing.assert_allclose(d2(x).numpy(), 12 * np.array([1.5, -2.0]) ** 2)
    np.testing.assert_allclose(d3(x).numpy(), 24 * np.array([1.5, -2.0]))


def test_backward_with_create_graph_allows_gradients_of_gradients():
    x = leaf([0.3, -0.7])
    y = (ops.tanh(x) * x).sum()
    (gx,) = gradients([y], [x], create_graph=True)
    (ggx,) = gradients([gx.sum()], [x])
    t = np.tanh([0.3, -0.7])
    xs = np.array([0.3, -0.7])
    # d/dx (tanh + x sech^2) = 2 sech^2 - 2 x tanh sech^2
    np.testing.assert_allclose(ggx.numpy(), 2 * (1 - t**2) - 2 * xs * t * (1 - t**2))


def test_gradients_stop_at_their_targets():
    """gradients() w.r.t. an intermediate must not run backward upstream of it (that graph may be freed)."""
    x = leaf([1.0, 2.0])
    h = ops.exp(x)
    h.sum().backward()  # frees the exp node
    (gh,) = gradients([(h * h).sum()], [h])
    np.testing.assert_allclose(gh.numpy(), 2 * np.exp([1.0, 2.0]))


def test_gradients_of_a_target_through_another_target():
    x = leaf([2.0])
    y = x * x
    gx, gy = gradients([(y * x).sum()], [x, y])
    np.testing.assert_allclose(gy.numpy(), [2.0])
    np.testing.assert_allclose(gx.numpy(), [3 * 4.0])  # d(x^3)/dx, including the path through y


def test_gradients_of_unrelated_inputs_are_zero():
    x, z = leaf([1.0]), leaf([[1.0, 2.0]])
    gx, gz = gradients([(x * 2.0).sum()], [x, z])
    np.testing.assert_allclose(gz.numpy(), np.zeros((1, 2)))


# ---------------------------------------------------------------------- bad input
def test_shape_mismatch_names_op_and_shapes():
    with pytest.raises(ShapeError, match=r"mul: .*\(2, 3\), \(2,\)"):
        leaf(np.ones((2, 3))) * leaf(np.ones(2))
    with pytest.raises(ShapeError, match=r"matmul: shapes \(2, 3\) and \(2, 3\)"):
        leaf(np.ones((2, 3))) @ leaf(np.ones((2, 3)))


def test_float32_and_float64_do_not_mix():
    a = engine.tensor(np.ones(3, np.float32), requires_grad=True)
    b = engine.tensor(np.ones(3, np.float64))
    with pytest.raises(
        DTypeError, match=r"mul: operands have different floating dtypes \(float32\(3,\), float64\(3,\)\)"
    ):
        a * b
    # Python numbers take the tensor's dtype
    assert (a * 2.5).dtype == np.float32


def test_backward_on_non_scalar_needs_a_gradient():
    y = leaf(np.ones((2, 2))) * 2.0
    with pytest.raises(GraphError, match=r"non-scalar tensor of shape \(2, 2\) needs an explicit gradient"):
        y.backward()
    with pytest.raises(GraphError, match=r"gradient shape \(3,\) does not match tensor shape \(2, 2\)"):
        y.backward(np.ones(3))
    y.backward(np.ones((2, 2)))
    with pytest.raises(GraphError, match="must return a scalar"):
        engine.grad(lambda t: t * 2.0)(np.ones(2))


def test_integer_tensor_cannot_require_gradients():
    with pytest.raises(DTypeError, match=r"int64 with shape \(3,\) cannot require gradients"):
        engine.tensor(np.arange(3), requires_grad=True)


def test_integer_tensors_flow_through_without_gradients():
    x = leaf([1.0, 2.0])
    y = x * engine.tensor(np.array([2, 3]))
    assert y.dtype == np.float64
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2, 3])
