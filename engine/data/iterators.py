"""Minibatch and whole-dataset iterators with background prefetch and exact resume.

The record order of an epoch is a pure function of ``(seed, epoch)`` and the augmentation randomness of
a batch a pure function of ``(seed, epoch, batch index)``. So ``(epoch, position)`` is all a checkpoint
needs: a resumed iterator produces exactly the batches the original would have.

Prefetch runs on one daemon thread per pass over an epoch. The thread is stopped and joined when the
epoch ends, when the consumer breaks out of the loop (the generator is closed), on :meth:`close`, and
when the iterator is used as a context manager; it never outlives the iterator.
"""

from __future__ import annotations

import functools
import queue
import threading

import numpy as np

from engine.data.storage import as_numpy

__all__ = ["MinibatchIterator", "WholeIterator"]

_END = object()
_POLL_S = 0.1  # how often a blocked producer looks at its stop flag


class _Producer:
    """One prefetch thread filling a bounded queue with ``(k, batch)`` for batches ``start..stop-1``."""

    def __init__(self, make_batch, epoch: int, start: int, stop: int, depth: int):
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.stop_event = threading.Event()
        self._args = (make_batch, epoch, start, stop)
        self.thread = threading.Thread(target=self._run, name=f"sigma-prefetch-e{epoch}", daemon=True)
        self.thread.start()

    def _put(self, item) -> bool:
        while not self.stop_event.is_set():
            try:
                self.queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        make_batch, epoch, start, stop = self._args
        try:
            for k in range(start, stop):
                if self.stop_event.is_set() or not self._put((k, make_batch(epoch, k))):
                    return
            self._put((None, _END))
        except BaseException as exc:  # handed to the consumer, which re-raises it on its thread
            self._put((None, exc))

    def get(self):
        while True:
            try:
                return self.queue.get(timeout=_POLL_S)
            except queue.Empty:
                if not self.thread.is_alive() and self.queue.empty():
                    raise RuntimeError("prefetch thread ended without finishing the epoch") from None

    def close(self) -> None:
        self.stop_event.set()
        # Draining frees a producer blocked on a full queue right away instead of after a poll.
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        self.thread.join()


