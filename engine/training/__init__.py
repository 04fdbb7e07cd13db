"""Training: the :class:`Trainer`, metrics, and what ``fit`` accepts as data."""

from .losses import resolve_loss
from .metrics import Accuracy, MeanAbsoluteError, MeanSquaredError, Metric, TopKAccuracy, get_metric
from .trainer import Trainer

__all__ = [
    "Trainer",
    "Metric",
    "Accuracy",
    "TopKAccuracy",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "get_metric",
    "resolve_loss",
]
