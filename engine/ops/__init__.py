"""Differentiable operations, grouped by family. Every op has a float64 finite-difference test."""

from .linalg import linear, matmul
from .math import (
    abs, add, astype, clip, div, exp, log, maximum, minimum, mul, neg, pow, reciprocal, sign, sqrt,
    square, sub, where,
)
from .reductions import argmax, argmin, broadcast_to, logsumexp, max, mean, min, std, sum, sum_to, var
from .shape import concat, expand_dims, flatten, getitem, pad, reshape, split, squeeze, stack, swapaxes, transpose
from .activations import (
    elu, erf, gelu, leaky_relu, log_softmax, relu, selu, sigmoid, softmax, softplus, softsign, tanh,
)
from .conv import conv1d, conv2d, conv2d_output_shape
from .dropout import dropout, dropout_mask
from .embedding import embedding
from .losses import (
    binary_cross_entropy_with_logits, huber_loss, l1_loss, mean_squared_error, softmax_cross_entropy,
)
from .normalization import batch_norm, layer_norm
from .pooling import avg_pool2d, global_avg_pool2d, max_pool2d
from .recurrent import gru, gru_cell, lstm, lstm_cell
