"""The optional compiled (numba) kernels: bit for bit the numpy code's results, on every memory order,
odd sizes and special values; the pooling and convolution tests rerun with the kernels on; without
numba a warning and the numpy code."""

import sys

import numpy as np
import pytest
from op_check import check_op, randn
from test_conv import test_conv2d, test_lowered_kernels_match_the_nchw_kernels  # noqa: F401 (rerun below)
from test_pooling import (  # noqa: F401 (rerun below with the compiled kernels)
    test_max_pool2d,
    test_max_pool_tie_goes_to_the_first_maximum,
    test_pair_max_pool_gradients_and_double_backward,
    test_pair_max_pool_with_many_ties_routes_to_the_first_maximum,
)
from test_relu_max_pool import (  # noqa: F401
    _in_order,
    test_pair_pool_gradient_is_the_same_for_every_memory_order,
    test_relu_max_pool2d_equals_the_unfused_pair_bit_for_bit,
    test_relu_max_pool2d_gradients_and_double_backward,
    test_relu_max_pool2d_without_a_graph,
)

import engine
from engine import ops
from engine.ops import compiled

pytest.importorskip("numba")


@pytest.fixture(autouse=True)
def numba_kernels(monkeypatch):
    """Every test here (the imported ones too) runs with the compiled kernels asked for; the process's
    choice (none, or SIGMA_KERNELS's) comes back after, so later tests see the process as it was."""
    monkeypatch.setattr(compiled, "_chosen", compiled.choice())
    monkeypatch.setattr(compiled, "_wanted", compiled._wanted)
    compiled.set_kernels("numba")


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def assert_same_bits(a, b):
    """Equal values, signs of zero and NaN payloads, in the same memory layout."""
    assert a.shape == b.shape and a.dtype == b.dtype and a.strides == b.strides
    np.testing.assert_array_equal(_bits(a), _bits(b))


def _with_specials(rng, shape, dtype):
    """Small integers (many ties, all-negative windows) with NaN, +-0 and +-inf sprinkled in."""
    x = rng.integers(-2, 3, size=shape).astype(dtype)
    flat = x.reshape(-1)
    for value in (np.nan, -0.0, 0.0, np.inf, -np.inf, -0.0):
        flat[rng.integers(0, flat.size, size=max(1, flat.size // 40))] = value
    return x


def _pool_both_ways(op, x, g):
    results = []
    for kernels in ("numpy", "numba"):
        compiled.set_kernels(kernels)
        t = engine.tensor(x.copy(), requires_grad=True)
        y = op(t, 2)
        with np.errstate(invalid="ignore"):  # inf * 0 (a masked-off infinite gradient) is NaN
            y.backward(g)
        results.append((y.data, t.grad.data))
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(2, 3, 6, 8), (1, 2, 5, 7), (3, 16, 14, 14), (2, 5, 7, 6)], ids=str)
@pytest.mark.parametrize("op", [ops.relu_max_pool2d, ops.max_pool2d], ids=["relu_max_pool2d", "max_pool2d"])
def test_pair_pool_kernels_equal_the_numpy_code_bit_for_bit(op, shape, dtype):
    rng = np.random.default_rng(sum(shape))
    x = _with_specials(rng, shape, dtype)
    g = _with_specials(rng, (shape[0], shape[1], shape[2] // 2, shape[3] // 2), dtype)
    for x_last in (False, True):
        for g_last in (False, True):
            (y0, gx0), (y1, gx1) = _pool_both_ways(op, _in_order(x, x_last), _in_order(g, g_last))
            assert_same_bits(y1, y0)
            assert_same_bits(gx1, gx0)


def test_pair_pool_kernel_runs_only_where_it_applies():
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 8)).astype(np.float32)
    assert compiled.pair_pool(x, True) is not None
    assert compiled.pair_pool(x[:, :, ::2], True) is None  # neither NCHW nor channels-last memory
    assert compiled.pair_pool(x.astype(np.float16), True) is None
    assert compiled.pair_pool(x.astype(np.int32), False) is None
    compiled.set_kernels("numpy")
    assert compiled.pair_pool(x, True) is None and not compiled.enabled()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize(
    "kernel, padding, dilation",
    [((3, 3), 1, 1), ((3, 3), 0, 1), ((2, 3), "same", 1), ((3, 3), 2, 2), ((1, 1), 0, 1)],
    ids=str,
)
def test_lowered_col2im_kernel_equals_the_numpy_code_bit_for_bit(kernel, padding, dilation, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 8, 7, 9)).astype(dtype)
    w = rng.standard_normal((5, 8, *kernel)).astype(dtype)
    results, g = [], None
    for kernels in ("numpy", "numba"):
        compiled.set_kernels(kernels)
        t = engine.tensor(x, requires_grad=True)
        y = ops.conv2d(t, engine.tensor(w), padding=padding, dilation=dilation)
        g = rng.standard_normal(y.shape).astype(dtype) if g is None else g
        y.backward(g)
        results.append(t.grad.data)
    np.testing.assert_array_equal(_bits(results[1]), _bits(results[0]))


