"""Metrics on sequence outputs stay per-sample fractions (a next-character model's accuracy is a share)."""

import numpy as np

from engine.training.metrics import get_metric


def test_accuracy_of_sequences_is_the_share_of_right_steps():
    outputs = np.zeros((2, 4, 3))
    outputs[..., 0] = 1.0  # every step predicts class 0
    targets = np.array([[0, 0, 0, 0], [0, 1, 2, 1]])
    assert get_metric("accuracy").batch_sum(np, outputs, targets) == 1.0 + 0.25
    outputs[..., 1] = 0.5  # second choice: class 1
    assert get_metric("top2_accuracy").batch_sum(np, outputs, targets) == 1.0 + 0.75


def test_accuracy_of_single_labels_counts_samples():
    outputs = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert get_metric("accuracy").batch_sum(np, outputs, np.array([1, 1, 1])) == 2.0
