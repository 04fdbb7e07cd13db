"""Loss heads: the last node of a network that trains, naming how its outputs meet the targets.

A loss head passes its input through unchanged (``net(x)`` returns the raw outputs, e.g. logits), and
adds :meth:`LossHead.loss` (outputs, targets -> scalar Tensor, the mean over samples) and
:meth:`LossHead.predict` (outputs -> what a user reads: class probabilities, values).
"""

from __future__ import annotations

from ..autodiff.tensor import Tensor
from ..ops import activations as act
from ..ops import losses as L
from ..ops.shape import reshape
from .base import Layer, check_rate

__all__ = ["LossHead", "SoftmaxCrossEntropy", "SquaredError", "BinaryCrossEntropy"]


class LossHead(Layer):
    """Base of the loss heads."""

    is_loss = True
    name_prefix = "loss"

    def forward(self, x, training=False):
        return x

    def loss(self, outputs, targets) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict(self, outputs):
        """The user-facing prediction from the raw outputs (identity here)."""
        return outputs


class SoftmaxCrossEntropy(LossHead):
    """Softmax cross-entropy over the last axis of logits (N, ..., C).

    Targets are class indices (N, ...) or probabilities (N, ..., C); extra axes (time steps) are folded
    into the batch, so each step counts as a sample in the mean.
    """

    type_name = "softmax_cross_entropy"

    def __init__(
        self, label_smoothing: float = 0.0, name: str | None = None, init=None, trainable: bool = True
    ):
        super().__init__(name, init, trainable)
        self.label_smoothing = check_rate(self, "label_smoothing", label_smoothing)

    def config(self):
        return {"label_smoothing": self.label_smoothing}

    def compute_output_shape(self, input_shape):
        if len(input_shape) == 0:
            raise self._shape_error("class scores of shape (classes,)", "a scalar per sample")
        return tuple(input_shape)

    def loss(self, outputs, targets):
        t = targets.data if isinstance(targets, Tensor) else targets
        c = outputs.shape[-1]
        if outputs.ndim > 2:
            outputs = reshape(outputs, (-1, c))
            t = t.reshape(-1, c) if t.dtype.kind == "f" else t.reshape(-1)
        return L.softmax_cross_entropy(outputs, t, label_smoothing=self.label_smoothing)

    def predict(self, outputs):
        return act.softmax(outputs, axis=-1)


class SquaredError(LossHead):
    """Mean squared error between outputs and targets of the same shape (regression)."""

    type_name = "squared_error"

    def loss(self, outputs, targets):
        return L.mean_squared_error(outputs, targets)


class BinaryCrossEntropy(LossHead):
    """Binary cross-entropy of ``sigmoid(outputs)`` against targets in [0, 1], computed from logits."""

    type_name = "binary_cross_entropy"

    def loss(self, outputs, targets):
        return L.binary_cross_entropy_with_logits(outputs, targets)

    def predict(self, outputs):
        return act.sigmoid(outputs)
