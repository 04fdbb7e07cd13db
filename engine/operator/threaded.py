"""Synchronous data parallelism on CPU threads: N workers, one optimiser step per batch.

Each batch is split into N contiguous row shards (:func:`~engine.operator.sharding.shard_bounds`); each
worker runs its own copy of the network on its shard: worker 0 on the training thread, the others on a
pool of N - 1 threads that lives as long as the run.
The copies *share the trainer's parameter arrays* (read-only during forward and backward; the optimiser
writes them in place between iterations, when no worker runs) and keep their own gradient tensors, so
nothing is copied per step but the gradients' sum. Worker ``k`` back-propagates its share ``n_k / N`` of
the whole-batch mean loss, so the operator adds the workers' gradients (in worker order, deterministic)
into the trainer's gradient buffers and the base class takes one optimiser step: the update of one worker
on the whole batch, to float32 rounding. Batch norm and dropout are made shard-aware (see
:mod:`engine.operator.sharding`): synchronised statistics, and slices of the whole batch's dropout mask.

numpy's BLAS releases the GIL, so the matrix products of the workers run in parallel. By default each
worker's BLAS uses ``cores // N`` threads during the run (through threadpoolctl when it is installed),
so N workers do not oversubscribe the cores.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from ..autodiff.tensor import Tensor
from .operator import Operator
from .sharding import (
    ScaledLoss,
    ShardContext,
    ThreadGroup,
    batch_rows,
    shard_bounds,
    shard_network,
    take_rows,
)
from .worker import Worker, WorkerResult

__all__ = ["ThreadPoolOperator"]


class ThreadPoolOperator(Operator):
    """``workers`` data-parallel CPU workers on a thread pool.

    Parameters
    ----------
    trainer : Trainer
        Its network must have a spec (``to_spec()``) and support ``from_spec``: each worker builds a copy.
    workers : int
        Number of workers (>= 1). A batch with fewer rows than workers uses as many workers as rows.
    blas_threads : int, "auto" or None
        BLAS threads per process while the run lasts: ``"auto"`` gives ``max(1, cores // workers)``
        (needs threadpoolctl; otherwise left alone), an int sets it, None leaves it alone.
    """

    def __init__(self, trainer, workers: int = 2, blas_threads="auto"):
        if int(workers) < 1:
            raise ValueError(f"Invalid value for `workers`. Expected an integer >= 1. Received: {workers!r}")
        for attr in ("to_spec", "layers"):
            if not hasattr(trainer.network, attr):
                raise TypeError(
                    f"{int(workers)} data-parallel workers need an engine Network (with `{attr}`), "
                    f"got {type(trainer.network).__name__}"
                )
        super().__init__(trainer)
        self.count = int(workers)
        self.blas_threads = blas_threads
        self.pool: ThreadPoolExecutor | None = None
        self._computed = 0  # workers that had a shard of the last batch (a small batch may leave some idle)
        self._copies: list = []
        self._copies_of = None
        self._grads: dict[str, Tensor] = {}

    # ------------------------------------------------------------------ workers
    def make_workers(self) -> list[Worker]:
        """One network copy per worker (built once per trainer network), fresh registry copies, a pool."""
        t = self.trainer
        if self._copies_of is not t.network or len(self._copies) != self.count:
            self._copies = [self._copy_network(k) for k in range(self.count)]
            self._copies_of = t.network
            self._grads = {}
        workers = []
        for k, (net, context) in enumerate(self._copies):
            loss = ScaledLoss(t.loss_function, context)
            worker = Worker(net, loss, t.backend, self.worker_registry(), t.metrics, index=k)
            worker.context = context
            workers.append(worker)
        # Worker 0 runs on the training thread itself: N workers need N - 1 pool threads.
        if self.count > 1:
            self.pool = ThreadPoolExecutor(self.count - 1, thread_name_prefix=f"{t.name}-worker")
        return workers

    def _copy_network(self, rank: int):
        t = self.trainer
        src = t.network
        net = type(src).from_spec(src.to_spec(), seed=0, dtype=src.dtype, backend=t.backend)
        context = ShardContext(rank)
        shard_network(net, context)
        return net, context

    def run(self, *args, **kwargs):
        """As :meth:`Operator.run`; the worker threads exist only while it runs."""
        limits = self._blas_limits()
        try:
            with limits:
                return super().run(*args, **kwargs)
        finally:
            pool, self.pool = self.pool, None
            if pool is not None:
                pool.shutdown(wait=True)

    def _blas_limits(self):
        threads = self.blas_threads
        if threads is None:
            return contextlib.nullcontext()
        if threads == "auto":
            threads = max(1, (os.cpu_count() or 1) // self.count)
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return contextlib.nullcontext()
        return threadpool_limits(limits=int(threads), user_api="blas")

    # ------------------------------------------------------------------ one batch
    def compute(self, batch: dict) -> WorkerResult:
        """Split ``batch``, run every worker on its shard, add their gradients into the trainer's."""
        t = self.trainer
        total = batch_rows(batch["inputs"])
        bounds = shard_bounds(total, self.count)
        group = ThreadGroup(len(bounds))
        rng = getattr(t.network, "rng", None)
        rng_state = rng.bit_generator.state if rng is not None else None
        shards = []
        for k, (start, stop) in enumerate(bounds):
            worker = self.workers[k]
            self._prepare(worker, rng_state)
            worker.context.set(start, stop, total, group, k)
            shard = {
                key: take_rows(value, start, stop) if _has_rows(value, total) else value
                for key, value in batch.items()
            }
            shards.append((worker, shard))
        futures = [self.pool.submit(_run_shard, w, shard, group) for w, shard in shards[1:]]
        results, errors = [], []
        try:
            results.append(_run_shard(*shards[0], group))
        except BaseException as exc:
            errors.append(exc)
        for future in futures:
            try:
                results.append(future.result())
            except BaseException as exc:  # gather them all: no worker may still be running afterwards
                errors.append(exc)
        if errors:
            raise next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)), errors[0])
        first = self.workers[0]
        if rng is not None:
            rng.bit_generator.state = first.network.rng.bit_generator.state
        _copy_buffers(first.network.buffers(), t.network.buffers())
        self._computed = len(bounds)
        return self._combine(results, total)

    def local_views(self) -> list[Worker]:
        """The workers that had a shard of the last batch, each with its own shard's loss and gradients."""
        return self.workers[: self._computed]

    def _prepare(self, worker: Worker, rng_state) -> None:
        """Point the copy at the trainer's current parameter arrays, buffers and dropout generator."""
        own = worker.parameters
        for key, p in self.parameters.items():
            q = own[key]
            q.data, q.requires_grad = p.data, p.requires_grad
        _copy_buffers(self.trainer.network.buffers(), worker.network.buffers())
        if rng_state is not None:
            worker.network.rng.bit_generator.state = rng_state

    def _combine(self, results: list[WorkerResult], total: int) -> WorkerResult:
        """Sum the workers' (already weighted) losses and gradients; metric sums add up as they are."""
        xp = self.trainer.backend.xp
        grads = {}
        for key, p in self.parameters.items():
            parts = [r.gradients[key] for r in results if key in r.gradients]
            if not parts:
                p.grad = None
                continue
            buf = self._grads.get(key)
            if buf is None or buf.data.shape != parts[0].shape:
                buf = self._grads[key] = Tensor(xp.empty_like(parts[0]))
            if len(parts) == 1:
                xp.copyto(buf.data, parts[0])
            else:
                xp.add(parts[0], parts[1], out=buf.data)
                for part in parts[2:]:
                    buf.data += part
            p.grad = buf
            grads[key] = buf.data
        loss = results[0].loss.copy()
        metrics = {name: value.copy() for name, value in results[0].metrics.items()}
        for r in results[1:]:
            loss += r.loss
            for name, value in r.metrics.items():
                metrics[name] += value
        return WorkerResult(loss, total, metrics, grads)


def _run_shard(worker: Worker, shard: dict, group: ThreadGroup) -> WorkerResult:
    try:
        return worker.compute(shard)
    except BaseException:
        group.abort()  # the other workers may wait for this one inside a batch-norm exchange
        raise


def _has_rows(value, total: int) -> bool:
    try:
        return batch_rows(value) == total
    except (AttributeError, IndexError, StopIteration, TypeError):
        return False


def _copy_buffers(source: dict, target: dict) -> None:
    for key, array in source.items():
        dest = target.get(key)
        if dest is not None and dest is not array:
            dest[...] = array
