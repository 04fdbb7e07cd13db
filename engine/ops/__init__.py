"""Differentiable operations, grouped by family. Every op has a float64 finite-difference test."""

from .linalg import linear, matmul
from .math import (
    abs, add, astype, clip, div, exp, log, maximum, minimum, mul, neg, pow, reciprocal, sign, sqrt,
    square, sub, where,
)
from .reductions import argmax, argmin, broadcast_to, logsumexp, max, mean, min, std, sum, sum_to, var
from .shape import concat, expand_dims, flatten, getitem, pad, reshape, split, squeeze, stack, swapaxes, transpose
