"""A worker: computes the loss and the gradients of one batch shard on its own backend.

The operator owns run state and the optimiser step; a worker only does forward and backward. Each
worker has a local copy of the trainer's registry (``worker.registry``) that the operator updates at
iteration boundaries, and is the view the hooks placed ``"local"`` see: the operator runs them on each
worker that computed a shard, after every shard is done and before the optimiser step. Data-parallel
operators create one worker per thread or device, each with its own copy of the network; the single
CPU worker uses the trainer's network itself, so its gradients are already where the optimiser looks.
"""

from __future__ import annotations

import dataclasses

from ..autodiff.tensor import Tensor

__all__ = ["Worker", "WorkerResult"]


@dataclasses.dataclass
class WorkerResult:
    """What a worker hands back for one shard.

    Attributes
    ----------
    loss : array
        0-d device array, mean loss over the shard (no host sync was made to get it).
    size : int
        Samples in the shard.
    metrics : dict of str -> array
        Per-metric sums over the shard (0-d device arrays).
    gradients : dict of str -> array
        The gradients by parameter identifier (views of the worker's ``param.grad`` arrays).
    """

    loss: object
    size: int
    metrics: dict
    gradients: dict


class Worker:
    """Forward and backward passes for batch shards.

    Parameters
    ----------
    network : Network
        Follows the Network contract: ``network(inputs, training=True)``, ``network.parameters()``.
    loss : callable(outputs, targets) -> Tensor
        Returns the mean loss over the shard as a 0-d tensor.
    backend : Backend
        Where the shard's arrays are moved before the forward pass.
    registry : Registry
        This worker's local copy of the trainer's registry.
    metrics : sequence of Metric
        Each has ``name`` and ``batch_sum(xp, outputs, targets) -> 0-d array``.
    index : int
        Worker number (0 for the single worker).
    """

    def __init__(self, network, loss, backend, registry, metrics=(), index: int = 0):
        self.network = network
        self.loss = loss
        self.backend = backend
        self.registry = registry
        self.metrics = list(metrics)
        self.index = index
        self.iteration = 0
        self.epoch = 0
        self.last: WorkerResult | None = None
        self._params = None

    @property
    def parameters(self) -> dict:
        """The worker's parameters by identifier (cached: the dict of a built network does not change)."""
        if self._params is None:
            self._params = dict(self.network.parameters())
        return self._params

    def apply_changes(self, changes) -> None:
        """Take registry changes made elsewhere: ``[(identifier, value), ...]``."""
        for identifier, value in changes:
            self.registry.set(identifier, value)

    def compute(self, batch: dict) -> WorkerResult:
        """Loss and gradients for ``batch`` (``{"inputs": (B, ...), "targets": (B, ...)}``, host arrays)."""
        inputs = self.backend.from_host(batch["inputs"])
        targets = self.backend.from_host(batch["targets"])
        params = self.parameters
        for p in params.values():
            p.grad = None
        outputs = self.network(inputs, training=True)
        loss = self.loss(outputs, targets)
        if not isinstance(loss, Tensor) or loss.size != 1:
            raise ValueError(
                f"the loss must be a one-element tensor, got {type(loss).__name__} "
                f"of shape {getattr(loss, 'shape', None)}"
            )
        loss.backward()
        out_data = outputs.data if isinstance(outputs, Tensor) else outputs
        xp = self.backend.xp
        metrics = {m.name: m.batch_sum(xp, out_data, targets) for m in self.metrics}
        grads = {k: p.grad.data for k, p in params.items() if p.grad is not None}
        self.last = WorkerResult(loss.data, int(batch["inputs"].shape[0]), metrics, grads)
        return self.last

    # ------------------------------------------------------------------ the view local hooks see
    def value(self, name: str):
        """The last shard's mean ``loss``, a metric's shard mean, or a value from the local registry."""
        last = self.last
        if last is not None:
            if name == "loss":  # a data-parallel worker's loss is its share n_k / N of the batch mean
                weight = getattr(getattr(self, "context", None), "weight", 1.0)
                return float(last.loss) / weight if weight else float(last.loss)
            if name in last.metrics:
                return float(last.metrics[name]) / max(1, last.size)
        value = self.registry.get(name, None) if "." in name else None
        return None if value is None else float(value)
