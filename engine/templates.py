"""Ready-made network specs and sample projects (the studio's defaults and the builder's templates).

Every template returns a plain network spec (format ``sigma.network/1``, see :mod:`engine.network.graph`)
or an :class:`~engine.project.Project`; nothing here builds layers, so the GUI can list and preview them
cheaply.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .network.graph import FORMAT
from .project import DEFAULT_TRAINING, Project

__all__ = [
    "mlp",
    "lenet",
    "lstm_classifier",
    "residual_block",
    "cat_painter",
    "NETWORK_TEMPLATES",
    "cat_project",
    "digits_project",
    "digits_cnn_project",
    "PROJECT_TEMPLATES",
    "Example",
    "EXAMPLES",
    "example",
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


def cat_painter(hidden=(256, 256, 256), channels: int = 3) -> dict:
    """Coordinate network that paints a picture: ``(x, y) -> hidden (ReLU) -> RGB (sigmoid)``, MSE."""
    nodes = [{"type": "input", "name": "xy", "shape": [2], "dtype": "float"}]
    for i, units in enumerate(hidden, start=1):
        nodes.append(
            {"type": "dense", "name": f"fc{i}", "units": int(units), "activation": "relu", "use_bias": True}
        )
    nodes.append(
        {"type": "dense", "name": "rgb", "units": int(channels), "activation": "sigmoid", "use_bias": True}
    )
    return _chain(nodes, {"type": "squared_error", "name": "loss"})


#: Builder templates by display name.
NETWORK_TEMPLATES = {
    "MLP": mlp,
    "LeNet-style CNN": lenet,
    "LSTM classifier": lstm_classifier,
    "Residual block": residual_block,
    "Cat painter": cat_painter,
}


def _training(**overrides) -> dict:
    training = copy.deepcopy(DEFAULT_TRAINING)
    training.update(overrides)
    return training


def cat_project() -> Project:
    """ "Paint the cat": a coordinate network learns the bundled cat image, pixel by pixel."""
    return Project(
        name="Paint the cat",
        task="image",
        dataset={"source": "sample:cat", "options": {}, "validation_split": 0.0},
        network=cat_painter(),
        training=_training(
            batch_size=1024,
            epochs=200,
            loss="mean_squared_error",
            metrics=["mae"],
            optimiser={"type": "adam", "learning_rate": 0.002},
            checkpoint={"every_epochs": 0, "best_only": False, "keep": 3, "directory": None},
        ),
    )


def digits_project() -> Project:
    """Handwritten digits (8x8) with an MLP classifier."""
    return Project(
        name="Digits classifier",
        task="classification",
        dataset={"source": "sample:digits", "options": {}, "validation_split": 0.2},
        network=mlp(64, (128, 64), 10),
        training=_training(
            batch_size=64,
            epochs=30,
            loss="softmax_cross_entropy",
            metrics=["accuracy"],
            optimiser={"type": "adam", "learning_rate": 0.002},
        ),
    )


def digits_cnn_project() -> Project:
    """Handwritten digits as 1x8x8 images with a small CNN."""
    project = digits_project()
    project.name = "Digits CNN"
    project.dataset = {"source": "sample:digits", "options": {"layout": "image"}, "validation_split": 0.2}
    project.network = lenet((1, 8, 8), 10, (16, 32))
    return project


PROJECT_TEMPLATES = {
    "Paint the cat": cat_project,
    "Digits classifier": digits_project,
    "Digits CNN": digits_cnn_project,
}


# ---------------------------------------------------------------------------------------------- examples
def _cat_thumbnail() -> np.ndarray:
    from .data import samples  # noqa: PLC0415 - reads a bundled file; only when a thumbnail is shown

    return np.asarray(samples.cat() * 255.0 + 0.5, dtype=np.uint8)


def _digits_thumbnail() -> np.ndarray:
    from .data import samples  # noqa: PLC0415

    digits = samples.digits(flat=True)
    tiles = np.asarray(digits["inputs"][:16], dtype=np.float32).reshape(16, 8, 8)
    sheet = tiles.reshape(4, 4, 8, 8).transpose(0, 2, 1, 3).reshape(32, 32)
    grey = np.asarray(255.0 - sheet / max(float(sheet.max()), 1e-6) * 255.0, dtype=np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


@dataclass(frozen=True)
class Example:
    """One bundled example project, as the start page, the toolbar and ``sigma new --template`` list it.

    Attributes
    ----------
    key : str
        Short name for ``sigma new --template KEY`` (lower case, ``-`` between words).
    title : str
        Display name ("Paint the cat").
    description : str
        One or two sentences: what it shows, what kind of data, and the quality it reaches in how long.
    kind : str
        The kind of data: ``"image"``, ``"table"``, ``"text"`` or ``"toy"``.
    make : callable () -> Project
        A fresh project each call.
    thumbnail : callable () -> ndarray
        ``uint8`` array ``(H, W, 3)`` (RGB) to show beside the title; drawn from the bundled data.
    """

    key: str
    title: str
    description: str
    kind: str
    make: Callable[[], Project]
    thumbnail: Callable[[], np.ndarray]


#: The bundled examples, in the order the start page shows them.
EXAMPLES: tuple[Example, ...] = (
    Example(
        "cat",
        "Paint the cat",
        "A coordinate network learns the bundled 128x128 cat picture pixel by pixel; watch the painting "
        "appear in the monitor.",
        "image",
        cat_project,
        _cat_thumbnail,
    ),
    Example(
        "digits",
        "Digits classifier",
        "An MLP learns to read 1,797 handwritten 8x8 digits (a table of 64 pixels); about 97% validation "
        "accuracy within seconds.",
        "image",
        digits_project,
        _digits_thumbnail,
    ),
    Example(
        "digits-cnn",
        "Digits CNN",
        "The same digits as 1x8x8 images through a small convolutional network.",
        "image",
        digits_cnn_project,
        _digits_thumbnail,
    ),
)


def example(key: str) -> Example:
    """The example called ``key`` (its ``key`` or its ``title``); ``KeyError`` names the known ones."""
    for item in EXAMPLES:
        if key in (item.key, item.title):
            return item
    raise KeyError(f"unknown example {key!r}; known: {', '.join(e.key for e in EXAMPLES)}")
