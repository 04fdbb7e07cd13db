"""A fast writer for the torn-record stress test: ``python fast_writer_script.py RUN_FOLDER SECONDS``.

Emits, through a real event bus into a real :class:`engine.runs.RunRecorder`, an iteration point and a
log line of varying length per step and commits every few steps (far more often than a run does), until
SECONDS have passed; then ends the run as finished.
"""

import sys
import time
from types import SimpleNamespace

import numpy as np

from engine.events import EventBus, IterationMetrics, LogMessage, RunStateChanged, SamplePredictions
from engine.runs import RunRecorder

if __name__ == "__main__":
    folder, seconds = sys.argv[1], float(sys.argv[2])
    bus = EventBus()
    recorder = RunRecorder(folder, heartbeat_s=0.2)
    recorder.log.latest_every_s = 0.0  # replace the latest-only files at every commit
    recorder.on_attach(SimpleNamespace(events=bus, epoch=0, iteration=0, planned_iterations=None))
    bus.emit(RunStateChanged(state="running", previous="idle"))
    i, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        i += 1
        bus.emit(IterationMetrics(iteration=i, metrics={"loss": 2.0 * i, "accuracy": i % 7}))
        payload = "x" * (i * 37 % 5000)  # lines of every length, some across buffer boundaries
        bus.emit(LogMessage(message=f"seq:{i}:{len(payload)}:{payload}"))
        if i % 50 == 0:
            rows = np.array([[i, i + 1]] * (i % 300 + 1), np.float32)
            bus.emit(SamplePredictions(iteration=i, predictions=rows))
        if i % 3 == 0:
            recorder.commit()
    bus.emit(RunStateChanged(state="finished", previous="running"))
    print(i)