def test_float64_gradients_of_a_pooled_convolution_with_the_kernels(backend):
    # conv (lowered: 8 channels) -> ReLU + 2x2 pooling, checked against central differences, with the
    # double backward (which makes the pooling's winner masks on demand)
    rng = np.random.default_rng(4)
    x, w = randn(rng, 2, 8, 6, 6), randn(rng, 4, 8, 3, 3)
    check_op(
        backend,
        lambda a, b: ops.relu_max_pool2d(ops.conv2d(a, b, padding=1), 2),
        None,
        [x, w],
        double=True,
    )


def test_a_cnn_gets_the_same_gradient_bits_with_either_kernels():
    from engine.layers import Conv2D, Dense, Flatten, Input, MaxPool2D
    from engine.network import Network

    x = np.random.default_rng(5).standard_normal((6, 1, 12, 12)).astype(np.float32)
    grads = []
    for kernels in ("numpy", "numba"):
        compiled.set_kernels(kernels)
        arch = (  # new layers each time (a network's parameters live in its layers)
            Input((1, 12, 12))
            + Conv2D(8, 3, padding="same", activation="relu")
            + MaxPool2D(2)
            + Conv2D(8, 3, padding="same", activation="relu")
            + MaxPool2D(2)
            + Flatten()
            + Dense(3)
        )
        net = Network(arch, seed=0)
        loss = ops.sum(ops.mul(net(engine.tensor(x)), net(engine.tensor(x))))
        loss.backward()
        grads.append({name: p.grad.data.copy() for name, p in net.parameters().items()})
    for name, g in grads[0].items():
        np.testing.assert_array_equal(_bits(grads[1][name]), _bits(g), err_msg=name)


def test_without_numba_a_warning_and_the_numpy_code(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # as if numba were not installed
    monkeypatch.delitem(sys.modules, "engine.ops.compiled_kernels", raising=False)
    monkeypatch.delattr(engine.ops, "compiled_kernels", raising=False)
    monkeypatch.setattr(compiled, "_kernels", None)
    monkeypatch.setattr(compiled, "_reason", None)
    x = np.random.default_rng(6).standard_normal((1, 2, 4, 4)).astype(np.float32)
    with pytest.warns(UserWarning, match=r"compiled kernels asked for but numba cannot be imported .*fast"):
        y = ops.relu_max_pool2d(engine.tensor(x), 2)
    assert not compiled.enabled() and "numba" in compiled.reason()
    compiled.set_kernels("numpy")
    np.testing.assert_array_equal(y.numpy(), ops.relu_max_pool2d(engine.tensor(x), 2).numpy())


def test_kernel_names_are_checked():
    with pytest.raises(ValueError, match="Expected 'compiled', 'numba' or 'numpy'"):
        compiled.set_kernels("fast")
