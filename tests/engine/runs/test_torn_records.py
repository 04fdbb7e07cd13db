"""A reader in another process never sees a torn record, however fast the writer commits (issue 21)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from engine import events as ev
from engine.runs import LiveReader

ROOT = Path(__file__).resolve().parents[3]


def test_a_reader_racing_a_fast_writer_sees_only_whole_records(tmp_path):
    folder = tmp_path / "run-0001"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"format": "sigma.run/1", "created": time.time()}))
    script = Path(__file__).with_name("fast_writer_script.py")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        [sys.executable, str(script), str(folder), "3"], env=env, stdout=subprocess.PIPE
    )
    reader = LiveReader(folder)
    points, lines, samples, polls = [], [], 0, 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = reader.state() == "finished"
        for event in reader.poll():
            if isinstance(event, ev.IterationMetrics):
                points.append((event.iteration, event.metrics))
            elif isinstance(event, ev.LogMessage):
                lines.append(event.message)
            elif isinstance(event, ev.SamplePredictions):
                n = len(event.predictions)
                assert event.predictions.shape == (n, 2) and n == event.iteration % 300 + 1
                np.testing.assert_array_equal(event.predictions[:, 1] - event.predictions[:, 0], 1)
                samples += 1
        polls += 1
        if done:
            break
    out, _ = writer.communicate(timeout=30)
    total = int(out.decode())
    assert writer.returncode == 0 and polls > 20 and samples > 0
    # Every step arrives once, in order, whole: both metrics of each point, every log line intact.
    assert [i for i, _ in points] == list(range(1, total + 1))
    assert all(m == {"loss": 2.0 * i, "accuracy": float(i % 7)} for i, m in points)
    assert len(lines) == total
    for k, line in enumerate(lines, start=1):
        _, seq, length, payload = line.split(":", 3)
        assert int(seq) == k and int(length) == len(payload) == k * 37 % 5000
