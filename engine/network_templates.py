"""Ready-made network specs: the network builder's templates and the examples' networks.

Every template returns a plain network spec (format ``sigma.network/1``, see :mod:`engine.network.graph`);
nothing here builds layers, so the GUI can list and preview them cheaply. :mod:`engine.templates`
re-exports them beside the example projects.
"""

from __future__ import annotations

import copy

from .network.graph import FORMAT

__all__ = [
    "mlp",
    "lenet",
    "lstm_classifier",
    "residual_block",
    "cat_painter",
    "relu_painter",
    "siren_painter",
    "char_model",
    "NETWORK_TEMPLATES",
]


def _chain(nodes: list[dict], loss: dict | None = None) -> dict:
    """A linear stack: each node reads the one before it."""
    nodes = copy.deepcopy(nodes)
    if loss is not None:
        nodes.append(dict(loss))
    for before, node in zip(nodes, nodes[1:]):
        node["inputs"] = [before["name"]]
    return {"format": FORMAT, "nodes": nodes, "inputs": [nodes[0]["name"]], "outputs": [nodes[-1]["name"]]}


def mlp(inputs: int = 64, hidden=(128, 64), classes: int = 10, dropout: float = 0.0) -> dict:
    """Multi-layer perceptron classifier: ``inputs -> hidden... (ReLU) -> classes`` with a softmax CE head."""
    nodes = [{"type": "input", "name": "input", "shape": [int(inputs)], "dtype": "float"}]
    for i, units in enumerate(hidden, start=1):
        nodes.append(
            {"type": "dense", "name": f"fc{i}", "units": int(units), "activation": "relu", "use_bias": True}
        )
        if dropout:
            nodes.append({"type": "dropout", "name": f"dropout{i}", "rate": float(dropout)})
    nodes.append(
        {"type": "dense", "name": "logits", "units": int(classes), "activation": None, "use_bias": True}
    )
    return _chain(nodes, {"type": "softmax_cross_entropy", "name": "loss", "label_smoothing": 0.0})


def lenet(input_shape=(1, 28, 28), classes: int = 10, filters=(16, 32)) -> dict:
    """LeNet-style CNN: ``[conv 3x3 (pad 1) -> ReLU -> max-pool 2] x 2 -> dense -> classes``.

    ``input_shape`` is (channels, height, width); height and width must be divisible by 4.
    """
    nodes = [{"type": "input", "name": "image", "shape": [int(s) for s in input_shape], "dtype": "float"}]
    for i, f in enumerate(filters, start=1):
        nodes.append(
            {
                "type": "conv2d",
                "name": f"conv{i}",
                "filters": int(f),
                "kernel_size": [3, 3],
                "strides": [1, 1],
                "padding": [1, 1],
                "dilation": [1, 1],
                "groups": 1,
                "activation": "relu",
                "use_bias": True,
            }
        )
        nodes.append(
            {
                "type": "max_pool2d",
                "name": f"pool{i}",
                "pool_size": [2, 2],
                "strides": None,
                "padding": [0, 0],
            }
        )
    nodes.append({"type": "flatten", "name": "flatten"})
    nodes.append(
        {"type": "dense", "name": "logits", "units": int(classes), "activation": None, "use_bias": True}
    )
    return _chain(nodes, {"type": "softmax_cross_entropy", "name": "loss", "label_smoothing": 0.0})


def lstm_classifier(steps: int = 32, features: int = 32, units: int = 128, classes: int = 10) -> dict:
    """Sequence classifier: ``(steps, features) -> LSTM(units), last state -> dense -> classes``."""
    nodes = [
        {"type": "input", "name": "sequence", "shape": [int(steps), int(features)], "dtype": "float"},
        {"type": "lstm", "name": "lstm", "units": int(units), "return_sequences": False},
        {"type": "dense", "name": "logits", "units": int(classes), "activation": None, "use_bias": True},
    ]
    return _chain(nodes, {"type": "softmax_cross_entropy", "name": "loss", "label_smoothing": 0.0})


def residual_block(features: int = 64, hidden: int = 64, classes: int = 10) -> dict:
    """A dense residual block: identity and dense-ReLU-dense branches merged by Add, then a classifier."""
    return {
        "format": FORMAT,
        "nodes": [
            {"type": "input", "name": "input", "shape": [int(features)], "dtype": "float"},
            {
                "type": "dense",
                "name": "stem",
                "inputs": ["input"],
                "units": int(hidden),
                "activation": "relu",
                "use_bias": True,
            },
            {
                "type": "dense",
                "name": "branch1",
                "inputs": ["stem"],
                "units": int(hidden),
                "activation": "relu",
                "use_bias": True,
            },
            {
                "type": "dense",
                "name": "branch2",
                "inputs": ["branch1"],
                "units": int(hidden),
                "activation": None,
                "use_bias": True,
            },
            {"type": "add", "name": "residual", "inputs": ["stem", "branch2"]},
            {"type": "activation", "name": "relu", "inputs": ["residual"], "activation": "relu"},
            {
                "type": "dense",
                "name": "logits",
                "inputs": ["relu"],
                "units": int(classes),
                "activation": None,
                "use_bias": True,
            },
            {"type": "softmax_cross_entropy", "name": "loss", "inputs": ["logits"], "label_smoothing": 0.0},
        ],
        "inputs": ["input"],
        "outputs": ["loss"],
    }


