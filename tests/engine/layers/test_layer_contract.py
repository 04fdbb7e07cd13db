"""Every layer through the one shared check (shapes, parameter count, spec, gradients, a training step)."""

import pytest
from layer_checks import run_layer_test

from engine import layers as L

CASES = [
    ("dense", lambda: L.Dense(4, activation="tanh", name="fc1"), [(5,)], (4,), 24, {}),
    ("dense_seq", lambda: L.Dense(3, name="fc_seq"), [(2, 5)], (2, 3), 18, {}),
    (
        "dense_relu_nobias",
        lambda: L.Dense(2, activation="relu", use_bias=False, name="d"),
        [(5,)],
        (2,),
        10,
        {},
    ),
    ("flatten", lambda: L.Flatten(name="flat"), [(2, 3, 2)], (12,), 0, {}),
    ("reshape", lambda: L.Reshape((3, -1), name="rs"), [(2, 6)], (3, 4), 0, {}),
    ("activation", lambda: L.Activation("softmax", name="sm"), [(5,)], (5,), 0, {}),
    ("dropout", lambda: L.Dropout(0.5, name="drop"), [(6,)], (6,), 0, {"training": True}),
    ("conv1d", lambda: L.Conv1D(3, 3, padding="same", name="c1"), [(2, 7)], (3, 7), 21, {}),
    (
        "conv2d",
        lambda: L.Conv2D(3, (3, 2), strides=(2, 1), padding=1, activation="sigmoid", name="c2"),
        [(2, 5, 4)],
        (3, 3, 5),
        39,
        {},
    ),
    ("conv2d_groups", lambda: L.Conv2D(4, 3, groups=2, name="cg"), [(2, 5, 5)], (4, 3, 3), 40, {}),
    ("max_pool2d", lambda: L.MaxPool2D(2, name="mp"), [(2, 4, 4)], (2, 2, 2), 0, {}),
    ("avg_pool2d", lambda: L.AvgPool2D(3, strides=1, padding=1, name="ap"), [(2, 4, 4)], (2, 4, 4), 0, {}),
    ("global_avg_pool", lambda: L.GlobalAvgPool(name="gap"), [(3, 4, 4)], (3,), 0, {}),
    ("batch_norm_train", lambda: L.BatchNorm(name="bn"), [(4,)], (4,), 8, {"training": True, "batch": 5}),
    (
        "batch_norm_conv",
        lambda: L.BatchNorm(momentum=0.2, name="bn2"),
        [(3, 4, 4)],
        (3, 4, 4),
        6,
        {"training": True},
    ),
    ("batch_norm_seq", lambda: L.BatchNorm(name="bn3"), [(3, 5)], (3, 5), 6, {"training": True}),
    ("batch_norm_infer", lambda: L.BatchNorm(name="bn4"), [(4,)], (4,), 8, {}),
    ("layer_norm", lambda: L.LayerNorm(name="ln"), [(3, 6)], (3, 6), 12, {}),
    ("embedding", lambda: L.Embedding(7, 3, name="emb"), [(5,)], (5, 3), 21, {"int_inputs": 7}),
    ("simple_rnn", lambda: L.SimpleRNN(3, name="rnn"), [(4, 2)], (3,), 18, {}),
    (
        "simple_rnn_seq_state",
        lambda: L.SimpleRNN(3, activation="relu", return_sequences=True, name="rnn2"),
        [(4, 2), (3,)],
        (4, 3),
        18,
        {},
    ),
    ("lstm", lambda: L.LSTM(3, name="lstm"), [(4, 2)], (3,), 72, {}),
    (
        "lstm_seq_state",
        lambda: L.LSTM(2, return_sequences=True, name="lstm2"),
        [(3, 2), (2,), (2,)],
        (3, 2),
        40,
        {},
    ),
    ("gru", lambda: L.GRU(3, name="gru"), [(4, 2)], (3,), 63, {}),
    ("gru_seq_state", lambda: L.GRU(2, return_sequences=True, name="gru2"), [(3, 2), (2,)], (3, 2), 36, {}),
    ("add", lambda: L.Add(name="add"), [(3, 4), (3, 4), (3, 4)], (3, 4), 0, {}),
    ("multiply", lambda: L.Multiply(name="mul"), [(3, 4), (3, 4)], (3, 4), 0, {}),
    ("concatenate", lambda: L.Concatenate(axis=0, name="cat"), [(2, 3), (4, 3)], (6, 3), 0, {}),
    (
        "fourier_gaussian",
        lambda: L.FourierFeatures("gaussian", features=4, scale=0.3, seed=2, name="ff"),
        [(2,)],
        (8,),
        0,
        {},
    ),
    (
        "fourier_positional_seq",
        lambda: L.FourierFeatures("positional", frequencies=2, include_input=True, name="pe"),
        [(3, 2)],
        (3, 10),
        0,
        {"lr": 1e-3},
    ),
    (
        "siren_first",
        lambda: L.Siren(4, omega_0=30.0, first=True, name="sine1"),
        [(2,)],
        (4,),
        12,
        {"lr": 1e-4},
    ),
    ("siren_hidden_seq", lambda: L.Siren(3, omega_0=2.0, name="sine2"), [(2, 5)], (2, 3), 18, {}),
    ("activation_sine", lambda: L.Activation("sine", name="sin"), [(5,)], (5,), 0, {}),
    ("softmax_cross_entropy", lambda: L.SoftmaxCrossEntropy(0.1, name="loss"), [(5,)], (5,), 0, {}),
    ("squared_error", lambda: L.SquaredError(name="mse"), [(2,)], (2,), 0, {}),
    ("binary_cross_entropy", lambda: L.BinaryCrossEntropy(name="bce"), [(1,)], (1,), 0, {}),
]


@pytest.mark.parametrize("make,shapes,out,params,options", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_layer(make, shapes, out, params, options):
    run_layer_test(make(), shapes, out, params, **options)


def test_every_registered_layer_type_is_covered():
    covered = {make().type_name for _, make, *_ in CASES} | {"input"}
    assert covered == set(L.layer_types())
