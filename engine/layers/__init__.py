"""Layers, one family per module; every type registers for ``Layer.from_spec({"type": ...})``."""

from .base import Layer, LayerError, LayerShapeError, layer_class, layer_types
from .composition import Node, Stack  # noqa: F401 - attaches Layer + and *; engine.network re-exports them
from .conv import Conv1D, Conv2D
from .coordinates import FourierFeatures, Siren
from .core import ACTIVATIONS, Activation, Dense, Dropout, Flatten, Input, Reshape
from .embedding import Embedding
from .losses import BinaryCrossEntropy, LossHead, SoftmaxCrossEntropy, SquaredError
from .merge import Add, Concatenate, Multiply
from .normalization import BatchNorm, LayerNorm
from .pooling import AvgPool2D, GlobalAvgPool, MaxPool2D
from .recurrent import GRU, LSTM, SimpleRNN

__all__ = [
    "Layer",
    "LayerError",
    "LayerShapeError",
    "layer_class",
    "layer_types",
    "ACTIVATIONS",
    "Input",
    "Dense",
    "Flatten",
    "Reshape",
    "Activation",
    "Dropout",
    "FourierFeatures",
    "Siren",
    "Conv1D",
    "Conv2D",
    "MaxPool2D",
    "AvgPool2D",
    "GlobalAvgPool",
    "BatchNorm",
    "LayerNorm",
    "Embedding",
    "SimpleRNN",
    "LSTM",
    "GRU",
    "Add",
    "Concatenate",
    "Multiply",
    "LossHead",
    "SoftmaxCrossEntropy",
    "SquaredError",
    "BinaryCrossEntropy",
]
