"""Where a classifier goes wrong on validation data: the samples behind a confusion cell, the most
confused pairs of classes and the most confidently wrong samples.

All functions take the arrays of a :class:`~engine.events.ValidationPredictions` event: ``probabilities``
(N, C) and ``targets`` (N,) class indices. They return positions into those arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cell_samples", "class_samples", "confused_pairs", "worst_samples"]


def _confidence_order(probabilities: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``rows`` sorted by the probability of their predicted class, most confident first (stable)."""
    confidence = probabilities[rows].max(axis=1)
    return rows[np.argsort(-confidence, kind="stable")]


def cell_samples(probabilities, targets, true: int, predicted: int) -> np.ndarray:
    """Samples of class ``true`` predicted as ``predicted`` (the confusion cell ``[true, predicted]``),
    most confident first. int64 (M,)."""
    probabilities, targets = np.asarray(probabilities), np.asarray(targets)
    rows = np.flatnonzero((targets == true) & (probabilities.argmax(axis=1) == predicted))
    return _confidence_order(probabilities, rows)


def class_samples(probabilities, targets, true: int) -> np.ndarray:
    """Samples of class ``true``: the misclassified ones first (most confidently wrong first), then the
    right ones (least confident first, the next to go wrong). int64 (M,)."""
    probabilities, targets = np.asarray(probabilities), np.asarray(targets)
    predicted = probabilities.argmax(axis=1)
    wrong = _confidence_order(probabilities, np.flatnonzero((targets == true) & (predicted != true)))
    right = _confidence_order(probabilities, np.flatnonzero((targets == true) & (predicted == true)))[::-1]
    return np.concatenate([wrong, right]).astype(np.int64)


def confused_pairs(matrix, top: int = 10) -> list[tuple[int, int, int]]:
    """The ``top`` off-diagonal cells of a confusion matrix ``[true, predicted]`` with the most samples:
    ``[(true, predicted, count), ...]``, largest first, empty cells left out."""
    m = np.asarray(matrix)
    cells = [
        (int(m[t, p]), t, p) for t in range(m.shape[0]) for p in range(m.shape[1]) if t != p and m[t, p] > 0
    ]
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [(t, p, n) for n, t, p in cells[:top]]


def worst_samples(probabilities, targets, count: int = 16) -> np.ndarray:
    """The ``count`` misclassified samples whose wrong prediction is the most confident. int64."""
    probabilities, targets = np.asarray(probabilities), np.asarray(targets)
    wrong = np.flatnonzero(probabilities.argmax(axis=1) != targets)
    return _confidence_order(probabilities, wrong)[:count]
