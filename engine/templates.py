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

from . import thumbnails
from .network.graph import FORMAT
from .project import Project, TrainingSettings

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
    "CAT_SETTINGS",
    "cat_project",
    "chelsea_project",
    "iris_project",
    "text_project",
    "shapes_project",
    "xor_project",
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


def _training(**overrides) -> TrainingSettings:
    return TrainingSettings(overrides)


#: The cat painter's training settings, chosen by measurement (``python -m bench paint``): batches of
#: 1,024 pixels (16 steps an epoch over the 128x128 cat) and Adam at 0.002 reach 30 dB PSNR in about
#: 12 epochs (192 steps).
CAT_SETTINGS = {
    "batch_size": 1024,
    "epochs": 200,
    "loss": "mean_squared_error",
    "metrics": ["mae"],
    "optimiser": {"type": "adam", "learning_rate": 0.002},
    "checkpoint": {"every_epochs": 0, "best_only": False, "keep": 3, "directory": None},
}


def cat_project() -> Project:
    """ "Paint the cat": a coordinate network with Fourier features learns the bundled cat, pixel by pixel."""
    return Project(
        name="Paint the cat",
        task="image",
        dataset={"source": "sample:cat", "options": {}, "validation_split": 0.0},
        network=cat_painter(),
        training=_training(**copy.deepcopy(CAT_SETTINGS)),
    )


def chelsea_project() -> Project:
    """ "Paint a photograph": Chelsea the cat (scikit-image's photo) at 225x150, finer Fourier features.

    Drop any image on the window to paint that one instead (its longer side is scaled to 256 pixels).
    """
    settings = copy.deepcopy(CAT_SETTINGS)
    settings.update(epochs=100, batch_size=2048)
    return Project(
        name="Paint a photograph",
        task="image",
        dataset={"source": "sample:chelsea", "options": {}, "validation_split": 0.0},
        network=cat_painter(scale=16.0),
        training=_training(**settings),
    )


def iris_project() -> Project:
    """Iris flowers from a CSV table: four measurements in, the ``species`` column (the first) as label."""
    return Project(
        name="Iris flowers (table)",
        task="classification",
        dataset={"source": "sample:iris", "options": {"targets": "species"}, "validation_split": 0.2},
        network=mlp(4, (32, 32), 3),
        training=_training(
            batch_size=16,
            epochs=60,
            loss="softmax_cross_entropy",
            metrics=["accuracy"],
            optimiser={"type": "adam", "learning_rate": 0.01},
        ),
    )


def text_project() -> Project:
    """Write like the poets: a GRU next-character model on public-domain verse, writing text as it learns."""
    from .data import samples  # noqa: PLC0415 - the vocabulary size comes from the bundled corpus

    vocabulary = len(samples.verse().vocabulary)
    return Project(
        name="Write like the poets (text)",
        task="sequence",
        dataset={"source": "sample:verse", "options": {}, "validation_split": 0.1},
        network=char_model(32, vocabulary, 16, 128),
        training=_training(
            batch_size=32,
            epochs=12,
            loss="softmax_cross_entropy",
            metrics=["accuracy"],
            optimiser={"type": "adam", "learning_rate": 0.01},
        ),
    )


def shapes_project() -> Project:
    """Circles, squares and triangles from a folder of 24x24 pictures (one subfolder per class), a CNN."""
    return Project(
        name="Shapes from a folder (images)",
        task="classification",
        dataset={"source": "sample:shapes", "options": {"layout": "image"}, "validation_split": 0.2},
        network=lenet((3, 24, 24), 3, (16, 32)),
        training=_training(
            batch_size=32,
            epochs=40,
            loss="softmax_cross_entropy",
            metrics=["accuracy"],
            optimiser={"type": "adam", "learning_rate": 0.002},
        ),
    )


