"""Convolution, pooling and reshape: the raw-array backward passes and the cached geometry change no bit.

When no graph of the backward is wanted (``create_graph`` off, every training step), these ops compute
their input gradients on raw arrays instead of through the differentiable gradient Functions; with
``create_graph`` on they take the Function form. Both must give the same bits, in float32 and float64,
on every kernel path (NCHW im2col, channels-last lowered, strided col2im, groups, the 2x2 pair pooling
and the general window pooling, ReLU fused into pooling).
"""

import numpy as np
import pytest

import engine
from engine import ops
from engine.autodiff.errors import ShapeError
from engine.ops import conv as conv_mod
from engine.ops import pooling as pool_mod
from engine.ops import window_geometry

DTYPES = [np.float32, np.float64]


def _grads(fn, arrays, create_graph, constant=()):
    """Value of ``sum(fn(...) * r)`` for a fixed random ``r``, and the gradients of the inputs that
    are not in ``constant`` (indices); ``create_graph`` takes the Function paths."""
    ts = [engine.tensor(a, requires_grad=i not in constant) for i, a in enumerate(arrays)]
    y = fn(*ts)
    r = np.random.default_rng(9).standard_normal(y.shape).astype(y.dtype)
    out = ops.sum(y * engine.tensor(r))
    out.backward(create_graph=create_graph)
    return [y.numpy(), out.numpy()] + [t.grad.numpy() for i, t in enumerate(ts) if i not in constant]


