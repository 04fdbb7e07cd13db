"""conv1d/conv2d against a direct (loop) float64 convolution, gradients and double backward."""

import numpy as np
import pytest
from op_check import check_op, randn

import engine
from engine import ops
from engine.autodiff import ShapeError


def direct_conv2d(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), groups=1):
    """The definition, one output position at a time."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (pt, pb), (pl, pr) = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    sh, sw = stride
    dh, dw = dilation
    ho = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, ho, wo))
    per = o // groups
    for oc in range(o):
        g = oc // per
        for i in range(ho):
            for j in range(wo):
                patch = xp[
                    :,
                    g * cg : (g + 1) * cg,
                    i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                    j * sw : j * sw + dw * (kw - 1) + 1 : dw,
                ]
                y[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3))
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


# (x shape, w shape, stride, padding, dilation, groups)
CASES = [
    ((2, 3, 5, 6), (4, 3, 3, 3), 1, 0, 1, 1),
    ((2, 3, 5, 6), (4, 3, 3, 3), 1, 1, 1, 1),
    ((1, 2, 7, 7), (3, 2, 3, 2), 2, 1, 1, 1),
    ((1, 2, 7, 8), (2, 2, 2, 3), (2, 3), (1, 0), (2, 1), 1),
    ((2, 4, 5, 5), (6, 2, 3, 3), 1, 1, 1, 2),
    ((1, 4, 6, 6), (4, 1, 3, 3), 2, 1, 1, 4),  # depthwise
    ((2, 3, 4, 4), (5, 3, 1, 1), 1, 0, 1, 1),  # 1x1
    ((1, 2, 7, 8), (2, 2, 2, 3), 1, (1, 2), (2, 1), 1),  # stride 1, dilated: the wide grad-input path
    # 8+ input channels at stride 1: the channels-last (lowered) kernels
    ((2, 8, 5, 6), (3, 8, 3, 3), 1, 1, 1, 1),
    ((1, 9, 6, 7), (2, 9, 2, 3), 1, (1, 2), (2, 1), 1),
    ((2, 8, 4, 5), (4, 8, 1, 1), 1, 0, 1, 1),
]


def _pads(padding):
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return ((ph, ph), (pw, pw))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv2d(backend, case):
    xs, ws, stride, padding, dilation, groups = case
    rng = np.random.default_rng(0)
    x, w, b = randn(rng, *xs), randn(rng, *ws), randn(rng, ws[0])
    st = (stride, stride) if isinstance(stride, int) else stride
    dl = (dilation, dilation) if isinstance(dilation, int) else dilation

    def f(x, w, b):
        return ops.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)

    def ref(x, w, b):
        return direct_conv2d(x, w, b, st, _pads(padding), dl, groups)

    check_op(backend, f, ref, [x, w, b])
    check_op(
        backend,
        lambda x, w: ops.conv2d(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups),
        None,
        [x[:1], w],
        double=True,
    )


@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_same_padding(backend, stride):
    rng = np.random.default_rng(1)
    x, w = randn(rng, 1, 2, 6, 5), randn(rng, 3, 2, 3, 2)
    y = ops.conv2d(
        engine.tensor(backend.from_host(x)),
        engine.tensor(backend.from_host(w)),
        padding="same",
        stride=stride,
    )
    assert y.shape[2:] == (-(-6 // stride), -(-5 // stride))
    # TensorFlow's rule: the odd extra row/column of padding goes after
    pw_total = max((-(-5 // stride) - 1) * stride + 2 - 5, 0)
    ph_total = max((-(-6 // stride) - 1) * stride + 3 - 6, 0)
    pads = ((ph_total // 2, ph_total - ph_total // 2), (pw_total // 2, pw_total - pw_total // 2))
    np.testing.assert_allclose(y.numpy(), direct_conv2d(x, w, None, (stride, stride), pads), rtol=1e-10)
    check_op(backend, lambda x, w: ops.conv2d(x, w, padding="same", stride=stride), None, [x, w])


@pytest.mark.parametrize("case", [(1, 0, 1, 1), (2, 1, 1, 1), (1, "same", 2, 1), (1, 1, 1, 2)], ids=str)
def test_conv1d(backend, case):
    stride, padding, dilation, groups = case
    rng = np.random.default_rng(2)
    x, w, b = randn(rng, 2, 4, 9), randn(rng, 6, 4 // groups, 3), randn(rng, 6)

    def f(x, w, b):
        return ops.conv1d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)

    def ref(x, w, b):
        p = ((0, 0), (2, 2)) if padding == "same" else ((0, 0), (padding, padding))
        y = direct_conv2d(x[:, :, None], w[:, :, None], b, (1, stride), p, (1, dilation), groups)
        return y[:, :, 0]

    check_op(backend, f, ref, [x, w, b], double=True)


def test_conv2d_float32_matches_float64():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((4, 8, 9, 9)), rng.standard_normal((8, 8, 3, 3)), rng.standard_normal(8)
    y64 = ops.conv2d(engine.tensor(x), engine.tensor(w), engine.tensor(b), padding=1).numpy()
    y32 = ops.conv2d(*(engine.tensor(v.astype(np.float32)) for v in (x, w, b)), padding=1).numpy()
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-4)


def test_conv_output_shape_helper():
    assert ops.conv2d_output_shape((8, 3, 32, 32), (16, 3, 5, 5), stride=2, padding=2) == (8, 16, 16, 16)
    assert ops.conv2d_output_shape((8, 3, 7, 7), (16, 3, 3, 3), stride=2, padding="same") == (8, 16, 4, 4)


def test_conv_errors_name_the_shapes():
    x = engine.tensor(np.zeros((1, 3, 5, 5)))
    with pytest.raises(
        ShapeError, match=r"conv2d: input with 3 channels, weight \(4, 2, 3, 3\) and groups=1"
    ):
        ops.conv2d(x, engine.tensor(np.zeros((4, 2, 3, 3))))
    with pytest.raises(ShapeError, match=r"conv2d: expected x \(N, C, H, W\).*got x \(3, 5, 5\)"):
        ops.conv2d(engine.tensor(np.zeros((3, 5, 5))), engine.tensor(np.zeros((4, 3, 3, 3))))
    with pytest.raises(ShapeError, match=r"too small for kernel \(7, 7\)"):
        ops.conv2d(x, engine.tensor(np.zeros((4, 3, 7, 7))))
    with pytest.raises(ShapeError, match=r"bias must have shape \(4,\)"):
        ops.conv2d(x, engine.tensor(np.zeros((4, 3, 3, 3))), engine.tensor(np.zeros(3)))
    with pytest.raises(ValueError, match="padding"):
        ops.conv2d(x, engine.tensor(np.zeros((4, 3, 3, 3))), padding="full")
    with pytest.raises(ShapeError, match="conv1d"):
        ops.conv1d(x, engine.tensor(np.zeros((4, 3, 3))))


def test_conv_frees_its_columns_after_backward():
    x = engine.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    y = ops.conv2d(x, engine.tensor(np.ones((1, 1, 3, 3)), requires_grad=True))
    fn = y.creator
    assert fn.cols is not None
    y.sum().backward()
    assert fn.cols is None
    with engine.no_grad():
        z = ops.conv2d(x, engine.tensor(np.ones((1, 1, 3, 3))))
    assert z.creator is None


def test_lowered_kernels_match_the_nchw_kernels(backend, monkeypatch):
    from engine.ops import conv_lowered

    rng = np.random.default_rng(5)
    x, w, b = randn(rng, 2, 8, 6, 5), randn(rng, 4, 8, 3, 3), randn(rng, 4)
    g = randn(rng, 2, 4, 6, 5)

    def run():
        ts = [engine.tensor(backend.from_host(a), requires_grad=True) for a in (x, w, b)]
        y = ops.conv2d(*ts, padding=1)
        y.backward(backend.from_host(g))
        return [y.numpy()] + [t.grad.numpy() for t in ts]

    fast = run()
    monkeypatch.setattr(conv_lowered, "MIN_CHANNELS", 10**9)  # every convolution takes the NCHW kernels
    for got, want in zip(fast, run()):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
