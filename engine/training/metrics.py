"""Training metrics computed on the device as per-batch sums (no host sync per step).

A metric has a ``name`` and ``batch_sum(xp, outputs, targets) -> 0-d array``; the trainer divides by
the number of samples when a report is due.
"""

from __future__ import annotations

__all__ = ["Metric", "Accuracy", "TopKAccuracy", "MeanAbsoluteError", "MeanSquaredError", "get_metric"]


class Metric:
    """Base: a per-sample quantity summed over a batch."""

    name = "metric"

    def batch_sum(self, xp, outputs, targets):  # pragma: no cover - abstract
        raise NotImplementedError


def _class_targets(xp, outputs, targets):
    """Class indices from int targets (N,) or one-hot / probability targets (N, C)."""
    if targets.ndim == outputs.ndim and targets.shape == outputs.shape and targets.dtype.kind == "f":
        return targets.argmax(axis=-1)
    return targets.reshape(targets.shape[0], *outputs.shape[1:-1]) if targets.ndim > 1 else targets


def _per_sample(xp, hits):
    """Sum over the batch of each sample's fraction of hits: a sequence model's sample (N, steps) counts
    as the share of its steps that are right, so accuracy stays a fraction in [0, 1]."""
    if hits.ndim == 1:
        return hits.sum(dtype=xp.float64)
    return hits.reshape(hits.shape[0], -1).mean(axis=1, dtype=xp.float64).sum()


class Accuracy(Metric):
    """Fraction of samples whose largest output is the target class (binary: output > 0 for one unit)."""

    name = "accuracy"

    def batch_sum(self, xp, outputs, targets):
        if outputs.ndim == 1 or outputs.shape[-1] == 1:  # one logit: binary classification
            predicted = outputs.reshape(outputs.shape[0], -1)[:, 0] > 0
            return (predicted == (targets.reshape(-1) > 0.5)).sum(dtype=xp.float64)
        classes = _class_targets(xp, outputs, targets)
        return _per_sample(xp, outputs.argmax(axis=-1) == classes)


class TopKAccuracy(Metric):
    """Fraction of samples whose target class is among the ``k`` largest outputs."""

    def __init__(self, k: int = 5):
        self.k = int(k)
        self.name = f"top{self.k}_accuracy"

    def batch_sum(self, xp, outputs, targets):
        classes = _class_targets(xp, outputs, targets)
        k = min(self.k, outputs.shape[-1])
        top = xp.argpartition(-outputs, k - 1, axis=-1)[..., :k]
        return _per_sample(xp, (top == classes[..., None]).any(axis=-1))


class MeanAbsoluteError(Metric):
    """Mean over samples of the mean absolute error of each sample."""

    name = "mae"

    def batch_sum(self, xp, outputs, targets):
        diff = xp.abs(outputs - targets.reshape(outputs.shape))
        return diff.reshape(diff.shape[0], -1).mean(axis=1).sum(dtype=xp.float64)


class MeanSquaredError(Metric):
    """Mean over samples of the mean squared error of each sample."""

    name = "mse"

    def batch_sum(self, xp, outputs, targets):
        diff = outputs - targets.reshape(outputs.shape)
        return (diff * diff).reshape(diff.shape[0], -1).mean(axis=1).sum(dtype=xp.float64)


_METRICS = {"accuracy": Accuracy, "acc": Accuracy, "mae": MeanAbsoluteError, "mse": MeanSquaredError}


def get_metric(spec) -> Metric:
    """A metric from a name (``"accuracy"``, ``"top5_accuracy"``, ``"mae"``, ``"mse"``) or a Metric."""
    if isinstance(spec, Metric):
        return spec
    name = str(spec).lower()
    if name in _METRICS:
        return _METRICS[name]()
    if name.startswith("top") and name.endswith("_accuracy") and name[3:-9].isdigit():
        return TopKAccuracy(int(name[3:-9]))
    raise ValueError(f"Invalid metric {spec!r}. Expected one of {sorted(_METRICS)} or 'topK_accuracy'.")
