"""What ``fit``, ``evaluate`` and ``predict`` accept as data, turned into iterators and batches.

Data is an ``engine.data.Dataset``, an iterator with the ``MinibatchIterator`` contract (``__iter__``
over one epoch, ``epoch``, ``position``, ``batches_per_epoch``, ``state_dict``), or a tuple
``(inputs, targets)`` of arrays.
"""

from __future__ import annotations

import mmap

import numpy as np

from ..data.dataset import Dataset
from ..data.iterators import MinibatchIterator

__all__ = ["as_dataset", "as_iterator", "ordered_batches", "fingerprint_of"]


def _is_iterator(data) -> bool:
    return all(hasattr(data, a) for a in ("state_dict", "load_state_dict", "batches_per_epoch", "__iter__"))


def as_dataset(data) -> Dataset:
    """A Dataset from a Dataset or an ``(inputs, targets)`` tuple."""
    if isinstance(data, Dataset):
        return data
    if isinstance(data, tuple | list) and len(data) == 2:
        inputs, targets = (np.asarray(a) for a in data)
        if len(inputs) != len(targets):
            raise ValueError(
                f"inputs and targets have different lengths: {len(inputs)} and {len(targets)} "
                f"(shapes {inputs.shape} and {targets.shape})"
            )
        return Dataset({"inputs": inputs, "targets": targets})
    raise TypeError(
        f"Invalid data {type(data).__name__}: expected a Dataset, a MinibatchIterator or an "
        "(inputs, targets) tuple"
    )


def _in_memory(section) -> bool:
    """Whether a section is a numpy array whose memory is RAM (not a lazy section, not a file map)."""
    if not isinstance(section, np.ndarray):
        return False
    owner = section
    while owner is not None:
        if isinstance(owner, np.memmap | mmap.mmap):
            return False
        owner = getattr(owner, "base", None)
    return True


def as_iterator(data, batch_size: int, seed: int, shuffle: bool = True):
    """The training iterator for ``data`` (an iterator is used as it is)."""
    if _is_iterator(data):
        return data
    dataset = as_dataset(data)
    sections = ["inputs", "targets"]
    # Rows already in memory are gathered in microseconds: a prefetch thread would only add two
    # thread hand-offs per batch (and a GIL contender) on the training thread's cores. Rows that are
    # read lazily or from a memory-mapped file keep the background prefetch.
    in_memory = all(name not in dataset or _in_memory(dataset[name]) for name in sections)
    # The operator is done with a batch before it asks for the next: gather into reused buffers.
    return MinibatchIterator(
        dataset,
        batch_size,
        shuffle=shuffle,
        seed=seed,
        sections=sections,
        prefetch=0 if in_memory else 2,
        reuse_buffers=True,
    )


def ordered_batches(data, batch_size: int):
    """Batches of ``data`` in record order (no shuffling, no augmentation), for evaluation."""
    if _is_iterator(data):
        dataset = getattr(data, "dataset", None)
        if dataset is None:  # an iterator without its dataset: one pass of its current epoch order
            for k in range(data.batches_per_epoch):
                yield data.make_batch(data.epoch, k)
            return
        data = dataset
    dataset = as_dataset(data)
    inputs, targets = dataset["inputs"], dataset["targets"] if "targets" in dataset else None
    for start in range(0, len(dataset), batch_size):
        batch = {"inputs": np.asarray(inputs[start : start + batch_size], dtype=np.float32)}
        if targets is not None:
            batch["targets"] = np.asarray(targets[start : start + batch_size])
        yield batch


def fingerprint_of(data) -> str:
    """The dataset fingerprint behind ``data`` ('' when it cannot be known)."""
    if _is_iterator(data):
        data = getattr(data, "dataset", None)
        if data is None:
            return ""
    try:
        return as_dataset(data).fingerprint()
    except (TypeError, ValueError):
        return ""
