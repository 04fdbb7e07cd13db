"""Inverted dropout with the mask drawn on the host (so CPU and CUDA runs see the same numbers)."""

from __future__ import annotations

import numpy as np

from ..autodiff.tensor import Tensor, as_tensor
from .math import mul

__all__ = ["dropout", "dropout_mask"]


def dropout_mask(shape, rate, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """A host array of ``shape`` holding ``0`` (dropped, probability ``rate``) or ``1 / (1 - rate)``."""
    dtype = np.dtype(dtype)
    keep = rng.random(shape, dtype=np.float32) >= np.float32(rate)
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - rate))


def dropout(x, rate, training, rng: np.random.Generator):
    """Inverted dropout: in training, zero each element with probability ``rate`` and scale the rest by
    ``1 / (1 - rate)`` so the expected value is unchanged; in inference, return ``x`` as is.

    Parameters
    ----------
    x : Tensor
    rate : float in [0, 1)
    training : bool
    rng : numpy.random.Generator
        Source of the mask, drawn on the host and copied to ``x``'s device (see docs/INTERFACES.md).

    Returns
    -------
    Tensor, the shape of ``x``. The gradient is the same mask times the incoming gradient.
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout: invalid value for `rate`. Expected 0 <= rate < 1. Received: {rate}")
    x = as_tensor(x)
    if not training or rate == 0.0:
        return x
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"dropout: `rng` must be a numpy.random.Generator, got {type(rng).__name__}")
    mask = dropout_mask(x.shape, rate, rng, x.dtype)
    if not isinstance(x.data, np.ndarray):
        mask = x.xp.asarray(mask)
    return mul(x, Tensor(mask))
