"""Data parallelism that equals one worker on the whole batch: shards, and shard-aware layers.

Every data-parallel operator (threads, MPI ranks) splits a batch into contiguous row shards and runs
one copy of the network per shard. Three things couple the rows of a batch, and each is handled so that
N workers compute the same update as one worker on the whole batch (to float32 rounding):

- **The loss is a mean over the batch.** Worker ``k`` back-propagates ``w_k * L_k`` with
  ``w_k = n_k / N`` (its share of the rows), so the whole-batch gradient is the plain sum of the
  workers' gradients, and the whole-batch loss the sum of their scaled losses.
- **Batch normalisation** normalises with whole-batch statistics: :class:`SyncBatchNorm` exchanges the
  per-channel sums (forward: sum, then centred sum of squares; backward: the sums of ``g * gamma`` and
  ``g * gamma * xhat``) through the group's ``allreduce``; running statistics update from the
  whole-batch values, identically on every worker.
- **Dropout** draws the mask of the whole batch from a generator in the same state on every worker (the
  trainer network's, copied at each iteration) and applies the worker's rows of it, so the masks and
  the generator's advance are those of a one-worker run.

A group is anything with ``allreduce(array) -> array`` (the element-wise sum over the workers, the same
value on every worker): :class:`ThreadGroup` for threads, an MPI communicator wrapper for ranks.
"""

from __future__ import annotations

import threading

import numpy as np

from ..autodiff.function import Function
from ..autodiff.mode import is_grad_enabled
from ..autodiff.tensor import Tensor, as_tensor
from ..ops.dropout import dropout_mask
from ..ops.math import mul
from ..ops.shape import reshape

__all__ = [
    "shard_bounds",
    "take_rows",
    "batch_rows",
    "ShardContext",
    "ThreadGroup",
    "ScaledLoss",
    "shard_network",
    "SyncBatchNorm",
]