def xor_project() -> Project:
    """The classic XOR: four records no straight line separates, a hidden layer of 8 tanh units."""
    network = mlp(2, (8,), 2)
    network["nodes"][1]["activation"] = "tanh"
    return Project(
        name="XOR",
        task="classification",
        dataset={"source": "sample:xor", "options": {}, "validation_split": 0.0},
        network=network,
        training=_training(
            batch_size=4,
            epochs=300,
            loss="softmax_cross_entropy",
            metrics=["accuracy"],
            optimiser={"type": "adam", "learning_rate": 0.05},
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
    "Paint a photograph": chelsea_project,
    "Digits classifier": digits_project,
    "Digits CNN": digits_cnn_project,
    "Shapes from a folder (images)": shapes_project,
    "Iris flowers (table)": iris_project,
    "Write like the poets (text)": text_project,
    "XOR": xor_project,
}


# ---------------------------------------------------------------------------------------------- examples
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


#: The bundled examples, in the order the start page shows them. Each description states the quality
#: the example reaches and how soon, measured on 2 cores with the project's own settings (the tests in
#: tests/engine/test_examples.py train every one headless to its figure).
EXAMPLES: tuple[Example, ...] = (
    Example(
        "cat",
        "Paint the cat",
        "A coordinate network with Fourier features learns the bundled 128x128 cat pixel by pixel; the "
        "painting sharpens within seconds and passes 30 dB PSNR in about 12 epochs (well under a minute).",
        "image",
        cat_project,
        thumbnails.cat,
    ),
    Example(
        "photo",
        "Paint a photograph",
        "Chelsea the cat, a 225x150 photograph, painted by the same kind of network: fur and whiskers "
        "appear as it trains, past 25 dB PSNR in 7 epochs (119 steps, about half a minute of CPU). Drop "
        "any picture on the window to paint that one instead.",
        "image",
        chelsea_project,
        thumbnails.chelsea,
    ),
    Example(
        "digits",
        "Digits classifier",
        "An MLP learns to read 1,797 handwritten 8x8 digits (a table of 64 pixels); about 97% validation "
        "accuracy within seconds.",
        "image",
        digits_project,
        thumbnails.digits,
    ),
    Example(
        "digits-cnn",
        "Digits CNN",
        "The same digits as 1x8x8 images through a small convolutional network; about 97% validation "
        "accuracy in under a minute.",
        "image",
        digits_cnn_project,
        thumbnails.digits,
    ),
    Example(
        "shapes",
        "Shapes from a folder (images)",
        "Circles, squares and triangles: 450 pictures of 24x24 in one folder per class, imported like your "
        "own image folders, and a CNN that tells them apart: about 80% validation accuracy in 40 epochs "
        "(about 5 s of CPU).",
        "image",
        shapes_project,
        thumbnails.shapes,
    ),
    Example(
        "iris",
        "Iris flowers (table)",
        "A CSV table of 150 flowers: four measurements in, the species column as the label; an MLP reaches "
        "about 95% validation accuracy in a few seconds.",
        "table",
        iris_project,
        thumbnails.iris,
    ),
    Example(
        "text",
        "Write like the poets (text)",
        "A GRU reads public-domain verse one character at a time and writes its own after every epoch: "
        "gibberish first, then words, line breaks and phrases of the poems; over 80% next-character "
        "accuracy in 6 epochs (about 6 s of CPU).",
        "text",
        text_project,
        thumbnails.text,
    ),
    Example(
        "xor",
        "XOR",
        "The classic: four points no straight line separates; a hidden layer of 8 tanh units gets all four "
        "right in a few seconds.",
        "toy",
        xor_project,
        thumbnails.xor,
    ),
)


def example(key: str) -> Example:
    """The example called ``key`` (its ``key`` or its ``title``); ``KeyError`` names the known ones."""
    for item in EXAMPLES:
        if key in (item.key, item.title):
            return item
    raise KeyError(f"unknown example {key!r}; known: {', '.join(e.key for e in EXAMPLES)}")