def _same_bits(fn, arrays, constant=(), skip=()):
    """The raw and graph paths agree bit for bit, except the gradients of inputs ``skip`` (indices)."""
    raw = _grads(fn, arrays, False, constant)
    graph = _grads(fn, arrays, True, constant)
    kept = [i for i in range(len(arrays)) if i not in constant]
    for k in reversed([2 + kept.index(i) for i in skip]):
        assert np.allclose(raw.pop(k), graph.pop(k), rtol=1e-5)
    for g, w in zip(raw, graph, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        assert g.tobytes() == w.tobytes(), "not the same bits"


CONVS = {
    "nchw-same": dict(c=2, o=3, k=3, stride=1, padding="same", groups=1),
    "lowered-same": dict(c=8, o=5, k=3, stride=1, padding="same", groups=1),
    "lowered-dilated": dict(c=8, o=4, k=3, stride=1, padding=2, groups=1, dilation=2),
    "strided": dict(c=3, o=4, k=3, stride=2, padding=1, groups=1),
    "groups": dict(c=4, o=6, k=3, stride=1, padding=1, groups=2),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", CONVS, ids=str)
def test_conv2d_backward_on_arrays_equals_its_graph_form(dtype, bias, case):
    p = dict(CONVS[case])
    c, o, k, groups = p.pop("c"), p.pop("o"), p.pop("k"), p["groups"]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, c, 7, 6)), rng.standard_normal((o, c // groups, k, k))]
    if bias:
        arrays.append(rng.standard_normal(o))
    arrays = [a.astype(dtype) for a in arrays]
    # A bias gradient has a differentiable form (sum) and a faster one (products with ones) that may
    # differ in the last bits; both predate the raw paths, which leave it as it was.
    skip = (2,) if bias else ()
    _same_bits(lambda *t: ops.conv2d(*t, **p), arrays, skip=skip)
    # A network's first convolution: the input needs no gradient.
    _same_bits(lambda *t: ops.conv2d(*t, **p), arrays, constant=(0,), skip=skip)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv1d_backward_on_arrays_equals_its_graph_form(dtype):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(dtype) for s in ((3, 4, 11), (5, 4, 3), (5,))]
    _same_bits(lambda *t: ops.conv1d(*t, stride=2, padding=1), arrays, skip=(2,))


POOLS = {
    "pair": dict(kernel_size=2),
    "pair-odd-input": dict(kernel_size=2, size=(7, 9)),
    "overlapping-padded": dict(kernel_size=3, stride=2, padding=1),
    "strided-rect": dict(kernel_size=(2, 3), stride=(1, 2)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("relu", [False, True], ids=["max", "relu_max"])
@pytest.mark.parametrize("case", POOLS, ids=str)
def test_max_pooling_backward_on_arrays_equals_its_graph_form(dtype, relu, case):
    p = dict(POOLS[case])
    size = p.pop("size", (8, 6))
    pool = ops.relu_max_pool2d if relu else ops.max_pool2d
    x = np.random.default_rng(2).standard_normal((3, 2, *size)).astype(dtype)
    x[0, 0, :2, :2] = 0.5  # ties: the first maximum in row-major order gets the gradient
    _same_bits(lambda t: pool(t, **p), [x])


@pytest.mark.parametrize("dtype", DTYPES)
def test_channels_last_convolution_into_pooling_and_flatten_equals_its_graph_form(dtype):
    # W2's layout: a lowered convolution's channels-last output, ReLU folded into 2x2 pooling, flatten.
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s).astype(dtype) for s in ((2, 8, 8, 8), (6, 8, 3, 3), (6,))]

    def net(x, w, b):
        return ops.flatten(ops.relu_max_pool2d(ops.conv2d(x, w, b, padding="same"), 2))

    _same_bits(net, arrays, constant=(0,), skip=(2,))
    _same_bits(net, arrays, skip=(2,))


def test_double_backward_still_flows_through_convolution_and_pooling():
    # The raw paths are for create_graph off only: with it on, the gradient is itself differentiable.
    rng = np.random.default_rng(4)
    x = engine.tensor(rng.standard_normal((1, 2, 6, 6)), requires_grad=True)
    w = engine.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    y = ops.sum(ops.square(ops.flatten(ops.max_pool2d(ops.conv2d(x, w, padding=1), 2))))
    (gx,) = engine.gradients(y, [x], create_graph=True)
    assert gx.requires_grad and gx.creator is not None
    (ggw,) = engine.gradients(ops.sum(ops.square(gx)), [w])
    assert np.isfinite(ggw.numpy()).all() and np.abs(ggw.numpy()).sum() > 0


def test_geometry_is_made_once_per_arguments_and_their_types():
    a = conv_mod.make_geometry("conv2d", (8, 8), (3, 3), 2, "same", 1, 1)
    assert conv_mod.make_geometry("conv2d", (8, 8), (3, 3), 2, "same", 1, 1) is a
    assert conv_mod.make_geometry("conv2d", (9, 8), (3, 3), 2, "same", 1, 1).pads == ((1, 1), (0, 1))
    # Lists (unhashable) are not cached, and give the same geometry.
    assert conv_mod.make_geometry("conv2d", [8, 8], [3, 3], [2, 2], "same", [1, 1], 1) == a
    # An argument equal to an accepted one, of a type the checks reject, is still rejected.
    conv_mod.make_geometry("conv2d", (8, 8), (3, 3), 2, 0, 1, 1)
    with pytest.raises(TypeError):
        conv_mod.make_geometry("conv2d", (8, 8), (3, 3), 2.0, 0, 1, 1)
    x = engine.tensor(np.zeros((1, 1, 8, 8), dtype=np.float32))
    ops.max_pool2d(x, 2)
    with pytest.raises(TypeError):
        ops.max_pool2d(x, 2.0)
    # Errors are raised every time, never cached.
    for _ in range(2):
        with pytest.raises(ShapeError):
            ops.max_pool2d(engine.tensor(np.zeros((1, 1, 1, 1), dtype=np.float32)), 2)
        with pytest.raises(ValueError, match="padding"):
            ops.max_pool2d(x, 2, padding=2)


def test_geometry_caches_stay_bounded():
    for size in range(window_geometry.GEOMETRIES_MAX + 10):
        conv_mod.make_geometry("conv2d", (size + 3, 4), (3, 3), 1, 0, 1, 1)
        pool_mod._geometry("max_pool2d", engine.tensor(np.zeros((1, 1, size + 2, 2))), 2, None, 0)
    assert len(window_geometry._GEOMETRIES) <= window_geometry.GEOMETRIES_MAX
    assert len(pool_mod._GEOMETRIES) <= window_geometry.GEOMETRIES_MAX


def _padded_col2im(taps, geom, x_shape):
    """The lowered input gradient's col2im as it was: every tap added into the padded gradient, from
    zero, in tap order, and the padding cut off after."""
    kk, n, ho, wo, c = taps.shape
    h, w = x_shape[2:]
    (pt, pb), (pl, pr) = geom.pads
    dxpad = np.zeros((n, h + pt + pb, w + pl + pr, c), taps.dtype)
    for i in range(geom.kh):
        for j in range(geom.kw):
            r0, c0 = i * geom.dh, j * geom.dw
            dxpad[:, r0 : r0 + ho, c0 : c0 + wo, :] += taps[i * geom.kw + j]
    return dxpad[:, pt : pt + h, pl : pl + w, :].transpose(0, 3, 1, 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "k, padding, dilation, size",
    # "same"; "valid"; dilated; even kernel ("same" pads one side more); padding wider than the kernel;
    # a dilated kernel over one input row (taps that land wholly in the padding).
    [
        (3, "same", 1, (7, 6)),
        (3, 0, 1, (7, 6)),
        (3, 2, 2, (8, 7)),
        (2, "same", 1, (5, 6)),
        (3, 3, 1, (4, 5)),
        (3, 3, 3, (1, 5)),
    ],
)
def test_lowered_input_gradient_adds_each_tap_where_it_lands_with_the_padded_bits(
    dtype, k, padding, dilation, size
):
    from engine.ops import conv_lowered

    rng = np.random.default_rng(5)
    x_shape = (2, 8, *size)
    geom = conv_mod.make_geometry("conv2d", size, (k, k), 1, padding, dilation, 1)
    ho, wo = geom.output_hw(*size)
    gy = rng.standard_normal((2, ho, wo, 3)).astype(dtype).transpose(0, 3, 1, 2)
    gy[0, :, 0, 0] = -0.0
    w = rng.standard_normal((3, 8, k, k)).astype(dtype)
    w[0] = -0.0
    dx = conv_lowered.grad_input(np, gy, w, geom, x_shape)
    taps = (conv_lowered.rows_of(np, gy) @ w.transpose(2, 3, 0, 1).reshape(k * k, 3, 8)).reshape(
        k * k, 2, ho, wo, 8
    )
    want = _padded_col2im(taps, geom, x_shape)
    assert dx.shape == want.shape == x_shape
    assert np.ascontiguousarray(dx).tobytes() == np.ascontiguousarray(want).tobytes()


@pytest.mark.parametrize("layout", ["nchw", "channels-last", "strided"])
def test_relu_of_the_pooled_rows_keeps_the_bits_of_a_scalar_relu(layout):
    # relu_max_pool2d applies its ReLU over rows of the output's memory (numpy's SIMD loop): the same
    # bits as maximum(best, 0), -0.0 made +0.0 and NaN kept, in each memory layout.
    x = np.random.default_rng(6).standard_normal((4, 16, 40, 36)).astype(np.float32)
    x[0, 0, :2, :2] = -0.0
    x[0, 1, :2, :2] = np.nan
    if layout == "channels-last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    elif layout == "strided":
        x = x[:, :, :, :34]
    y = ops.relu_max_pool2d(engine.tensor(x), 2).numpy()
    want = np.maximum(ops.max_pool2d(engine.tensor(x), 2).numpy(), 0)
    assert y.tobytes() == want.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_channels_last_convolution_adds_its_bias_with_the_bits_of_a_broadcast_add(dtype):
    # A lowered convolution adds its bias tiled over each image's channels-last values: the same
    # additions as the broadcast one (checked against the convolution without bias, plus the bias).
    rng = np.random.default_rng(7)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in ((3, 8, 6, 5), (4, 8, 3, 3), (4,)))
    b[0] = -0.0
    y = ops.conv2d(engine.tensor(x), engine.tensor(w), engine.tensor(b), padding=1).numpy()
    want = ops.conv2d(engine.tensor(x), engine.tensor(w), padding=1).numpy() + b.reshape(1, -1, 1, 1)
    assert y.tobytes() == want.tobytes()
