"""The bridge with the real trainer on the cat project: batching, rate, run commands, live edits, errors."""

from __future__ import annotations

import os
import time

import pytest

from engine import events as ev
from studio.bridge import Bridge


@pytest.fixture
def bridge(qtbot, build_run):
    b = Bridge(build_run=build_run)
    yield b
    b.shutdown(5000)


def _wait_state(qtbot, bridge, state, timeout=20000):
    qtbot.waitUntil(lambda: bridge.state == state, timeout=timeout)


def _iteration(bridge):
    return bridge.trainer.iteration


def test_events_are_batched_at_a_bounded_rate_and_none_dropped(qtbot, bridge, cat_project):
    direct, delivered, flush_times = [], [], []
    bridge.sigIterationMetrics.connect(delivered.extend)
    bridge.sigFlushed.connect(lambda n: flush_times.append(time.perf_counter()))
    bridge.sigStateChanged.connect(
        lambda s: (
            bridge.trainer.events.subscribe(direct.append, ev.IterationMetrics)
            if s == "running" and not direct
            else None
        )
    )
    assert bridge.start(cat_project)
    assert not bridge.start(cat_project), "a second start while busy must be refused"
    qtbot.waitUntil(lambda: len(delivered) >= 12 and flush_times[-1] - flush_times[0] > 2.0, timeout=30000)
    with qtbot.waitSignal(bridge.sigRunFinished, timeout=10000) as finished:
        bridge.stop()
    assert finished.args == ["stopped"]
    # Every iteration report the engine emitted (seen by our own direct subscriber) reached the GUI, in order.
    iterations = [e.iteration for e in delivered]
    assert iterations == sorted(iterations)
    assert {e.iteration for e in direct} <= set(iterations)
    assert iterations == list(range(iterations[0], iterations[0] + len(iterations)))
    # At most 30 flushes a second (timer jitter may bring two ticks closer, and a state change flushes at
    # once; over 2 s those few extra flushes cannot bring the average above 30 Hz).
    span = flush_times[-1] - flush_times[0]
    assert (len(flush_times) - 1) / span <= 30.0 * 1.05, f"{len(flush_times)} flushes in {span:.2f} s"
    assert bridge.events_delivered > bridge.flushes  # events were coalesced, not one signal each


@pytest.mark.parametrize("leave_core", [False, True], ids=["all-cores", "core-left-for-gui"])
def test_pause_step_resume_stop(qtbot, build_run, cat_project, leave_core):
    from studio import blas_threads

    bridge = Bridge(build_run=build_run, leave_core_for_gui=leave_core)
    states = []
    bridge.sigStateChanged.connect(states.append)
    blas_before = blas_threads.get()
    bridge.start(cat_project)
    _wait_state(qtbot, bridge, "running")
    if blas_before is not None:  # with the option, the GUI keeps a core of its own while a run is live
        expected = max(1, (os.cpu_count() or 1) - 1) if leave_core else blas_before
        assert blas_threads.get() == expected
    assert bridge.pause()
    _wait_state(qtbot, bridge, "paused")
    paused_at = _iteration(bridge)
    assert bridge.step()
    qtbot.waitUntil(
        lambda: _iteration(bridge) == paused_at + 1 and bridge.trainer.operator.state == "paused",
        timeout=10000,
    )
    assert bridge.resume()
    qtbot.waitUntil(lambda: _iteration(bridge) > paused_at + 2, timeout=10000)
    with qtbot.waitSignal(bridge.sigRunFinished, timeout=10000):
        bridge.stop()
    assert states[0] == "starting"
    assert "paused" in states and states[-1] == "stopped"
    assert not bridge.busy
    assert blas_threads.get() == blas_before
    bridge.shutdown(5000)


def test_stopping_a_run_writes_its_last_state_as_last_h5(qtbot, bridge, cat_project, tmp_path):
    from engine import checkpoint

    # A save floor that skips every epoch's save (an hour): the stop writes the newest state all the
    # same, once, and the studio hears of it.
    policy = {"every_epochs": 1, "directory": str(tmp_path), "min_seconds": 3600}
    cat_project.training["checkpoint"] = {**cat_project.training.checkpoint, **policy}
    saved = []
    bridge.sigCheckpointSaved.connect(saved.extend)
    bridge.start(cat_project)
    _wait_state(qtbot, bridge, "running")
    qtbot.waitUntil(lambda: _iteration(bridge) > 20, timeout=20000)
    with qtbot.waitSignal(bridge.sigRunFinished, timeout=20000):
        bridge.stop()
    qtbot.waitUntil(lambda: bool(saved), timeout=5000)
    assert [(e.reason, os.path.basename(e.path)) for e in saved] == [("final", "last.h5")]
    assert checkpoint.info(tmp_path / "last.h5")["iteration"] == bridge.trainer.iteration
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.h5"]


