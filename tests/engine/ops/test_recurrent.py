"""Fused LSTM/GRU sequences and the engine-op cells: forward vs a numpy loop, BPTT vs finite differences."""

import numpy as np
import pytest
from op_check import check_op, randn

import engine
from engine import ops
from engine.autodiff import ShapeError


def _sig(a):
    return 1 / (1 + np.exp(-a))


def np_lstm(x, h, c, w_ih, w_hh, b):
    hid = h.shape[1]
    hs = []
    for t in range(x.shape[1]):
        a = x[:, t] @ w_ih + h @ w_hh + b
        i, f, g, o = (
            _sig(a[:, :hid]),
            _sig(a[:, hid : 2 * hid]),
            np.tanh(a[:, 2 * hid : 3 * hid]),
            _sig(a[:, 3 * hid :]),
        )
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1), h, c


def np_gru(x, h, w_ih, w_hh, b_ih, b_hh):
    hid = h.shape[1]
    hs = []
    for t in range(x.shape[1]):
        ax, ah = x[:, t] @ w_ih + b_ih, h @ w_hh + b_hh
        r = _sig(ax[:, :hid] + ah[:, :hid])
        z = _sig(ax[:, hid : 2 * hid] + ah[:, hid : 2 * hid])
        n = np.tanh(ax[:, 2 * hid :] + r * ah[:, 2 * hid :])
        h = (1 - z) * n + z * h
        hs.append(h)
    return np.stack(hs, axis=1), h


def _lstm_inputs(rng, n=2, t=4, i=3, h=5):
    return [
        randn(rng, n, t, i),
        randn(rng, n, h),
        randn(rng, n, h),
        randn(rng, i, 4 * h) * 0.5,
        randn(rng, h, 4 * h) * 0.5,
        randn(rng, 4 * h),
    ]


def _gru_inputs(rng, n=2, t=4, i=3, h=5):
    return [
        randn(rng, n, t, i),
        randn(rng, n, h),
        randn(rng, i, 3 * h) * 0.5,
        randn(rng, h, 3 * h) * 0.5,
        randn(rng, 3 * h),
        randn(rng, 3 * h),
    ]


@pytest.mark.parametrize("output", [None, 0, 1, 2])
def test_lstm_sequence(backend, output):
    inputs = _lstm_inputs(np.random.default_rng(0))
    if output is None:
        check_op(backend, ops.lstm, np_lstm, inputs)
    else:
        check_op(backend, lambda *a: ops.lstm(*a)[output], lambda *a: np_lstm(*a)[output], inputs)


@pytest.mark.parametrize("output", [None, 0, 1])
def test_gru_sequence(backend, output):
    inputs = _gru_inputs(np.random.default_rng(1))
    if output is None:
        check_op(backend, ops.gru, np_gru, inputs)
    else:
        check_op(backend, lambda *a: ops.gru(*a)[output], lambda *a: np_gru(*a)[output], inputs)


def test_double_backward_through_fused_sequences(backend):
    rng = np.random.default_rng(2)
    li = _lstm_inputs(rng, n=1, t=2, i=2, h=3)
    check_op(backend, lambda *a: ops.lstm(*a)[1], None, li, grad=False, double=True)
    gi = _gru_inputs(rng, n=1, t=2, i=2, h=3)
    check_op(backend, lambda *a: ops.gru(*a)[1], None, gi, grad=False, double=True)


def test_cells_are_one_step_of_the_sequence(backend):
    rng = np.random.default_rng(3)
    x, h, c, w_ih, w_hh, b = _lstm_inputs(rng, t=1)
    check_op(
        backend,
        lambda x, h, c, wi, wh, b: ops.lstm_cell(x, h, c, wi, wh, b),
        lambda x, h, c, wi, wh, b: np_lstm(x[:, None], h, c, wi, wh, b)[1:],
        [x[:, 0], h, c, w_ih, w_hh, b],
        double=True,
    )
    x, h, w_ih, w_hh, bi, bh = _gru_inputs(rng, t=1)
    check_op(
        backend,
        ops.gru_cell,
        lambda x, h, wi, wh, bi, bh: np_gru(x[:, None], h, wi, wh, bi, bh)[1],
        [x[:, 0], h, w_ih, w_hh, bi, bh],
        double=True,
    )


def test_float32_long_sequence_matches_float64():
    rng = np.random.default_rng(4)
    inputs = _lstm_inputs(rng, n=8, t=30, i=6, h=16)
    y64 = ops.lstm(*(engine.tensor(v) for v in inputs))[0].numpy()
    y32 = ops.lstm(*(engine.tensor(v.astype(np.float32)) for v in inputs))[0].numpy()
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, atol=1e-4)


def test_recurrent_errors_name_the_shapes():
    rng = np.random.default_rng(5)
    x, h, c, w_ih, w_hh, b = (engine.tensor(v) for v in _lstm_inputs(rng))
    with pytest.raises(ShapeError, match=r"lstm: w_hh must have shape \(5, 20\) for x \(2, 4, 3\)"):
        ops.lstm(x, h, c, w_ih, w_ih, b)
    with pytest.raises(ShapeError, match=r"lstm: x must have shape \(N, T, I\), got \(2, 3\)"):
        ops.lstm(engine.tensor(np.zeros((2, 3))), h, c, w_ih, w_hh, b)
    with pytest.raises(ShapeError, match=r"lstm: c0 must have shape \(2, 5\)"):
        ops.lstm(x, h, engine.tensor(np.zeros((2, 4))), w_ih, w_hh, b)
    gx, gh, gwi, gwh, gbi, gbh = (engine.tensor(v) for v in _gru_inputs(rng))
    with pytest.raises(ShapeError, match=r"gru: h0 must have shape \(2, H\)"):
        ops.gru(gx, engine.tensor(np.zeros((3, 5))), gwi, gwh, gbi, gbh)
    with pytest.raises(ShapeError, match=r"gru: b_hh must have shape \(15,\)"):
        ops.gru(gx, gh, gwi, gwh, gbi, engine.tensor(np.zeros(5)))


def test_weight_gradients_when_inputs_and_states_are_constants(backend):
    """The training case: data and initial states need no gradient, so BPTT skips their work."""
    rng = np.random.default_rng(6)
    check_op(
        backend,
        lambda *a: ops.lstm(*a)[1],
        None,
        _lstm_inputs(rng),
        no_grads=[True, True, True, False, False, False],
    )
    check_op(
        backend,
        lambda *a: ops.gru(*a)[1],
        None,
        _gru_inputs(rng),
        no_grads=[True, True, False, False, False, False],
    )


@pytest.mark.parametrize("op", ["lstm", "gru"])
def test_an_empty_batch_gives_empty_outputs_and_zero_weight_gradients(op):
    rng = np.random.default_rng(6)
    inputs = (_lstm_inputs if op == "lstm" else _gru_inputs)(rng, n=0)
    ts = [engine.tensor(v, requires_grad=True) for v in inputs]
    out = getattr(ops, op)(*ts)
    assert out[0].shape == (0, 4, 5) and out[1].shape == (0, 5)
    (out[0].sum() + out[1].sum()).backward()
    for t, v in zip(ts, inputs):
        assert t.grad.shape == v.shape
        np.testing.assert_array_equal(t.grad.numpy(), np.zeros_like(v))
