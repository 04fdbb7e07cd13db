"""Builders of the hand-written numpy reference steps for each workload kind."""

from __future__ import annotations

import numpy as np

from .numpy_cnn import CNNStep
from .numpy_mlp import MLPStep
from .numpy_rnn import RNNStep

__all__ = ["build", "make_reference"]


def make_reference(kind: str, config: dict, dtype=np.float32, seed: int = 0):
    """The reference for a workload kind: has ``forward_backward``, ``step``, ``params``, ``grads``."""
    lr = config["lr"]
    if kind == "mlp_ce":
        return MLPStep(config["sizes"], config["batch"], "softmax_ce", "momentum", dtype, seed, lr)
    if kind == "coord_mlp":
        return MLPStep(config["sizes"], config["batch"], "sigmoid_mse", "adam", dtype, seed, lr)
    if kind == "cnn":
        return CNNStep(
            config["batch"],
            config["in_channels"],
            config["size"],
            tuple(config["channels"]),
            config["classes"],
            dtype,
            seed,
            lr,
        )
    if kind in ("lstm", "gru"):
        return RNNStep(
            kind,
            config["batch"],
            config["steps"],
            config["inputs"],
            config["hidden"],
            config["classes"],
            dtype,
            seed,
            lr,
        )
    raise ValueError(f"unknown workload kind {kind!r}")


def build(workload, config: dict, x, y, seed: int = 0):
    """One training step of the numpy reference on the fixed batch ``(x, y)``: returns ``step()``."""
    ref = make_reference(workload.kind, config, x.dtype, seed)

    def step():
        return ref.step(x, y)

    return step
