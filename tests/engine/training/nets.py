"""Small real networks and data shared by the training, hooks, operator and checkpoint tests."""

import numpy as np

from engine.layers import Dense, Dropout, Input, SoftmaxCrossEntropy
from engine.network import Network
from engine.optim import Adam
from engine.training import Trainer


def blobs(n=240, features=6, classes=3, seed=0):
    """Gaussian blobs: inputs (n, features) float32, targets (n,) int64."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(classes, features))
    y = rng.integers(0, classes, size=n)
    x = centres[y] + rng.normal(size=(n, features))
    return x.astype(np.float32), y.astype(np.int64)


def small_net(features=6, classes=3, dropout=0.2, seed=1):
    """An MLP with dropout ending in a softmax cross-entropy head."""
    stack = Input((features,), name="x") + Dense(16, activation="relu", name="fc1")
    if dropout:
        stack = stack + Dropout(dropout, name="drop")
    return Network(stack + Dense(classes, name="fc2") + SoftmaxCrossEntropy(name="loss"), seed=seed)


def small_trainer(
    hooks=(), optimiser=None, seed=3, batch_size=32, dropout=0.2, metrics=("accuracy",), **kwargs
):
    return Trainer(
        small_net(dropout=dropout),
        optimiser=optimiser or Adam(0.01),
        batch_size=batch_size,
        seed=seed,
        hooks=list(hooks),
        metrics=list(metrics),
        **kwargs,
    )