def shard_bounds(total: int, parts: int) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` row ranges for ``parts`` shards of ``total`` rows (sizes differ by at
    most one, larger first); fewer shards when there are fewer rows than parts, none of them empty."""
    parts = max(1, min(int(parts), int(total)))
    base, extra = divmod(int(total), parts)
    bounds, start = [], 0
    for k in range(parts):
        stop = start + base + (1 if k < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def take_rows(value, start: int, stop: int):
    """Rows ``start:stop`` of an array, or of each array of a dict or list (several network inputs)."""
    if isinstance(value, dict):
        return {k: v[start:stop] for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(v[start:stop] for v in value)
    return value[start:stop]


def batch_rows(value) -> int:
    """Number of rows of a batch's inputs (an array, or a dict/list of arrays)."""
    if isinstance(value, dict):
        value = next(iter(value.values()))
    elif isinstance(value, list | tuple):
        value = value[0]
    return int(value.shape[0])


class ShardContext:
    """Where one worker's shard sits in the current batch; shared by the worker's shard-aware layers.

    Attributes
    ----------
    start, stop, total : int
        The worker's rows ``start:stop`` of a batch of ``total`` rows.
    group : ThreadGroup or MPI group
        ``allreduce(array)`` over the workers of this iteration.
    """

    def __init__(self, rank: int = 0):
        self.rank = rank
        self.start, self.stop, self.total = 0, 0, 0
        self.group = None

    def set(self, start: int, stop: int, total: int, group, rank: int | None = None) -> None:
        self.start, self.stop, self.total, self.group = int(start), int(stop), int(total), group
        if rank is not None:
            self.rank = rank

    @property
    def weight(self) -> float:
        """The shard's share of the batch, ``n_k / N``."""
        return (self.stop - self.start) / max(1, self.total)


class ThreadGroup:
    """``allreduce`` across ``parties`` threads: each thread passes its rank and array; every thread gets
    the sum in rank order (so all of them hold bit-identical results).

    A worker that fails calls :meth:`abort`, so the others leave their wait with
    ``threading.BrokenBarrierError`` instead of waiting forever.
    """

    def __init__(self, parties: int):
        self.parties = int(parties)
        self._barrier = threading.Barrier(self.parties)
        self._slots: list = [None] * self.parties

    def allreduce(self, array, rank: int):
        if self.parties == 1:
            return array
        self._slots[rank] = array
        self._barrier.wait()
        total = self._slots[0].copy()
        for other in self._slots[1:]:
            total += other
        self._barrier.wait()  # nobody overwrites a slot before every thread has read them all
        return total

    def abort(self) -> None:
        self._barrier.abort()


class _Reducer:
    """Binds a context to its group: ``allreduce(array)`` for this worker's current iteration."""

    def __init__(self, context: ShardContext):
        self.context = context

    def __call__(self, array):
        group = self.context.group
        if group is None:
            return array
        return group.allreduce(array, self.context.rank)


class ScaledLoss:
    """``loss(outputs, targets) * n_k / N``: the worker's share of the whole-batch mean loss."""

    def __init__(self, loss, context: ShardContext):
        self.loss, self.context = loss, context
        self.__name__ = getattr(loss, "__name__", type(loss).__name__)

    def __call__(self, outputs, targets):
        value = self.loss(outputs, targets)
        weight = self.context.weight
        return value if weight == 1.0 else value * weight


# ---------------------------------------------------------------------------------------- layers
class SyncBatchNorm(Function):
    """Batch normalisation (training mode) with statistics over the rows of every worker.

    Forward: ``mean = allreduce(sum x) / n``, ``var = allreduce(sum (x - mean)^2) / n`` (two passes, as
    the one-worker op, for the same accuracy). Backward: the closed form of the one-worker op with its
    two batch means taken over every worker's rows. Double backward is not available through it.
    """

    def __init__(self, axes, eps, reduce, count):
        super().__init__()
        self.axes, self.eps, self.reduce, self.count = axes, eps, reduce, count

    def forward(self, xp, x, gamma, beta):
        pshape = tuple(1 if i in self.axes else s for i, s in enumerate(x.shape))
        c = x.shape[1]
        mu = self.reduce(x.sum(axis=self.axes)) / x.dtype.type(self.count)
        xc = x - mu.reshape(pshape)
        v = self.reduce((xc * xc).sum(axis=self.axes)) / x.dtype.type(self.count)
        inv_std = 1.0 / xp.sqrt(v + x.dtype.type(self.eps))
        self.batch_mean, self.batch_var = mu.reshape(c), v.reshape(c)
        xc *= inv_std.reshape(pshape)
        self.xhat, self.inv_std, self.pshape = xc, inv_std.reshape(pshape), pshape
        return xc * gamma.reshape(pshape) + beta.reshape(pshape)

    def backward(self, g):
        if is_grad_enabled():
            raise NotImplementedError(
                "double backward through batch normalisation is not available with several "
                "data-parallel workers; train with workers=1 for higher-order gradients"
            )
        x, gamma, beta = self.inputs
        gd, pshape, axes = g.data, self.pshape, self.axes
        gh = gd * gamma.data.reshape(pshape)
        # The two batch means of the closed form, summed over every worker's rows in one exchange.
        local = gh.sum(axis=axes), (gh * self.xhat).sum(axis=axes)
        sums = self.reduce(x.xp.stack(local)) / gd.dtype.type(self.count)
        gx = None
        if x.requires_grad:
            gx = gh - sums[0].reshape(pshape)
            gx -= self.xhat * sums[1].reshape(pshape)
            gx *= self.inv_std
            gx = Tensor(gx)
        ggamma = Tensor((gd * self.xhat).sum(axis=axes)) if gamma.requires_grad else None
        gbeta = Tensor(gd.sum(axis=axes)) if beta.requires_grad else None
        return gx, ggamma, gbeta

    def release(self) -> None:
        super().release()
        self.xhat = self.inv_std = None  # the graph is freed: let the saved arrays go with it


def _sync_batch_norm_forward(layer, context: ShardContext, reduce):
    """A replacement for ``BatchNorm.forward`` on a worker's network copy."""
    original = layer.forward

    def forward(x, training=False):
        if not training:
            return original(x, training)
        shape = x.shape
        if x.ndim == 3:  # (N, C, L) -> (N, C, L, 1), as the layer does
            x = reshape(x, (*shape, 1))
        if x.ndim not in (2, 4):
            return original(x, training)  # the layer's own error message
        c = x.shape[1]
        axes = (0,) if x.ndim == 2 else (0, 2, 3)
        count = context.total * (x.size // (x.shape[0] * c))
        if count < 2:
            raise ValueError(
                f"layer '{layer.name}': batch normalisation needs more than one value per channel in "
                f"training, got a batch of {context.total}"
            )
        gamma = as_tensor(layer.parameters["gamma"], like=x)
        beta = as_tensor(layer.parameters["beta"], like=x)
        fn = SyncBatchNorm(axes, layer.epsilon, reduce, count)
        y = fn(x, gamma, beta)
        m = layer.momentum
        rm, rv = layer.buffers["running_mean"], layer.buffers["running_var"]
        rm *= 1 - m
        rm += m * fn.batch_mean.astype(rm.dtype, copy=False)
        rv *= 1 - m
        rv += (m * count / (count - 1)) * fn.batch_var.astype(rv.dtype, copy=False)
        fn.batch_mean = fn.batch_var = None
        return reshape(y, shape) if len(shape) == 3 else y

    return forward


def _sharded_dropout_forward(layer, context: ShardContext):
    """A replacement for ``Dropout.forward``: the whole batch's mask, this worker's rows of it."""
    original = layer.forward

    def forward(x, training=False):
        x = as_tensor(x)
        if not training or layer.rate == 0.0 or context.total == 0:
            return original(x, training)
        full = (context.total, *x.shape[1:])
        mask = dropout_mask(full, layer.rate, layer.rng, x.dtype)[context.start : context.stop]
        if not isinstance(x.data, np.ndarray):
            mask = x.xp.asarray(mask)
        return mul(x, Tensor(mask))

    return forward


def shard_network(network, context: ShardContext) -> list[str]:
    """Make a worker's network copy shard-aware (in place): batch norm synchronised through the
    context's group, dropout masks sliced from the whole batch's. Returns the names of the layers changed.

    Raises
    ------
    ValueError
        For a layer that couples the rows of a batch in a way no shard-aware version exists for.
    """
    from ..layers.core import Dropout
    from ..layers.normalization import BatchNorm

    reduce = _Reducer(context)
    changed = []
    for name, layer in network.layers.items():
        if isinstance(layer, BatchNorm):
            layer.forward = _sync_batch_norm_forward(layer, context, reduce)
            changed.append(name)
        elif isinstance(layer, Dropout):
            layer.forward = _sharded_dropout_forward(layer, context)
            changed.append(name)
    return changed