class MinibatchIterator:
    """Iterate a dataset in (shuffled) minibatches, one epoch per ``for`` loop.

    Parameters
    ----------
    dataset : Dataset
    batch_size : int
    shuffle : bool
        Reshuffle every epoch with ``np.random.default_rng([seed, epoch])``.
    seed : int
    drop_last : bool
        Leave out the last, smaller batch of an epoch.
    augment : Preprocessor, optional
        Applied to every batch with ``np.random.default_rng([seed, epoch, batch_index])``.
    prefetch : int
        Batches prepared ahead on a background thread; 0 prepares them on the consumer's thread.
    sections : list of str, optional
        Sections to put in batches; default all (``inputs`` and ``targets``).
    reuse_buffers : bool
        Gather batches into a ring of ``prefetch + 2`` preallocated arrays instead of new ones, for a
        consumer that is done with each batch before asking for the next (the trainer): it saves an
        allocation and its page faults per batch. Sections that are not plain arrays, and augmented
        batches, are gathered as usual. A reused batch is valid until the consumer asks for another
        one (or starts another epoch).

    Attributes
    ----------
    epoch : int
        Current epoch (advances after the last batch of an epoch was handed out).
    position : int
        Batches of the current epoch already handed out.
    batches_per_epoch : int
    n_records : int

    Notes
    -----
    Iterating yields ``{"inputs": float32 (B, ...), "targets": (B, ...)}`` for the rest of the current
    epoch. Breaking out of the loop keeps ``position`` at the batches actually received; the next
    loop continues from there.

    Examples
    --------
    >>> with MinibatchIterator(ds, 128, seed=1) as it:          # doctest: +SKIP
    ...     for epoch in range(3):
    ...         for batch in it:
    ...             step(batch["inputs"], batch["targets"])
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        augment=None,
        prefetch: int = 2,
        sections=None,
        reuse_buffers: bool = False,
    ):
        if int(batch_size) < 1:
            raise ValueError(f"Invalid value for `batch_size`. Expected >= 1. Received: {batch_size}")
        if int(prefetch) < 0:
            raise ValueError(f"Invalid value for `prefetch`. Expected >= 0. Received: {prefetch}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.augment = augment
        self.prefetch = int(prefetch)
        self.sections = list(sections) if sections is not None else dataset.section_names
        self.n_records = len(dataset)
        full, rest = divmod(self.n_records, self.batch_size)
        self.batches_per_epoch = full if (drop_last or not rest) else full + 1
        self.epoch = 0
        self.position = 0
        self._producer: _Producer | None = None
        self._perm_cache: tuple[int, np.ndarray] | None = None
        self._lock = threading.Lock()
        self.reuse_buffers = bool(reuse_buffers)
        self._ring: dict[tuple[str, int], np.ndarray] = {}  # (section, slot) -> reused batch buffer

    def __len__(self) -> int:
        return self.batches_per_epoch

    # -- the pure functions of (seed, epoch, k) ------------------------------------------------------
    def permutation(self, epoch: int) -> np.ndarray:
        """Record order of ``epoch``: shape ``(n_records,)``, int64."""
        with self._lock:
            if self._perm_cache is not None and self._perm_cache[0] == epoch:
                return self._perm_cache[1]
        if self.shuffle:
            perm = np.random.default_rng([self.seed, epoch]).permutation(self.n_records)
        else:
            perm = np.arange(self.n_records, dtype=np.int64)
        with self._lock:
            self._perm_cache = (epoch, perm)
        return perm

    def batch_indices(self, epoch: int, k: int) -> np.ndarray:
        """Record indices of batch ``k`` of ``epoch``."""
        return self.permutation(epoch)[k * self.batch_size : (k + 1) * self.batch_size]

    def make_batch(self, epoch: int, k: int, reuse: bool = False) -> dict:
        """Build batch ``k`` of ``epoch`` (what iteration would yield there); ``reuse`` gathers into
        the ring buffers (see ``reuse_buffers``)."""
        idx = self.batch_indices(epoch, k)
        if reuse and self.augment is None:
            batch = {name: self._gather(name, idx, k) for name in self.sections}
        else:
            batch = {name: np.asarray(self.dataset[name][idx]) for name in self.sections}
        if self.augment is not None:
            batch = self.augment.apply(batch, np.random.default_rng([self.seed, epoch, k]))
        if "inputs" in batch and batch["inputs"].dtype != np.float32:
            batch["inputs"] = batch["inputs"].astype(np.float32)
        return batch

    def _gather(self, name: str, idx: np.ndarray, k: int) -> np.ndarray:
        """Rows ``idx`` of section ``name`` in ring slot ``k % (prefetch + 2)``: with a queue of
        ``prefetch`` batches, the consumer's batch and the one being made, no slot is in use twice."""
        section = self.dataset[name]
        if not isinstance(section, np.ndarray) or (name == "inputs" and section.dtype != np.float32):
            return np.asarray(section[idx])  # a lazy section, or inputs that make_batch converts
        key = (name, k % (self.prefetch + 2))
        out = self._ring.get(key)
        shape = (self.batch_size, *section.shape[1:])  # a short last batch uses the first rows
        if out is None or out.shape != shape or out.dtype != section.dtype:
            out = self._ring[key] = np.empty(shape, section.dtype)
        if len(idx) != len(out):
            out = out[: len(idx)]
        # mode="clip" (the indices are in range) lets take write straight into `out`; the default
        # mode="raise" gathers into a temporary first. The method, not np.take: no dispatch layer.
        return section.take(idx, axis=0, out=out, mode="clip")

    # -- iteration -----------------------------------------------------------------------------------
    def __iter__(self):
        self.close()
        return self._epoch_batches()

    def _epoch_batches(self):
        epoch, start, stop = self.epoch, self.position, self.batches_per_epoch
        if self.prefetch == 0:
            for k in range(start, stop):
                batch = self.make_batch(epoch, k, self.reuse_buffers)
                self.position = k + 1
                yield batch
        else:
            make = functools.partial(self.make_batch, reuse=self.reuse_buffers)
            producer = _Producer(make, epoch, start, stop, self.prefetch) if start < stop else None
            self._producer = producer
            try:
                for _ in range(start, stop):
                    k, item = producer.get()
                    if isinstance(item, BaseException):
                        raise item
                    self.position = k + 1
                    yield item
            finally:
                if producer is not None:
                    producer.close()
                    if self._producer is producer:
                        self._producer = None
        self.epoch = epoch + 1
        self.position = 0

    def close(self) -> None:
        """Stop and join the prefetch thread, if any (the position stays where the consumer was)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass  # interpreter shutdown: the daemon thread dies with it

    # -- checkpointing ---------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Return the position as plain ints (JSON- and HDF5-able)."""
        return {
            "seed": self.seed,
            "epoch": self.epoch,
            "position": self.position,
            "n_records": self.n_records,
            "batch_size": self.batch_size,
            "shuffle": int(self.shuffle),
            "drop_last": int(self.drop_last),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a position saved by :meth:`state_dict`.

        Raises
        ------
        ValueError
            If the saved iterator had another record count, batch size or shuffling, where an exact
            resume is impossible.
        """
        for key in ("n_records", "batch_size", "shuffle", "drop_last"):
            if key in state and int(state[key]) != int(getattr(self, key)):
                raise ValueError(
                    f"cannot resume: saved {key}={int(state[key])} "
                    f"but this iterator has {int(getattr(self, key))}"
                )
        self.close()
        self.seed = int(state.get("seed", self.seed))
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
        if not 0 <= self.position <= self.batches_per_epoch:
            raise ValueError(f"cannot resume: position {self.position} outside 0..{self.batches_per_epoch}")


class WholeIterator:
    """Hand out the whole dataset as one batch per epoch (full-batch training, evaluation).

    The arrays are read-only views of the dataset (no copy); augmentation returns new arrays.

    Parameters
    ----------
    dataset : Dataset
    augment : Preprocessor, optional
        Applied with ``np.random.default_rng([seed, epoch, 0])``.
    seed : int
    sections : list of str, optional

    Attributes
    ----------
    epoch, position, batches_per_epoch (always 1), n_records
    """

    def __init__(self, dataset, augment=None, seed: int = 0, sections=None):
        self.dataset = dataset
        self.augment = augment
        self.seed = int(seed)
        self.sections = list(sections) if sections is not None else dataset.section_names
        self.n_records = len(dataset)
        self.batches_per_epoch = 1
        self.batch_size = self.n_records
        self.epoch = 0
        self.position = 0
        self._cache: dict | None = None

    def __len__(self) -> int:
        return 1

    def make_batch(self, epoch: int, k: int = 0) -> dict:
        """The whole dataset as ``{name: (N, ...)}``, augmented for ``epoch`` when an augment is set."""
        if self._cache is None:
            self._cache = {}
            for name in self.sections:
                # Read-only views: the whole batch may be the dataset's own array.
                view = as_numpy(self.dataset[name]).view()
                view.flags.writeable = False
                self._cache[name] = view
        batch = dict(self._cache)
        if self.augment is not None:
            batch = self.augment.apply(batch, np.random.default_rng([self.seed, epoch, 0]))
        return batch

    def __iter__(self):
        if self.position == 0:
            batch = self.make_batch(self.epoch)
            self.position = 1
            yield batch
        self.epoch += 1
        self.position = 0

    def close(self) -> None:
        """Release the cached arrays."""
        self._cache = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def state_dict(self) -> dict:
        """Return the position as plain ints."""
        return {
            "seed": self.seed,
            "epoch": self.epoch,
            "position": self.position,
            "n_records": self.n_records,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a position saved by :meth:`state_dict`."""
        if "n_records" in state and int(state["n_records"]) != self.n_records:
            raise ValueError(
                f"cannot resume: saved n_records={int(state['n_records'])} but dataset has {self.n_records}"
            )
        self.seed = int(state.get("seed", self.seed))
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
