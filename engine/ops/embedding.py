"""Embedding lookup: rows of a weight table picked by integer indices, with a scatter-add backward."""

from __future__ import annotations

from ..autodiff.errors import DTypeError, ShapeError
from ..autodiff.function import Function
from ..autodiff.tensor import Tensor, as_tensor

__all__ = ["embedding"]


class Embedding(Function):
    def __init__(self, indices):
        super().__init__()
        self.indices = indices

    def forward(self, xp, w):
        return w.take(self.indices, axis=0)

    def backward(self, g):
        return (EmbeddingGrad(self.indices, self.inputs[0].shape)(g),)


class EmbeddingGrad(Function):
    """Add each gradient row into the table row it was read from (repeated indices accumulate)."""

    def __init__(self, indices, table_shape):
        super().__init__()
        self.indices, self.table_shape = indices, tuple(table_shape)

    def forward(self, xp, g):
        out = xp.zeros(self.table_shape, dtype=g.dtype)
        xp.add.at(out, self.indices.reshape(-1), g.reshape(-1, *self.table_shape[1:]))
        return out

    def backward(self, h):
        return (Embedding(self.indices)(h),)


def embedding(indices, weights):
    """Look up rows of ``weights``.

    Parameters
    ----------
    indices : integer array or Tensor, any shape S
        Values in ``[0, V)``.
    weights : Tensor, shape (V, D)

    Returns
    -------
    Tensor, shape S + (D,).
    """
    weights = as_tensor(weights)
    idx = indices.data if isinstance(indices, Tensor) else indices
    idx = weights.xp.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise DTypeError(
            f"embedding: indices must be integers, got dtype {idx.dtype} with shape {tuple(idx.shape)}"
        )
    if weights.ndim < 2:
        raise ShapeError(f"embedding: weights must have shape (V, D), got {weights.shape}")
    v = weights.shape[0]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= v):
        raise ShapeError(
            f"embedding: indices span [{int(idx.min())}, {int(idx.max())}] "
            f"but the table {weights.shape} has {v} rows"
        )
    return Embedding(idx)(weights)
