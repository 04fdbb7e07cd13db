"""Minibatch iteration: seeded epochs, exact resume, prefetch threads that never leak."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from engine.data import Dataset, Flip, MinibatchIterator, Noise, WholeIterator


def _ds(n=103):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    return Dataset({"inputs": x, "targets": np.arange(n, dtype=np.int64)}, None)


def _epoch(it):
    return [b["targets"].copy() for b in it]


@pytest.mark.parametrize("prefetch", [0, 2])
def test_epoch_covers_every_record_once_and_advances(prefetch, no_leaked_threads):
    it = MinibatchIterator(_ds(), 10, seed=3, prefetch=prefetch)
    assert it.batches_per_epoch == 11 and it.n_records == 103
    first = _epoch(it)
    assert it.epoch == 1 and it.position == 0
    assert sorted(np.concatenate(first).tolist()) == list(range(103))
    assert [len(b) for b in first] == [10] * 10 + [3]
    second = _epoch(it)
    assert not np.array_equal(np.concatenate(first), np.concatenate(second))  # reshuffled
    batch = MinibatchIterator(_ds(), 10, prefetch=prefetch).make_batch(0, 0)
    assert batch["inputs"].dtype == np.float32 and batch["inputs"].shape == (10, 2)


def test_order_is_a_pure_function_of_seed_and_epoch():
    a = MinibatchIterator(_ds(), 16, seed=7)
    b = MinibatchIterator(_ds(), 16, seed=7)
    np.testing.assert_array_equal(a.permutation(4), np.random.default_rng([7, 4]).permutation(103))
    _epoch(a), _epoch(a)
    b.load_state_dict({"epoch": 2, "position": 0})
    np.testing.assert_array_equal(np.concatenate(_epoch(a)), np.concatenate(_epoch(b)))


def test_drop_last_and_no_shuffle():
    it = MinibatchIterator(_ds(), 10, shuffle=False, drop_last=True, prefetch=0)
    batches = _epoch(it)
    assert len(batches) == it.batches_per_epoch == 10
    np.testing.assert_array_equal(np.concatenate(batches), np.arange(100))


@pytest.mark.parametrize("prefetch", [0, 3])
def test_resume_mid_epoch_with_augmentation_is_exact(prefetch, no_leaked_threads):
    aug = Noise(std=0.5, clip=None)
    ref = MinibatchIterator(_ds(), 8, seed=11, augment=aug, prefetch=prefetch)
    _epoch(ref)
    reference = [b["inputs"].copy() for b in ref]  # epoch 1 in full

    it = MinibatchIterator(_ds(), 8, seed=11, augment=aug, prefetch=prefetch)
    _epoch(it)
    got = []
    for k, batch in enumerate(it):
        got.append(batch["inputs"].copy())
        if k == 4:
            break
    state = json.loads(json.dumps(it.state_dict()))  # JSON-able
    assert state["epoch"] == 1 and state["position"] == 5
    it.close()
    resumed = MinibatchIterator(_ds(), 8, seed=0, augment=aug, prefetch=prefetch)
    resumed.load_state_dict(state)
    got += [b["inputs"].copy() for b in resumed]
    assert len(got) == len(reference)
    for a, b in zip(got, reference):
        np.testing.assert_array_equal(a, b)
    assert resumed.epoch == 2


def test_continuing_the_same_iterator_after_break_continues_the_epoch(no_leaked_threads):
    it = MinibatchIterator(_ds(), 10, seed=1)
    head = []
    for batch in it:
        head.append(batch["targets"].copy())
        if len(head) == 3:
            break
    assert it.position == 3 and it.epoch == 0
    tail = _epoch(it)
    assert len(tail) == 8 and it.epoch == 1
    np.testing.assert_array_equal(np.concatenate(head + tail), it.permutation(0))


def test_load_state_rejects_another_dataset_layout():
    it = MinibatchIterator(_ds(), 10)
    with pytest.raises(ValueError, match="n_records"):
        it.load_state_dict({"epoch": 0, "position": 0, "n_records": 50})
    with pytest.raises(ValueError, match="batch_size"):
        it.load_state_dict({"epoch": 0, "position": 0, "batch_size": 5, "n_records": 103})


def test_prefetch_thread_is_gone_after_epoch_break_and_close(no_leaked_threads):
    it = MinibatchIterator(_ds(1000), 4, prefetch=2)
    gen = iter(it)
    next(gen)
    assert any(t.name.startswith("sigma-prefetch") for t in threading.enumerate())
    gen.close()  # what a `break` out of a for loop does
    assert not any(t.name.startswith("sigma-prefetch") for t in threading.enumerate())
    with MinibatchIterator(_ds(1000), 4, prefetch=2) as it2:
        next(iter(it2))
    assert it2._producer is None
    for _ in MinibatchIterator(_ds(), 50):
        pass


def test_producer_errors_reach_the_consumer(no_leaked_threads):
    class Broken:
        def apply(self, batch, rng):
            raise RuntimeError("augment exploded")

    it = MinibatchIterator(_ds(), 10, augment=Broken(), prefetch=2)
    with pytest.raises(RuntimeError, match="augment exploded"):
        _epoch(it)


def test_flip_augmentation_is_seeded_per_batch():
    x = np.arange(4 * 3 * 3, dtype=np.float32).reshape(4, 3, 3, 1)
    ds = Dataset({"inputs": x, "targets": np.zeros(4, np.int64)})
    a = MinibatchIterator(ds, 4, seed=2, augment=Flip(p=0.5), shuffle=False, prefetch=0)
    b = MinibatchIterator(ds, 4, seed=2, augment=Flip(p=0.5), shuffle=False, prefetch=0)
    np.testing.assert_array_equal(a.make_batch(5, 0)["inputs"], b.make_batch(5, 0)["inputs"])


def test_whole_iterator():
    ds = _ds(7)
    it = WholeIterator(ds)
    batches = list(it)
    assert len(batches) == 1 and batches[0]["inputs"].shape == (7, 2)
    assert it.epoch == 1 and it.batches_per_epoch == 1
    it.load_state_dict({"epoch": 5, "position": 0, "n_records": 7})
    assert len(list(it)) == 1 and it.epoch == 6


def test_whole_iterator_batches_are_read_only_views():
    ds = _ds(5)
    batch = WholeIterator(ds).make_batch(0)
    assert np.shares_memory(batch["inputs"], ds["inputs"])
    with pytest.raises(ValueError):
        batch["inputs"][0, 0] = 1.0
    assert ds["inputs"].flags.writeable


@pytest.mark.parametrize("prefetch", [0, 1, 2])
def test_reused_buffers_give_the_same_batches_without_new_arrays(prefetch, no_leaked_threads):
    # the trainer's iterator gathers into a ring of prefetch + 2 buffers; what each batch holds when
    # it is handed out must be exactly what a fresh gather gives, over epochs and a short last batch
    plain = MinibatchIterator(_ds(), 10, seed=5, prefetch=prefetch)
    reused = MinibatchIterator(_ds(), 10, seed=5, prefetch=prefetch, reuse_buffers=True)
    seen = set()
    for _ in range(3):
        for a, b in zip(plain, reused, strict=True):
            np.testing.assert_array_equal(a["inputs"], b["inputs"])
            np.testing.assert_array_equal(a["targets"], b["targets"])
            assert b["inputs"].dtype == np.float32
            seen.add(b["inputs"].base.__array_interface__["data"][0] if b["inputs"].base is not None else 0)
    assert len(seen) <= prefetch + 2  # the same few buffers, every epoch


def test_reused_buffers_are_only_used_for_plain_float32_arrays():
    class Column:  # a section that is not an ndarray (as a lazily read one is not)
        def __init__(self, a):
            self.a, self.shape, self.dtype = a, a.shape, a.dtype

        def __len__(self):
            return len(self.a)

        def __getitem__(self, idx):
            return self.a[idx]

    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    ds = Dataset({"inputs": x, "targets": np.arange(20)}, None)
    it = MinibatchIterator(ds, 8, shuffle=False, prefetch=0, reuse_buffers=True)
    it.dataset = {"inputs": Column(x), "targets": np.arange(20)}
    batches = list(it)  # kept: the lazily read inputs are new arrays, the targets share buffers
    np.testing.assert_array_equal(np.concatenate([b["inputs"] for b in batches]), x)