def relu_painter(hidden=(256, 256, 256), channels: int = 3) -> dict:
    """The first cat painter: ``(x, y) -> hidden (ReLU) -> RGB (sigmoid)``, MSE.

    Kept for comparison (``python -m bench paint``): fed raw coordinates, a ReLU network learns only
    the low frequencies of an image and paints a blur (about 21 dB PSNR on the cat however long it runs).
    """
    nodes = [{"type": "input", "name": "xy", "shape": [2], "dtype": "float"}]
    for i, units in enumerate(hidden, start=1):
        nodes.append(
            {"type": "dense", "name": f"fc{i}", "units": int(units), "activation": "relu", "use_bias": True}
        )
    nodes.append(
        {"type": "dense", "name": "rgb", "units": int(channels), "activation": "sigmoid", "use_bias": True}
    )
    return _chain(nodes, {"type": "squared_error", "name": "loss"})


def cat_painter(
    hidden=(256, 256, 256), channels: int = 3, features: int = 256, scale: float = 10.0, seed: int = 0
) -> dict:
    """Coordinate network that paints a picture sharp: ``(x, y) -> Fourier features -> hidden (ReLU) ->
    RGB (sigmoid)``, MSE.

    The Gaussian Fourier features (Tancik et al. 2020) let the ReLU layers fit edges and fine detail;
    ``scale`` (cycles per unit, for coordinates in [-1, 1]) suits pictures of about 128 to 256 pixels.
    """
    nodes = [
        {"type": "input", "name": "xy", "shape": [2], "dtype": "float"},
        {
            "type": "fourier_features",
            "name": "fourier",
            "mode": "gaussian",
            "features": int(features),
            "scale": float(scale),
            "frequencies": 8,
            "include_input": False,
            "seed": int(seed),
        },
    ]
    for i, units in enumerate(hidden, start=1):
        nodes.append(
            {"type": "dense", "name": f"fc{i}", "units": int(units), "activation": "relu", "use_bias": True}
        )
    nodes.append(
        {"type": "dense", "name": "rgb", "units": int(channels), "activation": "sigmoid", "use_bias": True}
    )
    return _chain(nodes, {"type": "squared_error", "name": "loss"})


def siren_painter(hidden=(256, 256, 256), channels: int = 3, omega_0: float = 30.0) -> dict:
    """Sine network (SIREN, Sitzmann et al. 2020): ``(x, y) -> sine layers -> RGB (linear)``, MSE."""
    nodes = [{"type": "input", "name": "xy", "shape": [2], "dtype": "float"}]
    for i, units in enumerate(hidden, start=1):
        nodes.append(
            {
                "type": "siren",
                "name": f"sine{i}",
                "units": int(units),
                "omega_0": float(omega_0),
                "first": i == 1,
                "use_bias": True,
            }
        )
    nodes.append(
        {"type": "dense", "name": "rgb", "units": int(channels), "activation": None, "use_bias": True}
    )
    return _chain(nodes, {"type": "squared_error", "name": "loss"})


def char_model(steps: int = 32, vocabulary: int = 69, embedding: int = 16, units: int = 128) -> dict:
    """Next-character model: ``indices (steps,) -> embedding -> GRU (every step) -> logits per step``."""
    nodes = [
        {"type": "input", "name": "chars", "shape": [int(steps)], "dtype": "int"},
        {"type": "embedding", "name": "embed", "input_dim": int(vocabulary), "output_dim": int(embedding)},
        {"type": "gru", "name": "gru", "units": int(units), "return_sequences": True},
        {"type": "dense", "name": "logits", "units": int(vocabulary), "activation": None, "use_bias": True},
    ]
    return _chain(nodes, {"type": "softmax_cross_entropy", "name": "loss", "label_smoothing": 0.0})


#: Builder templates by display name.
NETWORK_TEMPLATES = {
    "MLP": mlp,
    "LeNet-style CNN": lenet,
    "LSTM classifier": lstm_classifier,
    "Residual block": residual_block,
    "Cat painter (Fourier features)": cat_painter,
    "SIREN painter": siren_painter,
    "ReLU painter (blurry, for comparison)": relu_painter,
    "Next-character model (GRU)": char_model,
}
