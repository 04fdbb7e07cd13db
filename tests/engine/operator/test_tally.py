"""The tally's sums on the CPU are Python floats: the same bits as numpy's float64 0-d arrays."""

import numpy as np

from engine.operator import Tally


def reference(steps):
    """The sums as numpy 0-d arrays, as the tally kept them before (and still does on a GPU)."""
    sums = {"loss": np.zeros((), np.float64), "accuracy": np.zeros((), np.float64)}
    scratch = np.zeros((), np.float64)
    for loss, size, correct in steps:
        np.multiply(loss, size, out=scratch)
        np.add(sums["loss"], scratch, out=sums["loss"])
        np.add(sums["accuracy"], correct, out=sums["accuracy"])
    return sums


def test_host_sums_match_numpy_arrays_bit_for_bit():
    rng = np.random.default_rng(7)
    for dtype in (np.float32, np.float64):
        steps = [
            (
                np.asarray(rng.random() * 10.0 ** rng.integers(-8, 8), dtype),
                int(rng.integers(1, 5000)),
                np.asarray(rng.integers(0, 5000), np.int64 if dtype is np.float64 else np.float32),
            )
            for _ in range(3000)
        ]
        tally = Tally(np, ["loss", "accuracy"])
        since = tally.snapshot()
        for loss, size, correct in steps[:1000]:
            tally.add_step(loss, size, {"accuracy": correct})
        middle = tally.snapshot()
        for loss, size, correct in steps[1000:]:
            tally.add_step(loss, size, {"accuracy": correct})
        expected = reference(steps)
        assert tally.sums["loss"] == float(expected["loss"]) and tally.sums["accuracy"] == float(
            expected["accuracy"]
        )
        n = sum(s for _, s, _ in steps)
        averages = tally.averages(since)
        assert averages == {k: float(expected[k]) / n for k in ("loss", "accuracy")}
        first = reference(steps[:1000])
        later = tally.averages(middle)
        n_later = sum(s for _, s, _ in steps[1000:])
        assert later == {k: float(expected[k] - first[k]) / n_later for k in ("loss", "accuracy")}


def test_state_round_trips_and_restored_snapshots_still_subtract():
    tally = Tally(np, ["loss"])
    tally.add_step(np.asarray(0.25, np.float32), 8, {})
    tally.mark_epoch()
    tally.add_step(np.asarray(0.5, np.float32), 8, {})
    state = tally.state_dict()
    again = Tally(np, ["loss"])
    again.load_state_dict(state)
    assert again.state_dict() == state
    assert again.averages(again.epoch_start) == tally.averages(tally.epoch_start) == {"loss": 0.5}
