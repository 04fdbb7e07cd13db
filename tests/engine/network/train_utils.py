"""A tiny training loop for the network tests (the real Trainer lives in engine.training)."""

from __future__ import annotations

import numpy as np

from engine.autodiff import no_grad
from engine.optim import Adam


def batches(n, batch_size, rng):
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def take(inputs, idx):
    if isinstance(inputs, dict):
        return {k: v[idx] for k, v in inputs.items()}
    return inputs[idx]


def train(net, inputs, targets, epochs, batch_size=32, learning_rate=1e-2, seed=0):
    """Minibatch Adam on ``net.loss_head``; returns the mean loss of each epoch."""
    rng = np.random.default_rng(seed)
    opt = Adam(learning_rate)
    params = net.parameters()
    n = len(targets)
    history = []
    for _ in range(epochs):
        losses = []
        for idx in batches(n, batch_size, rng):
            net.zero_grad()
            loss = net.loss_head.loss(net(take(inputs, idx), training=True), targets[idx])
            loss.backward()
            opt.step(params)
            losses.append(loss.item())
        history.append(float(np.mean(losses)))
    return history


def accuracy(net, inputs, targets):
    """Share of samples whose arg-max output is the target class (over the last axis)."""
    with no_grad():
        out = net(inputs).numpy()
    return float((out.argmax(axis=-1) == targets).mean())


def digits_split(seed=0, test_fraction=0.2):
    """The digits sample as (x_train, y_train, x_test, y_test), shuffled with ``seed``."""
    from engine.data import samples

    d = samples.digits()
    x, y = np.asarray(d["inputs"]), np.asarray(d["targets"])
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(len(y) * test_fraction)
    test, train_ = order[:n_test], order[n_test:]
    return x[train_], y[train_], x[test], y[test]
