"""Layers, one family per module; every type registers for ``Layer.from_spec({"type": ...})``."""

from .base import Layer, LayerError, LayerShapeError, layer_class, layer_types
from .conv import Conv1D, Conv2D
from .core import Activation, Dense, Dropout, Flatten, Input, Reshape
from .losses import BinaryCrossEntropy, LossHead, SoftmaxCrossEntropy, SquaredError
from .merge import Add, Concatenate, Multiply

__all__ = [
    "Layer", "LayerError", "LayerShapeError", "layer_class", "layer_types",
    "Input", "Dense", "Flatten", "Reshape", "Activation", "Dropout", "Conv1D", "Conv2D",
    "Add", "Concatenate", "Multiply", "LossHead", "SoftmaxCrossEntropy", "SquaredError", "BinaryCrossEntropy",
]
