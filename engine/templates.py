"""Sample projects and the bundled examples (the studio's start page, ``sigma new --template``), with
the network templates of :mod:`engine.network_templates` re-exported (the builder's Templates menu).

Every function returns a plain network spec or an :class:`~engine.project.Project`; nothing here builds
layers, so the GUI can list and preview them cheaply.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import thumbnails
from .network_templates import (
    NETWORK_TEMPLATES,
    cat_painter,
    char_model,
    lenet,
    lstm_classifier,
    mlp,
    relu_painter,
    residual_block,
    siren_painter,
)
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
    from .data import samples  # the vocabulary size comes from the bundled corpus

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