def test_learning_rate_edit_reaches_the_optimiser_at_the_next_iteration(qtbot, bridge, cat_project):
    reports = []
    bridge.sigIterationMetrics.connect(reports.extend)
    bridge.start(cat_project)
    _wait_state(qtbot, bridge, "running")
    bridge.pause()
    _wait_state(qtbot, bridge, "paused")
    initial = cat_project.training["optimiser"]["learning_rate"]
    assert bridge.editable_values()["optimiser.learning_rate"] == pytest.approx(initial)
    assert bridge.set_learning_rate(0.0025)
    before = _iteration(bridge)
    bridge.step()
    qtbot.waitUntil(lambda: _iteration(bridge) == before + 1, timeout=10000)
    assert bridge.trainer.optimiser.learning_rate == pytest.approx(0.0025)
    qtbot.waitUntil(lambda: any(e.iteration == before + 1 for e in reports), timeout=5000)
    report = next(e for e in reports if e.iteration == before + 1)
    assert report.metrics["learning_rate"] == pytest.approx(0.0025)
    with qtbot.waitSignal(bridge.sigRunFinished, timeout=10000):
        bridge.stop()


def test_an_engine_error_stops_the_run_and_is_reported(qtbot, bridge, cat_project):
    errors = []
    bridge.sigError.connect(errors.append)
    before = cat_project.to_dict()
    bridge.start(cat_project)
    _wait_state(qtbot, bridge, "running")
    bridge.set_value("optimiser.learning_rate", float("inf"))  # parameters become non-finite
    with qtbot.waitSignal(bridge.sigRunFinished, timeout=20000) as finished:
        pass
    assert finished.args == ["error"]
    assert len(errors) == 1, [e.message for e in errors]
    assert errors[0].message and "Traceback" not in errors[0].message
    assert cat_project.to_dict() == before


def test_a_run_that_cannot_be_built_is_an_error_not_a_crash(qtbot, cat_project):
    def broken(project):
        raise ValueError("dataset 'missing.csv' not found")

    b = Bridge(build_run=broken)
    with qtbot.waitSignal(b.sigError, timeout=5000) as error:
        b.start(cat_project)
    assert "missing.csv" in error.args[0].message
    qtbot.waitUntil(lambda: not b.busy, timeout=5000)
    assert b.state == "error"
    b.shutdown()


def test_resume_from_a_checkpoint_continues_where_it_stopped(qtbot, bridge, cat_project, build_run, tmp_path):
    from engine import checkpoint

    cat_project.training["epochs"] = 3
    first = build_run(cat_project)
    first.fit(epochs=1)
    path = checkpoint.save(first.trainer, tmp_path / "epoch1.h5")
    with qtbot.waitSignal(bridge.sigRunFinished, timeout=60000) as finished:
        assert bridge.start(cat_project, resume_from=path)
    assert finished.args == ["finished"]
    assert bridge.trainer.epoch == 3 and bridge.trainer.history[0] == first.trainer.history[0]


def test_resume_from_a_damaged_checkpoint_is_an_error_naming_the_file(qtbot, bridge, cat_project, tmp_path):
    bad = tmp_path / "damaged.h5"
    bad.write_bytes(b"not an HDF5 file")
    errors = []
    bridge.sigError.connect(errors.append)
    with qtbot.waitSignal(bridge.sigRunFinished, timeout=20000) as finished:
        bridge.start(cat_project, resume_from=bad)
    assert finished.args == ["error"]
    assert len(errors) == 1 and "damaged.h5" in errors[0].message, [e.message for e in errors]


def test_a_refused_resume_leaves_no_empty_run_folder(qtbot, cat_project, tmp_path):
    from engine.runs import list_runs

    project_path = cat_project.save(tmp_path / "cat.sigma")  # saved: its runs are recorded
    bad = tmp_path / "damaged.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(200))  # an HDF5 signature and nothing after it
    b = Bridge()
    errors = []
    b.sigError.connect(errors.append)
    with qtbot.waitSignal(b.sigRunFinished, timeout=60000) as finished:
        assert b.start(cat_project, resume_from=bad)
    assert finished.args == ["error"] and "damaged.h5" in errors[0].message
    assert list_runs(project_path) == []


def test_posted_events_are_delivered_without_a_run(qtbot):
    b = Bridge()
    with qtbot.waitSignal(b.sigLog, timeout=2000) as logged:
        b.post(ev.LogMessage(level="warning", message="disk nearly full"))
    assert logged.args[0][0].message == "disk nearly full"
    b.shutdown()


def test_shutdown_while_training_ends_the_worker_within_two_seconds(qtbot, bridge, cat_project):
    bridge.start(cat_project)
    _wait_state(qtbot, bridge, "running")
    t0 = time.perf_counter()
    assert bridge.shutdown(timeout_ms=2000)
    assert time.perf_counter() - t0 < 2.0
    assert bridge.pool.activeThreadCount() == 0
    assert bridge.state == "stopped"
