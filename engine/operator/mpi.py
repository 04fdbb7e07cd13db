"""Data parallelism over MPI ranks (mpi4py): ``mpirun -n K sigma train PROJECT --operator mpi``.

Every rank runs the whole trainer on the same data with the same seed, so every rank sees the same
batches, draws the same dropout masks and holds the same parameters. Rank ``k`` computes its row shard
of each batch (shard-aware layers as for threads: see :mod:`engine.operator.sharding`, with batch-norm
sums exchanged by ``Allreduce``), then one ``Allreduce`` sums the gradients (already weighted by each
rank's share of the rows), the losses, the metric sums and a stop flag; every rank applies the same
optimiser step. The result equals a single-process run on the whole batch to float32 rounding.

Rank 0 alone emits events and writes checkpoints: other ranks get a quiet event bus and drop their
checkpoint-saving hooks. A stop asked for from outside the training thread on any rank (Ctrl-C, a GUI)
travels with the next gradient exchange, so all ranks stop at the same iteration boundary. A pause is
local to its rank: the others wait in the next exchange until it resumes. If a rank fails, its process
exits and mpirun ends the others. Every batch needs at least as many rows as there are ranks (the last
batch of an epoch included); a smaller one stops the run with an error saying so, on every rank alike.
"""

from __future__ import annotations

import threading

import numpy as np

from ..autodiff.tensor import Tensor
from ..backend import to_host
from ..events import EventBus
from .operator import Operator
from .sharding import ScaledLoss, ShardContext, batch_rows, shard_bounds, shard_network, take_rows
from .worker import Worker, WorkerResult

__all__ = ["MPIOperator", "MPIGroup", "QuietEventBus", "mpi_status"]


def mpi_status() -> tuple[bool, str]:
    """Whether mpi4py imports (and MPI initialises), and why not."""
    try:
        from mpi4py import MPI  # noqa: F401
    except Exception as exc:  # ImportError, or an MPI library that fails to load
        return False, f"mpi4py is unavailable ({type(exc).__name__}: {exc}); pip install mpi4py"
    return True, ""


class QuietEventBus(EventBus):
    """An event bus that drops every event (ranks other than 0)."""

    def emit(self, event) -> None:
        return None


class MPIGroup:
    """``allreduce(array)`` over the ranks of a communicator (host buffers; device arrays go through
    the host)."""

    def __init__(self, comm):
        from mpi4py import MPI

        self.comm, self._sum = comm, MPI.SUM

    def allreduce(self, array, rank: int | None = None):
        xp = _module_of(array)
        host = np.ascontiguousarray(_to_host(array))
        out = np.empty_like(host)
        self.comm.Allreduce(host, out, op=self._sum)
        return out if xp is np else xp.asarray(out)


