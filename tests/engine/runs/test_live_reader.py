"""Reading a run folder while it is written: LiveReader rebuilds the trainer's events (issue 21)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine import events as ev
from engine import templates
from engine.run import build_run
from engine.runs import LiveReader, RunError, live_state
from engine.runs.eventlog import EventLogReader, EventLogWriter
from engine.templates import mlp

ROOT = Path(__file__).resolve().parents[3]


def _project(folder, name="tiny.sigma", **training):
    project = templates.digits_project()
    project.network = mlp(inputs=64, hidden=(16,), classes=10)
    project.training.update({"epochs": 2, "batch_size": 128, **training})
    project.save(folder / name)
    return project


def _child_env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _wait_for_folder(project_path: Path, timeout=60.0) -> Path:
    runs = project_path.with_name(project_path.name + ".runs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(runs.glob("run-*/run.json")) if runs.is_dir() else []
        if found:
            return found[-1].parent
        time.sleep(0.05)
    raise AssertionError(f"no run folder appeared in {runs}")


def test_a_finished_run_reads_back_as_the_events_the_trainer_emitted(tmp_path):
    project = _project(tmp_path)
    run = build_run(project)
    seen = []
    run.trainer.events.subscribe(seen.append)
    run.fit()
    reader = LiveReader(run.folder)
    events = reader.poll()
    assert reader.state() == "finished" and reader.poll() == []
    iterations = [e for e in events if isinstance(e, ev.IterationMetrics)]
    emitted = [e for e in seen if isinstance(e, ev.IterationMetrics)]
    assert [e.iteration for e in iterations] == [e.iteration for e in emitted]
    assert [e.epoch for e in iterations] == [e.epoch for e in emitted]  # epochs rebuilt from the log
    assert iterations[-1].metrics["loss"] == pytest.approx(emitted[-1].metrics["loss"])
    assert iterations[0].total_iterations == run.trainer.iteration
    assert all(a.time <= b.time for a, b in zip(iterations, iterations[1:]))
    kinds = {type(e).__name__ for e in events}
    assert {
        "EpochMetrics",
        "SamplePredictions",
        "ConfusionMatrix",
        "RunStateChanged",
        "LayerHealthReport",
    } <= kinds
    states = [e.state for e in events if isinstance(e, ev.RunStateChanged)]
    assert states[0] == "running" and states[-1] == "finished"
    epochs = [e for e in events if isinstance(e, ev.EpochMetrics)]
    assert [e.metrics["val_loss"] for e in epochs] == [h["val_loss"] for h in run.trainer.history]
    sample = [e for e in events if isinstance(e, ev.SamplePredictions)][-1]
    original = [e for e in seen if isinstance(e, ev.SamplePredictions)][-1]
    assert sample.classes == original.classes and sample.predictions.shape == original.predictions.shape
    np.testing.assert_allclose(sample.predictions, original.predictions, rtol=1e-6)
    matrix = [e for e in events if isinstance(e, ev.ConfusionMatrix)][-1]
    np.testing.assert_array_equal(
        matrix.matrix, [e for e in seen if isinstance(e, ev.ConfusionMatrix)][-1].matrix
    )
    health = [e for e in events if isinstance(e, ev.LayerHealthReport)][-1]
    assert isinstance(health.findings, tuple) and set(health.layers) == set(
        [e for e in seen if isinstance(e, ev.LayerHealthReport)][-1].layers
    )
    # Events come in the order they happened: iteration metrics before the epoch that ends with them.
    position = {id(e): k for k, e in enumerate(events)}
    last_of_epoch_1 = next(e for e in iterations if e.iteration == epochs[0].iteration)
    assert position[id(last_of_epoch_1)] < position[id(epochs[0])]


def test_an_image_sample_is_stored_as_bytes_and_comes_back_close(tmp_path):
    writer = EventLogWriter(tmp_path)
    image = np.random.default_rng(0).random((32, 48, 3))
    writer.add(ev.SamplePredictions(kind="image", predictions=image, targets=image, psnr=30.0), 5, 0)
    writer.commit(5, 0, final=True)
    size = (tmp_path / "latest-SamplePredictions.json").stat().st_size
    assert size < 2 * image.size * 1.5  # two images as uint8 in base64, not float64 in text
    (record,) = [r for r in EventLogReader(tmp_path).read_new() if r["k"] != "mark"]
    from engine.runs.eventlog import record_event

    event = record_event(record)
    assert event.kind == "image" and event.psnr == 30.0
    assert np.abs(event.predictions - image).max() <= 0.5 / 255 + 1e-6


def test_not_a_run_folder_missing_files_and_damaged_lines(tmp_path):
    with pytest.raises(RunError, match="not a run folder"):
        LiveReader(tmp_path)
    project = _project(tmp_path)
    run = build_run(project)
    assert LiveReader(run.folder).poll() == []  # made, not started: nothing yet, no error
    run.fit(max_iterations=3)
    # A torn line past the committed marker (a writer killed mid-append) is never read.
    with open(run.folder / "events" / "log.jsonl", "ab") as fh:
        fh.write(b'{"k": "LogMessage", "at"')
    events = LiveReader(run.folder).poll()
    assert [e.iteration for e in events if isinstance(e, ev.IterationMetrics)] == [1, 2, 3]
    for path in (run.folder / "series").glob("*.f64"):
        path.unlink()  # a missing file (a share that has not shown it yet)
    (run.folder / "events" / "log.jsonl").unlink()
    assert LiveReader(run.folder).poll() == []


def test_live_state_of_a_status():
    now = 1000.0
    assert live_state({"state": "running", "updated": 990.0}, now=now) == "running"
    assert live_state({"state": "paused", "updated": 990.0}, now=now) == "paused"
    assert live_state({"state": "paused", "updated": 900.0}, now=now) == "lost"
    assert live_state({"state": "running", "updated": 990.0}, now=now, lost_after_s=5) == "lost"
    assert live_state({"state": "error"}, now=now) == "failed"
    assert live_state({"state": "finished", "updated": 1.0}, now=now) == "finished"
    assert live_state({"state": "created"}, {"created": 995.0}, now=now) == "running"


def _train_child(project_path: Path, *extra):
    command = [sys.executable, "-m", "engine.cli", "train", str(project_path), "--quiet", *extra]
    return subprocess.Popen(command, env=_child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_sigma_train_in_a_child_is_read_live_then_killed_reads_as_lost(tmp_path):
    project = _project(tmp_path, epochs=10_000, batch_size=32)
    child = _train_child(project.path)
    try:
        folder = _wait_for_folder(project.path)
        reader = LiveReader(folder)  # the default 30 s while it runs: a loaded machine may stall it
        seen: list = list(reader.poll())  # the history so far: old points, not a measure of latency
        latencies = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(isinstance(e, ev.EpochMetrics) for e in seen):
            time.sleep(0.1)
            polled = reader.poll()
            now = time.time()
            # An iteration point's time is when the writer committed it (the commit marks).
            latencies += [now - e.time for e in polled if isinstance(e, ev.IterationMetrics)]
            seen.extend(polled)
        # Metrics arrive within a second of being written (polling every 0.1 s; the machine is shared,
        # so the worst case is given more room than the median).
        assert latencies and float(np.median(latencies)) < 1.0 and max(latencies) < 5.0, latencies
        assert reader.state() == "running"
        assert any(isinstance(e, ev.EpochMetrics) for e in seen)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    time.sleep(0.2)
    seen.extend(reader.poll())
    last_iteration = max(e.iteration for e in seen if isinstance(e, ev.IterationMetrics))
    assert reader.status()["iteration"] <= last_iteration  # the status never runs ahead of the points
    # Lost once the heartbeat has not changed for lost_after_s; everything up to the kill is there.
    reader.lost_after_s = 3.0  # (a parameter, so that this test need not wait 30 s)
    deadline = time.monotonic() + 10
    while reader.state() != "lost" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert reader.state() == "lost"
    lost = reader.poll()
    assert [e.state for e in lost if isinstance(e, ev.RunStateChanged)] == ["lost"]
    fresh = LiveReader(folder, lost_after_s=3.0)
    history = fresh.poll()
    iterations = [e.iteration for e in history if isinstance(e, ev.IterationMetrics)]
    assert iterations == list(range(1, len(iterations) + 1)) and iterations[-1] == last_iteration
    assert fresh.state() == "lost"
    assert json.loads((folder / "status.json").read_text())["state"] == "running"  # the folder says so


def test_payloads_too_large_to_record_are_left_out_with_one_log_line(tmp_path):
    writer = EventLogWriter(tmp_path)
    huge = np.zeros((50_000, 100), np.float32)  # 20 MB of validation probabilities
    for _ in range(3):
        writer.add(ev.ValidationPredictions(probabilities=huge, targets=np.zeros(50_000, np.int64)), 7, 1)
    writer.commit(7, 1, final=True)
    records = [r for r in EventLogReader(tmp_path).read_new() if r["k"] != "mark"]
    assert [r["k"] for r in records] == ["LogMessage"] and "too large to record" in records[0]["e"]["message"]
    assert not (tmp_path / "latest-ValidationPredictions.json").exists()


def test_a_run_heard_from_again_is_no_longer_lost(tmp_path):
    folder = tmp_path / "run-0001"
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"format": "sigma.run/1", "created": time.time() - 100}))
    status = {"state": "running", "epoch": 0, "iteration": 5, "updated": time.time() - 60}
    (folder / "status.json").write_text(json.dumps(status))
    reader = LiveReader(folder)
    assert reader.state() == "lost"  # first sight: the writer's clock says a minute ago
    assert [(e.state, e.previous) for e in reader.poll()] == [("lost", "running")]
    (folder / "status.json").write_text(json.dumps({**status, "state": "paused", "updated": time.time()}))
    assert [(e.state, e.previous) for e in reader.poll()] == [("paused", "lost")]
    assert reader.state() == "paused" and reader.poll() == []
