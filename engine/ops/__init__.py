"""Differentiable operations, grouped by family. Every op has a float64 finite-difference test."""

from .activations import (
    elu,
    erf,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    selu,
    sigmoid,
    softmax,
    softplus,
    softsign,
    tanh,
)
from .conv import conv1d, conv2d, conv2d_output_shape
from .dropout import dropout, dropout_mask
from .embedding import embedding
from .linalg import linear, matmul
from .losses import (
    binary_cross_entropy_with_logits,
    huber_loss,
    l1_loss,
    mean_squared_error,
    softmax_cross_entropy,
)
from .math import (
    abs,
    add,
    astype,
    clip,
    div,
    exp,
    log,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    reciprocal,
    sign,
    sqrt,
    square,
    sub,
    where,
)
from .normalization import batch_norm, layer_norm
from .pooling import avg_pool2d, global_avg_pool2d, max_pool2d, relu_max_pool2d
from .recurrent import gru, gru_cell, lstm, lstm_cell
from .reductions import argmax, argmin, broadcast_to, logsumexp, max, mean, min, std, sum, sum_to, var
from .shape import (
    concat,
    expand_dims,
    flatten,
    getitem,
    pad,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    transpose,
)

__all__ = [
    "abs", "add", "argmax", "argmin", "astype", "avg_pool2d", "batch_norm",
    "binary_cross_entropy_with_logits", "broadcast_to", "clip", "concat", "conv1d", "conv2d",
    "conv2d_output_shape", "div", "dropout", "dropout_mask", "elu", "embedding", "erf", "exp",
    "expand_dims", "flatten", "gelu", "getitem", "global_avg_pool2d", "gru", "gru_cell", "huber_loss",
    "l1_loss", "layer_norm", "leaky_relu", "linear", "log", "log_softmax", "logsumexp", "lstm", "lstm_cell",
    "matmul", "max", "max_pool2d", "maximum", "mean", "mean_squared_error", "min", "minimum", "mul", "neg",
    "pad", "pow", "reciprocal", "relu", "relu_max_pool2d", "reshape", "selu", "sigmoid", "sign", "softmax",
    "softmax_cross_entropy", "softplus", "softsign", "split", "sqrt", "square", "squeeze", "stack", "std",
    "sub", "sum", "sum_to", "swapaxes", "tanh", "transpose", "var", "where",
]
