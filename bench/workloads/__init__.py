"""The training workloads of ``python -m bench train``: sizes, synthetic data and step builders.

Each workload has three implementations of ONE training step (forward + backward + optimiser update),
each built by a function ``build(config, x, y) -> step`` where ``step()`` runs one step on the fixed
batch ``(x, y)``:

- ``numpy``: the hand-written reference in ``bench/workloads/numpy_*.py`` (the floor),
- ``torch``: PyTorch CPU (only when ``import torch`` works),
- ``engine``: our engine through its public API (``bench/workloads/engine_steps.py``): the bare step,
- ``fit`` and ``studio``: the engine through ``Trainer.fit``, without hooks and with the hooks
  ``engine.run.build_run`` installs (a step is then several iterations: ``step.iterations``).

Every builder raises :class:`Unavailable` with a reason when it cannot run (no torch, an engine part
that has not landed yet), which the suite reports instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Unavailable", "Workload", "WORKLOADS", "IMPLEMENTATIONS", "get", "make_data", "build_step"]

IMPLEMENTATIONS = ("engine", "fit", "studio", "numpy", "torch")


class Unavailable(RuntimeError):
    """An implementation cannot run this workload here; the message says why."""


@dataclass(frozen=True)
class Workload:
    """A named workload: its kind, its full (benchmark) and tiny (smoke test) sizes."""

    name: str
    kind: str  # "mlp_ce", "cnn", "lstm", "gru", "coord_mlp"
    title: str
    full: dict = field(default_factory=dict)
    tiny: dict = field(default_factory=dict)

    def config(self, tiny: bool = False) -> dict:
        return dict(self.tiny if tiny else self.full)


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            "W1",
            "mlp_ce",
            "MLP 784-512-256-10 ReLU, softmax CE, SGD momentum, batch 128",
            full={"sizes": (784, 512, 256, 10), "batch": 128, "lr": 0.01},
            tiny={"sizes": (12, 8, 6, 4), "batch": 5, "lr": 0.01},
        ),
        Workload(
            "W2",
            "cnn",
            "CNN conv16-pool-conv32-pool-dense10 on 1x28x28, Adam, batch 64",
            full={"batch": 64, "in_channels": 1, "size": 28, "channels": (16, 32), "classes": 10, "lr": 1e-3},
            tiny={"batch": 3, "in_channels": 1, "size": 8, "channels": (2, 3), "classes": 4, "lr": 1e-3},
        ),
        Workload(
            "W3-LSTM",
            "lstm",
            "LSTM 32->128, 50 steps, dense on last -> 10, Adam, batch 64",
            full={"batch": 64, "steps": 50, "inputs": 32, "hidden": 128, "classes": 10, "lr": 1e-3},
            tiny={"batch": 3, "steps": 4, "inputs": 3, "hidden": 5, "classes": 4, "lr": 1e-3},
        ),
        Workload(
            "W3-GRU",
            "gru",
            "GRU 32->128, 50 steps, dense on last -> 10, Adam, batch 64",
            full={"batch": 64, "steps": 50, "inputs": 32, "hidden": 128, "classes": 10, "lr": 1e-3},
            tiny={"batch": 3, "steps": 4, "inputs": 3, "hidden": 5, "classes": 4, "lr": 1e-3},
        ),
        Workload(
            "W4",
            "coord_mlp",
            "coordinate MLP 2-256-256-256-3, sigmoid, MSE, Adam, batch 4096",
            full={"sizes": (2, 256, 256, 256, 3), "batch": 4096, "lr": 1e-3},
            tiny={"sizes": (2, 6, 6, 6, 3), "batch": 7, "lr": 1e-3},
        ),
    )
}


def get(name: str) -> Workload:
    """The workload called ``name`` (case-insensitive); a clear error listing the known names otherwise."""
    for key, w in WORKLOADS.items():
        if key.lower() == name.strip().lower():
            return w
    raise KeyError(f"Unknown workload {name!r}. Known: {', '.join(WORKLOADS)}")


def make_data(workload: Workload, config: dict, seed: int = 0, dtype=np.float32):
    """One synthetic batch ``(x, y)`` from a fixed seed, the same for every implementation.

    Shapes: W1 x (batch, 784), y int64 (batch,); W2 x (batch, C, H, W) NCHW; W3 x (batch, steps, inputs);
    W4 x (batch, 2) in [-1, 1], y (batch, 3) in [0, 1].
    """
    rng = np.random.default_rng(seed)
    b = config["batch"]
    kind = workload.kind
    if kind == "mlp_ce":
        x = rng.standard_normal((b, config["sizes"][0]))
        y = rng.integers(0, config["sizes"][-1], size=b)
    elif kind == "cnn":
        x = rng.random((b, config["in_channels"], config["size"], config["size"]))
        y = rng.integers(0, config["classes"], size=b)
    elif kind in ("lstm", "gru"):
        x = rng.standard_normal((b, config["steps"], config["inputs"]))
        y = rng.integers(0, config["classes"], size=b)
    elif kind == "coord_mlp":
        x = rng.uniform(-1, 1, size=(b, config["sizes"][0]))
        y = rng.random((b, config["sizes"][-1]))
    else:
        raise ValueError(f"unknown workload kind {kind!r}")
    y = y.astype(np.int64) if y.dtype.kind == "i" else y.astype(dtype)
    return np.ascontiguousarray(x, dtype=dtype), y


def build_step(implementation: str, workload: Workload, config: dict, x, y, seed: int = 0):
    """A zero-argument callable running one training step of ``implementation`` on ``(x, y)``.

    Raises
    ------
    Unavailable
        When that implementation cannot run here (with the reason).
    """
    if implementation == "numpy":
        from .numpy_steps import build
    elif implementation == "torch":
        from .torch_steps import build
    elif implementation == "engine":
        from .engine_steps import build
    elif implementation == "fit":
        from .engine_steps import build_fit as build
    elif implementation == "studio":
        from .engine_steps import build_studio as build
    else:
        raise KeyError(f"Unknown implementation {implementation!r}. Known: {', '.join(IMPLEMENTATIONS)}")
    return build(workload, config, x, y, seed)
