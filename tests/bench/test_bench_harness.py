"""The benchmark harness: interleaving, block timing, worker processes."""

import sys

import pytest

from bench import harness


def test_interleave_rotates_the_order_and_gives_one_sample_per_block():
    calls = []

    def runner(name):
        def run(seconds):
            calls.append((name, seconds))
            return len(calls)

        return run

    samples = harness.interleave({"a": runner("a"), "b": runner("b")}, seconds=1.0, repeats=2, warmup=0.1)
    assert calls == [("a", 0.1), ("b", 0.1), ("a", 0.5), ("b", 0.5), ("b", 0.5), ("a", 0.5)]
    assert samples == {"a": [3, 6], "b": [4, 5]}


def test_interleave_pauses_before_each_block_when_asked():
    import time

    starts = []

    def run(seconds):
        starts.append(time.monotonic())

    harness.interleave({"a": run, "b": run}, seconds=0.0, repeats=2, warmup=0.0, settle=0.05)
    gaps = [b - a for a, b in zip(starts[2:], starts[3:])]  # the timed blocks (after the warm-ups)
    assert len(starts) == 6 and min(gaps) >= 0.05


def test_measure_block_runs_at_least_min_steps():
    count = []
    m = harness.measure_block(lambda: count.append(1), seconds=0.0, min_steps=3)
    assert m["steps"] == 3 == len(count) and m["ms"] >= 0 and m["cpu_ms"] >= 0


def test_a_worker_that_never_answers_is_killed_with_a_clear_error():
    worker = harness.Worker(["-c", "import sys; sys.stdin.read()"], timeout=0.5)
    try:
        with pytest.raises(RuntimeError, match="gave no answer"):
            worker.read()
        assert worker.proc.poll() is not None
    finally:
        worker.close()


def test_a_worker_that_dies_says_so_with_its_stderr():
    worker = harness.Worker(["-c", "import sys; sys.exit('broken on purpose')"])
    try:
        with pytest.raises(RuntimeError, match="exited with 1: broken on purpose"):
            worker.read()
    finally:
        worker.close()


def test_worker_protocol_round_trip_and_chatter():
    code = (
        "import sys\n"
        "print('hello from the library')\n"
        "for line in sys.stdin:\n"
        "    print('@bench {\"echo\": \"' + line.strip() + '\"}', flush=True)\n"
    )
    worker = harness.Worker(["-c", code])
    try:
        assert worker.ask("ping") == {"echo": "ping"}
        assert worker.chatter == ["hello from the library"]
    finally:
        worker.close()
    assert worker.proc.returncode == 0


def test_peak_rss_is_plausible():
    assert 10 * 2**20 < harness.peak_rss_bytes() < 8 * 2**30
    assert sys.platform != "linux" or harness.cpu_pressure() is None or 0 <= harness.cpu_pressure() <= 100
