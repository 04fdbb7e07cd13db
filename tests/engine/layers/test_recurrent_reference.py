"""LSTM, GRU and SimpleRNN against independent step-by-step numpy implementations of their equations."""

import numpy as np
import pytest

from engine import layers as L
from engine.autodiff import Tensor


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def lstm_reference(x, W, U, b, h, c):
    units = U.shape[0]
    hs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ W + h @ U + b
        i, f = sigmoid(z[:, :units]), sigmoid(z[:, units : 2 * units])
        g, o = np.tanh(z[:, 2 * units : 3 * units]), sigmoid(z[:, 3 * units :])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1)


def gru_reference(x, W, U, b, rb, h):
    units = U.shape[0]
    hs = []
    for t in range(x.shape[1]):
        xr, xz, xn = np.split(x[:, t] @ W + b, 3, axis=1)
        hr, hz, hn = np.split(h @ U + rb, 3, axis=1)
        r, z = sigmoid(xr + hr), sigmoid(xz + hz)
        n = np.tanh(xn + r * hn)
        h = (1 - z) * n + z * h
        hs.append(h)
    assert hs[-1].shape[1] == units
    return np.stack(hs, axis=1)


def rnn_reference(x, W, U, b, h):
    hs = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ W + h @ U + b)
        hs.append(h)
    return np.stack(hs, axis=1)


def _random_params(layer, rng):
    for p in layer.parameters.values():
        p.data[...] = rng.standard_normal(p.shape) * 0.5
    return {k: p.data for k, p in layer.parameters.items()}


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_lstm_matches_reference(return_sequences, with_state):
    rng = np.random.default_rng(0)
    layer = L.LSTM(5, return_sequences=return_sequences, name="lstm")
    n, t, f = 4, 6, 3
    shapes = [(t, f), (5,), (5,)] if with_state else [(t, f)]
    layer.build(shapes, rng, np.float64)
    p = _random_params(layer, rng)
    x = rng.standard_normal((n, t, f))
    h0 = rng.standard_normal((n, 5)) if with_state else np.zeros((n, 5))
    c0 = rng.standard_normal((n, 5)) if with_state else np.zeros((n, 5))
    args = [Tensor(x), Tensor(h0), Tensor(c0)] if with_state else [Tensor(x)]
    got = layer.forward(args).data
    want = lstm_reference(x, p["weights"], p["recurrent_weights"], p["bias"], h0, c0)
    np.testing.assert_allclose(got, want if return_sequences else want[:, -1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("with_state", [True, False])
def test_gru_matches_reference(with_state):
    rng = np.random.default_rng(1)
    layer = L.GRU(4, return_sequences=True, name="gru")
    n, t, f = 3, 5, 2
    layer.build([(t, f), (4,)] if with_state else [(t, f)], rng, np.float64)
    p = _random_params(layer, rng)
    x = rng.standard_normal((n, t, f))
    h0 = rng.standard_normal((n, 4)) if with_state else np.zeros((n, 4))
    got = layer.forward([Tensor(x), Tensor(h0)] if with_state else [Tensor(x)]).data
    want = gru_reference(x, p["weights"], p["recurrent_weights"], p["bias"], p["recurrent_bias"], h0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_simple_rnn_matches_reference():
    rng = np.random.default_rng(2)
    layer = L.SimpleRNN(3, return_sequences=True, name="rnn")
    layer.build([(4, 2)], rng, np.float64)
    p = _random_params(layer, rng)
    x = rng.standard_normal((2, 4, 2))
    got = layer.forward([Tensor(x)]).data
    np.testing.assert_allclose(
        got, rnn_reference(x, p["weights"], p["recurrent_weights"], p["bias"], np.zeros((2, 3))), rtol=1e-12
    )


def test_recurrence_is_real_and_defaults():
    """The last state depends on the first step (true recurrence), and the LSTM forget bias starts at 1."""
    rng = np.random.default_rng(3)
    layer = L.LSTM(4, name="lstm")
    layer.build([(5, 2)], rng, np.float64)
    b = layer.parameters["bias"].data
    assert np.all(b[4:8] == 1) and np.all(b[:4] == 0) and np.all(b[8:] == 0)
    u = layer.parameters["recurrent_weights"].data
    np.testing.assert_allclose(u @ u.T, np.eye(4), atol=1e-12)  # orthogonal recurrent weights
    x = rng.standard_normal((1, 5, 2))
    y1 = layer.forward([Tensor(x)]).data
    x[0, 0] += 1.0
    assert not np.allclose(layer.forward([Tensor(x)]).data, y1)