class MPIOperator(Operator):
    """One rank of a data-parallel MPI job; one worker per rank.

    Parameters
    ----------
    trainer : Trainer
    comm : mpi4py communicator, optional
        ``MPI.COMM_WORLD`` by default.

    Attributes
    ----------
    rank, size : int
    is_writer : bool
        True on rank 0, the rank that writes checkpoints and emits events.
    """

    def __init__(self, trainer, comm=None):
        from engine.optional import require

        require("mpi4py", feature="operator 'mpi'", extra="mpi")  # not installed: MissingDependency
        ok, why = mpi_status()
        if not ok:
            raise RuntimeError(f"operator 'mpi' cannot start: {why}")
        from mpi4py import MPI

        for attr in ("to_spec", "layers"):
            if not hasattr(trainer.network, attr):
                raise TypeError(f"operator 'mpi' needs an engine Network (with `{attr}`)")
        super().__init__(trainer)
        self.comm = comm if comm is not None else MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.is_writer = self.rank == 0
        self.group = MPIGroup(self.comm)
        if not self.is_writer:
            trainer.events = QuietEventBus()
        self._copy = None
        self._grads: dict[str, Tensor] = {}
        self._flat: np.ndarray | None = None
        self._deferred_stop: str | None = None

    # ------------------------------------------------------------------ commands
    def stop(self, reason: str = "stopped by request") -> bool:
        """Stop every rank at the same iteration boundary. From the training thread (a hook, which
        decides the same on every rank) it applies at once; from elsewhere it travels with the next
        exchange."""
        if threading.current_thread() is self.thread or not self.control.active:
            return self.control.stop(reason)
        self._deferred_stop = reason
        return True

    # ------------------------------------------------------------------ workers
    def make_workers(self) -> list[Worker]:
        t = self.trainer
        if not self.is_writer:
            from ..hooks.saver import CheckpointSaver

            for hook in list(t.hooks):
                if isinstance(hook, CheckpointSaver):
                    t.hooks.remove(hook)
        if self._copy is None or self._copy[2] is not t.network:
            src = t.network
            net = type(src).from_spec(src.to_spec(), seed=0, dtype=src.dtype, backend=t.backend)
            context = ShardContext(self.rank)
            shard_network(net, context)
            self._copy, self._grads, self._flat = (net, context, src), {}, None
        net, context, _ = self._copy
        worker = Worker(
            net, ScaledLoss(t.loss_function, context), t.backend, self.worker_registry(), t.metrics
        )
        worker.context = context
        return [worker]

    # ------------------------------------------------------------------ one batch
    def compute(self, batch: dict) -> WorkerResult:
        t = self.trainer
        worker = self.workers[0]
        total = batch_rows(batch["inputs"])
        if total < self.size:
            raise ValueError(
                f"a batch of {total} rows cannot be split over {self.size} MPI ranks: use a batch size "
                f"of at least {self.size} (and a dataset whose last batch is not smaller)"
            )
        start, stop = shard_bounds(total, self.size)[self.rank]
        own = worker.parameters
        for key, p in self.parameters.items():
            own[key].data, own[key].requires_grad = p.data, p.requires_grad
        for key, array in t.network.buffers().items():
            worker.network.layers[key.rsplit(".", 1)[0]].buffers[key.rsplit(".", 1)[1]][...] = array
        rng = getattr(t.network, "rng", None)
        if rng is not None:
            worker.network.rng.bit_generator.state = rng.bit_generator.state
        worker.context.set(start, stop, total, self.group, self.rank)
        shard = {k: take_rows(v, start, stop) if _rows(v) == total else v for k, v in batch.items()}
        part = worker.compute(shard)
        if rng is not None:
            rng.bit_generator.state = worker.network.rng.bit_generator.state
        for key, array in worker.network.buffers().items():
            t.network.layers[key.rsplit(".", 1)[0]].buffers[key.rsplit(".", 1)[1]][...] = array
        return self._exchange(part, total)

    def _exchange(self, part: WorkerResult, total: int) -> WorkerResult:
        """One Allreduce of [gradients..., loss, metric sums..., stop flag]; unpack on every rank."""
        keys = [k for k in self.parameters if k in part.gradients]
        names = list(part.metrics)
        sizes = [int(part.gradients[k].size) for k in keys]
        length = sum(sizes) + 2 + len(names)
        if self._flat is None or self._flat.size != length:
            self._flat = np.empty(length, np.float64)
        flat, offset = self._flat, 0
        for key, n in zip(keys, sizes):
            flat[offset : offset + n] = _to_host(part.gradients[key]).reshape(-1)
            offset += n
        flat[offset] = float(part.loss)
        flat[offset + 1 : offset + 1 + len(names)] = [float(part.metrics[m]) for m in names]
        flat[-1] = 1.0 if self._deferred_stop is not None else 0.0
        summed = np.empty_like(flat)
        self.comm.Allreduce(flat, summed, op=self.group._sum)
        be, xp = self.trainer.backend, self.trainer.backend.xp
        grads, offset = {}, 0
        for key, n in zip(keys, sizes):
            p = self.parameters[key]
            values = summed[offset : offset + n].reshape(p.data.shape).astype(p.data.dtype)
            offset += n
            buf = self._grads.get(key)
            if buf is None or buf.data.shape != p.data.shape:
                buf = self._grads[key] = Tensor(be.from_host(values))
            else:
                buf.data[...] = be.from_host(values)
            p.grad, grads[key] = buf, buf.data
        for key, p in self.parameters.items():
            if key not in grads:
                p.grad = None
        loss = xp.asarray(summed[offset], dtype=xp.float64)
        metrics = {m: xp.asarray(summed[offset + 1 + i], dtype=xp.float64) for i, m in enumerate(names)}
        if summed[-1] > 0:
            reason = self._deferred_stop or "stopped by request on another MPI rank"
            self._deferred_stop = None
            self.control.stop(reason)
        return WorkerResult(loss, total, metrics, grads)


def _rows(value) -> int | None:
    try:
        return batch_rows(value)
    except (AttributeError, IndexError, StopIteration, TypeError):
        return None


def _module_of(array):
    from ..backend import get_array_module

    return get_array_module(array)


def _to_host(array) -> np.ndarray:
    return to_host(array)
