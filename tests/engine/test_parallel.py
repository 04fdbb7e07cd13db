"""engine.parallel: batch parts on both cores, bit-identical to the whole op; helpers that end when idle."""

import threading
import time

import numpy as np
import pytest

import engine
from engine import ops, parallel


@pytest.fixture
def parts():
    """Run a test body with splitting forced to a given number of parts, then restore the setting."""
    before = parallel._explicit
    yield parallel.set_threads
    parallel.set_threads(before)


def test_splitting_is_off_unless_asked_for(monkeypatch, parts):
    for value, expected in (("", 1), ("1", 1), ("3", 3), ("auto", None), ("nonsense", 1)):
        monkeypatch.setenv(parallel.ENV, value) if value else monkeypatch.delenv(parallel.ENV, raising=False)
        assert parallel._from_env() == expected
    parts(None)  # auto: numpy's BLAS thread count
    assert parallel.threads() >= 1


def test_split_covers_every_row_once_and_waits_for_all_parts(parts):
    parts(3)
    hits = np.zeros(1000, np.int64)
    seen = set()

    def work(s):
        seen.add(threading.current_thread().name)
        time.sleep(0.01)  # the caller must wait for the slow parts
        hits[s] += 1

    parallel.split(work, 1000, parallel.MIN_ELEMENTS)
    assert (hits == 1).all() and len(seen) == 3
    hits[:] = 0
    parallel.split(work, 1000, parallel.MIN_ELEMENTS - 1)  # small work: one part, on this thread
    assert (hits == 1).all()


def test_an_error_in_any_part_reaches_the_caller_after_every_part_ended(parts):
    parts(2)
    done = []

    def work(s):
        if s.start == 0:
            time.sleep(0.02)
            done.append(s)
        else:
            raise ValueError("bad part")

    with pytest.raises(ValueError, match="bad part"):
        parallel.split(work, 10, parallel.MIN_ELEMENTS)
    assert done  # the caller's own part finished before the error was raised


def test_helpers_end_when_idle(parts):
    parts(2)
    parallel.split(lambda s: None, 10, parallel.MIN_ELEMENTS)
    deadline = time.monotonic() + 5
    while any(t.name.startswith("sigma-split") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "a split helper outlived its idle time"
        time.sleep(0.05)


def _training_step(seed=0):
    """A CNN and an MLP layer big enough that every split op runs in parts: outputs and gradients."""
    rng = np.random.default_rng(seed)

    def param(*shape, scale=1.0):
        return engine.tensor((rng.standard_normal(shape) * scale).astype(np.float32), requires_grad=True)

    x, w1 = param(8, 16, 32, 32), param(16, 16, 3, 3, scale=0.2)
    y = ops.max_pool2d(ops.relu_max_pool2d(ops.conv2d(x, w1, padding=1), 2), 2)
    v, w2, b2 = param(512, 256), param(256, 512, scale=0.05), param(512)
    z = ops.linear(v, w2, b2, activation="relu")
    (ops.sum(y * y) + ops.sum(z * z)).backward()
    return [y.data, z.data, x.grad.data, w1.grad.data, v.grad.data, w2.grad.data, b2.grad.data]


def test_split_ops_are_bit_identical_to_the_whole_ops(parts):
    parts(1)
    whole = _training_step()
    parts(2)
    halves = _training_step()
    parts(3)  # uneven parts
    thirds = _training_step()
    for a, b, c in zip(whole, halves, thirds, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
