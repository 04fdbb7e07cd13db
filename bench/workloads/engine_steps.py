"""Our engine's training steps, built through its public API only (the studio's code path).

The network is written the Sigma way (``Input(...) + Dense(...) + ...``), handed to
``engine.training.Trainer`` with an ``engine.optim`` optimiser and a loss name, and one step is what the
trainer's operator does per iteration: ``operator.compute(batch)`` (the worker's forward, loss and
backward) followed by ``optimiser.step(parameters)``. Data loading, hooks and metric tallies are left
out, as they are for the numpy and PyTorch steps.
"""

from __future__ import annotations

from . import Unavailable

__all__ = ["build", "make_trainer"]


def _engine():
    """The engine modules the bench needs, or :class:`Unavailable` naming what is missing."""
    try:
        import engine.layers as layers
        import engine.optim as optim
        from engine.network import Network
        from engine.training import Trainer
    except ImportError as exc:
        raise Unavailable(f"engine part missing: {exc}") from exc
    return layers, optim, Network, Trainer


def _layer(layers, name):
    cls = getattr(layers, name, None)
    if cls is None:
        raise Unavailable(f"engine.layers has no {name}")
    return cls


def _architecture(layers, kind: str, config: dict):
    """The workload's network as a Sigma stack, and the trainer's loss name."""
    Input, Dense = _layer(layers, "Input"), _layer(layers, "Dense")
    if kind in ("mlp_ce", "coord_mlp"):
        sizes = config["sizes"]
        arch = Input((sizes[0],))
        for units in sizes[1:-1]:
            arch = arch + Dense(units, activation="relu")
        if kind == "mlp_ce":
            return arch + Dense(sizes[-1]), "softmax_cross_entropy"
        return arch + Dense(sizes[-1], activation="sigmoid"), "mean_squared_error"
    if kind == "cnn":
        Conv2D, MaxPool2D = _layer(layers, "Conv2D"), _layer(layers, "MaxPool2D")
        Flatten = _layer(layers, "Flatten")
        c1, c2 = config["channels"]
        arch = (
            Input((config["in_channels"], config["size"], config["size"]))
            + Conv2D(c1, 3, padding="same", activation="relu")
            + MaxPool2D(2)
            + Conv2D(c2, 3, padding="same", activation="relu")
            + MaxPool2D(2)
            + Flatten()
            + Dense(config["classes"])
        )
        return arch, "softmax_cross_entropy"
    if kind in ("lstm", "gru"):
        cell = _layer(layers, kind.upper())
        arch = (
            Input((config["steps"], config["inputs"]))
            + cell(config["hidden"], return_sequences=False)
            + Dense(config["classes"])
        )
        return arch, "softmax_cross_entropy"
    raise ValueError(f"unknown workload kind {kind!r}")


def make_trainer(workload, config: dict, seed: int = 0):
    """A Trainer for the workload (network, optimiser, loss), as a user or the studio would build it."""
    layers, optim, Network, Trainer = _engine()
    arch, loss = _architecture(layers, workload.kind, config)
    network = Network(arch, seed=seed)
    if workload.kind == "mlp_ce":
        optimiser = optim.Momentum(learning_rate=config["lr"], momentum=0.9)
    else:
        optimiser = optim.Adam(learning_rate=config["lr"])
    return Trainer(network, optimiser=optimiser, loss=loss, batch_size=config["batch"], seed=seed)


def build(workload, config: dict, x, y, seed: int = 0):
    """One engine training step on the fixed batch ``(x, y)``: returns ``step()`` (returns the loss).

    Raises
    ------
    Unavailable
        When a part of the engine this workload needs has not landed.
    """
    trainer = make_trainer(workload, config, seed)
    operator = trainer.operator
    for needed in ("make_workers", "compute"):
        if not hasattr(operator, needed):
            raise Unavailable(f"the trainer's operator has no {needed}()")
    # what Operator.run sets up before its loop
    operator.workers = operator.make_workers()
    operator.parameters = dict(trainer.network.parameters())
    optimiser = trainer.optimiser
    params = operator.parameters
    batch = {"inputs": x, "targets": y}

    def step():
        result = operator.compute(batch)
        optimiser.step(params)
        return result.loss

    return step
