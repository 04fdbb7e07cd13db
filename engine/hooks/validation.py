"""Validation scoring: top-k accuracy, per-class precision/recall/F1 and a confusion matrix."""

from __future__ import annotations

import numpy as np

from ..events import ConfusionMatrix, ValidationPredictions
from .base import Hook
from .timestep import TimeStep

__all__ = ["ValidationMetrics", "confusion_matrix", "per_class_metrics", "top_k_accuracy", "as_probabilities"]


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """``matrix[t, p]`` counts of samples of class ``t`` predicted as ``p``: (classes, classes) int64."""
    return np.bincount(true * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def per_class_metrics(matrix: np.ndarray) -> dict:
    """Precision, recall and F1 per class from a confusion matrix (0 where undefined).

    Returns
    -------
    dict with ``precision``, ``recall``, ``f1`` (arrays of shape (classes,)) and ``support`` (int array).
    """
    tp = np.diag(matrix).astype(np.float64)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": actual}


def top_k_accuracy(scores: np.ndarray, true: np.ndarray, k: int) -> float:
    """Fraction of rows of ``scores`` (N, C) whose ``true`` class is among the ``k`` largest."""
    k = min(int(k), scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float((top == true[:, None]).any(axis=1).mean())


def as_probabilities(scores: np.ndarray) -> np.ndarray:
    """Rows of ``scores`` (N, C) as probabilities: kept when they already are (non-negative, summing to
    1), else a softmax of them (logits). float32, a new array."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size and scores.min() >= 0 and np.allclose(scores.sum(axis=1), 1.0, atol=1e-3):
        return scores.astype(np.float32)
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)


class ValidationMetrics(Hook):
    """Score a classifier on a validation set each epoch.

    Adds ``val_top{k}_accuracy`` for each ``k`` and ``val_macro_precision``, ``val_macro_recall``,
    ``val_macro_f1`` to the epoch's record (so early stopping and savers can monitor them), keeps the
    latest per-class metrics in ``self.per_class``, and emits a :class:`~engine.events.ConfusionMatrix`.

    Parameters
    ----------
    data : (inputs, targets) or Dataset
        Targets are class indices (N,) or one-hot (N, C).
    top_k : sequence of int
    classes : sequence of str, optional
        Class names (taken from a Dataset's ``classes`` when not given).
    records : array of int (N,), optional
        Each sample's position in the whole dataset, passed on in the
        :class:`~engine.events.ValidationPredictions` event that follows the confusion matrix (the
        studio's misclassified-samples browser and its sample edits use it).
    """

    default_timestep = TimeStep(1, "epoch")
    priority = 100

    def __init__(
        self, data, top_k=(1, 5), classes=None, timestep: TimeStep | None = None, records=None, **kwargs
    ):
        super().__init__(timestep, **kwargs)
        if isinstance(data, tuple | list):
            self.inputs, targets = np.asarray(data[0], np.float32), np.asarray(data[1])
        else:
            self.inputs, targets = np.asarray(data["inputs"], np.float32), np.asarray(data["targets"])
            classes = classes if classes is not None else getattr(data, "classes", None)
        self.targets = targets.argmax(axis=1) if targets.ndim == 2 else targets.astype(np.int64)
        self.top_k = tuple(int(k) for k in top_k)
        self.classes = None if classes is None else tuple(str(c) for c in classes)
        self.per_class: dict = {}
        self.matrix: np.ndarray | None = None
        self.records = None if records is None else np.asarray(records, dtype=np.int64)
        if self.records is not None and len(self.records) != len(self.targets):
            raise ValueError(
                f"ValidationMetrics: {len(self.records)} records for {len(self.targets)} validation samples"
            )

    def run(self, trainer):
        scores = trainer.predict(self.inputs)
        scores = scores.reshape(len(scores), -1)
        n_classes = scores.shape[1]
        if self.targets.size and int(self.targets.max()) >= n_classes:
            raise ValueError(
                f"ValidationMetrics: target class {int(self.targets.max())} but the network has "
                f"{n_classes} outputs"
            )
        predicted = scores.argmax(axis=1)
        self.matrix = confusion_matrix(self.targets, predicted, n_classes)
        self.per_class = per_class_metrics(self.matrix)
        record = trainer.epoch_record
        for k in self.top_k:
            record[f"val_top{k}_accuracy"] = top_k_accuracy(scores, self.targets, k)
        for name in ("precision", "recall", "f1"):
            record[f"val_macro_{name}"] = float(self.per_class[name].mean())
        for k, v in record.items():
            if k.startswith("val_"):
                trainer.record_value(k, v)
        trainer.events.emit(
            ConfusionMatrix(
                source=trainer.name, epoch=trainer.epoch, matrix=self.matrix.copy(), classes=self.classes
            )
        )
        trainer.events.emit(
            ValidationPredictions(
                source=trainer.name,
                epoch=trainer.epoch,
                iteration=trainer.iteration,
                probabilities=as_probabilities(scores),
                targets=self.targets.copy(),
                records=None if self.records is None else self.records.copy(),
                classes=self.classes,
            )
        )
