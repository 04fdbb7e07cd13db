"""Small networks covering every exportable layer type, for the ONNX round-trip tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine import layers as L
from engine.network import Network


@dataclass
class Case:
    id: str
    build: object  # () -> Network
    types: set
    expect_ops: set = field(default_factory=set)
    probabilities: bool = False


def _stack(*layers):
    arch = layers[0]
    for layer in layers[1:]:
        arch = arch + layer
    return Network(arch)


def _mlp():
    return _stack(
        L.Input((6,), name="x"),
        L.Dense(5, activation="relu", name="fc1"),
        L.Dropout(0.3, name="drop"),
        L.Dense(4, activation="tanh", name="fc2"),
        L.Dense(3, use_bias=False, name="fc3"),
        L.SoftmaxCrossEntropy(name="loss"),
    )


def _activations():
    names = [
        "relu",
        "leaky_relu",
        "elu",
        "selu",
        "gelu",
        "sigmoid",
        "tanh",
        "softplus",
        "softsign",
        "softmax",
        "log_softmax",
        "sine",
        "linear",
    ]
    layers = [L.Input((7,), name="x")]
    for k, name in enumerate(names):
        layers.append(L.Activation(name, name=f"act_{name}"))
        layers.append(L.Dense(7, activation=name if k % 2 else None, name=f"fc_{k}"))
    return _stack(*layers)


def _shapes():
    return _stack(
        L.Input((2, 3, 4), name="x"),
        L.Flatten(name="flat"),
        L.Reshape((4, 6), name="reshape"),
        L.Dense(2, name="fc"),
        L.Reshape((-1,), name="back"),
        L.SquaredError(name="loss"),
    )


def _conv2d():
    return _stack(
        L.Input((3, 9, 8), name="img"),
        L.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
        L.Conv2D(6, (3, 2), strides=2, padding="same", groups=2, name="c2"),
        L.Conv2D(3, 2, padding=1, dilation=2, use_bias=False, activation="elu", name="c3"),
        L.Flatten(name="flat"),
        L.Dense(2, name="out"),
        L.BinaryCrossEntropy(name="loss"),
    )


def _conv1d():
    return _stack(
        L.Input((2, 11), name="seq"),
        L.Conv1D(4, 3, padding="same", activation="gelu", name="c1"),
        L.Conv1D(3, 2, strides=2, padding=1, dilation=2, name="c2"),
        L.Flatten(name="flat"),
        L.Dense(2, name="out"),
    )


def _merges():
    x = L.Input((5,), name="x")
    a = L.Dense(5, activation="relu", name="a")(x)
    b = L.Dense(5, activation="sigmoid", name="b")(x)
    s = L.Add(name="sum")([x, a, b])
    m = L.Multiply(name="gate")([s, b])
    c = L.Concatenate(name="cat")([m, a, x])
    y = L.Dense(3, name="out")(c)
    return Network(outputs=L.SoftmaxCrossEntropy(name="loss")(y))


def _two_inputs_two_outputs():
    x = L.Input((2, 4), name="left")
    z = L.Input((3, 4), name="right")
    c = L.Concatenate(axis=0, name="rows")([x, z])
    h = L.Dense(3, name="h")(c)
    y1 = L.Flatten(name="y1")(h)
    y2 = L.Dense(2, activation="softplus", name="y2")(L.Flatten(name="f2")(z))
    return Network(outputs=[y1, y2])


def _pool_norm():
    return _stack(
        L.Input((3, 9, 8), name="img"),
        L.BatchNorm(name="bn2d"),
        L.MaxPool2D(2, name="max"),
        L.AvgPool2D(3, strides=1, padding=1, name="avg"),
        L.MaxPool2D(3, strides=2, padding=1, name="max2"),
        L.GlobalAvgPool(name="gap"),
        L.LayerNorm(name="ln"),
        L.BatchNorm(name="bn1d"),
    )


def _norm_sequences():
    return _stack(
        L.Input((4, 6), name="seq"),
        L.BatchNorm(epsilon=1e-3, name="bn"),
        L.LayerNorm(name="ln"),
        L.Conv1D(3, 2, name="conv"),
    )


def _embedding_lstm_gru():
    return _stack(
        L.Input((7,), dtype="int", name="tokens"),
        L.Embedding(13, 5, name="emb"),
        L.LSTM(6, return_sequences=True, name="lstm"),
        L.GRU(4, return_sequences=True, name="gru_seq"),
        L.GRU(5, name="gru"),
        L.Dense(3, name="out"),
        L.SoftmaxCrossEntropy(name="loss"),
    )


def _simple_rnn():
    x = L.Input((5, 3), name="x")
    outs = [
        L.SimpleRNN(4, activation=act, return_sequences=k % 2 == 0, name=f"rnn_{act}")(x)
        for k, act in enumerate(
            ["tanh", "relu", "sigmoid", "softsign", "softplus", "elu", "leaky_relu", "linear"]
        )
    ]
    return Network(outputs=outs)


def _initial_states():
    x = L.Input((5, 3), name="x")
    h = L.Input((4,), name="h0")
    c = L.Input((4,), name="c0")
    lstm = L.LSTM(4, name="lstm")([x, h, c])
    gru = L.GRU(4, return_sequences=True, name="gru")([x, h])
    rnn = L.SimpleRNN(4, name="rnn")([x, lstm])
    return Network(outputs=[gru, rnn])


def _coordinates():
    x = L.Input((2,), name="xy")
    gauss = L.FourierFeatures("gaussian", features=6, scale=1.5, seed=3, name="gauss")(x)
    pos = L.FourierFeatures("positional", frequencies=3, include_input=True, name="pos")(x)
    both = L.Concatenate(name="both")([gauss, pos])
    h = L.Siren(5, omega_0=30.0, first=True, name="sine1")(both)
    h = L.Siren(4, omega_0=3.0, use_bias=False, name="sine2")(h)
    return Network(outputs=L.SquaredError(name="loss")(L.Dense(3, name="rgb")(h)))


CASES = [
    Case(
        "mlp", _mlp, {"input", "dense", "dropout", "softmax_cross_entropy"}, {"MatMul", "Add", "Relu", "Tanh"}
    ),
    Case("mlp_probabilities", _mlp, {"softmax_cross_entropy"}, {"Softmax"}, probabilities=True),
    Case(
        "activations",
        _activations,
        {"activation", "dense"},
        {
            "Relu",
            "LeakyRelu",
            "Elu",
            "Selu",
            "Sigmoid",
            "Tanh",
            "Softplus",
            "Softsign",
            "Softmax",
            "LogSoftmax",
            "Sin",
        },
    ),
    Case("coordinates", _coordinates, {"fourier_features", "siren"}, {"Sin", "Cos", "MatMul", "Concat"}),
    Case("flatten_reshape", _shapes, {"flatten", "reshape", "squared_error"}, {"Flatten", "Reshape"}),
    Case("conv2d", _conv2d, {"conv2d", "binary_cross_entropy"}, {"Conv"}),
    Case("conv2d_probabilities", _conv2d, {"binary_cross_entropy"}, {"Sigmoid"}, probabilities=True),
    Case("conv1d", _conv1d, {"conv1d"}, {"Conv"}),
    Case("merges", _merges, {"add", "multiply", "concatenate"}, {"Add", "Mul", "Concat"}),
    Case(
        "pool_norm",
        _pool_norm,
        {"batch_norm", "layer_norm", "max_pool2d", "avg_pool2d", "global_avg_pool"},
        {"BatchNormalization", "LayerNormalization", "MaxPool", "AveragePool", "GlobalAveragePool"},
    ),
    Case("norm_sequences", _norm_sequences, {"batch_norm", "layer_norm"}, {"BatchNormalization"}),
    Case("embedding_lstm_gru", _embedding_lstm_gru, {"embedding", "lstm", "gru"}, {"Gather", "LSTM", "GRU"}),
    Case("simple_rnn", _simple_rnn, {"simple_rnn"}, {"RNN"}),
    Case(
        "initial_states", _initial_states, {"lstm", "gru", "simple_rnn"}, {"LSTM", "GRU", "RNN", "Unsqueeze"}
    ),
    Case("two_inputs_two_outputs", _two_inputs_two_outputs, {"concatenate"}, {"Concat"}),
]
