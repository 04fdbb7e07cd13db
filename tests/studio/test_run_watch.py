"""Watching and steering a run that another process writes (issue 21, studio side).

Real processes (``sigma train``, ``mpirun -n 2 sigma train --operator mpi``) write real run folders; a
real MainWindow watches them through the real LiveReader. The slow share is a test-only subclass of the
reader whose poll blocks on a real lock (no mock of the watcher or the bridge).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PySide6 import QtCore

from engine import templates
from engine.run import build_run
from engine.runs import SeriesReader, runs_dir
from engine.runs.live import LiveReader
from engine.templates import mlp
from engine.testing.mpi import local_mpi_environment
from studio.drop_anywhere import drop_action
from studio.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]


def _project(folder: Path, epochs: int = 100_000, batch: int = 16) -> Path:
    """A tiny digits project: ~90 iterations an epoch, fast; no periodic checkpoints. By default it
    trains far longer than any test waits (each test ends its child itself): 400 epochs once finished
    on their own, before the test's stop, after the engine got faster."""
    project = templates.digits_project()
    project.name = "tiny"
    project.network = mlp(inputs=64, hidden=(16,), classes=10)
    project.training.update({"epochs": epochs, "batch_size": batch, "checkpoint": {"every_epochs": 0}})
    return project.save(folder / "tiny.sigma")


def _environment() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _sigma(*args) -> list[str]:
    return [sys.executable, "-m", "engine.cli", *map(str, args)]


def _start(command, env=None) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env or _environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _end(child: subprocess.Popen) -> str:
    if child.poll() is None:
        child.kill()
    out, _ = child.communicate(timeout=30)
    return out or ""


def _window(qtbot) -> MainWindow:
    window = MainWindow(restore_layout=False)
    window.remember_layout = False
    qtbot.addWidget(window)
    window.show()
    return window


def _status(folder: Path) -> dict:
    return json.loads((folder / "status.json").read_text())


def _committed(folder: Path) -> int:
    try:
        return SeriesReader(folder / "series").count("iteration/loss")
    except (OSError, KeyError, ValueError):
        return 0


def _acknowledged(folder: Path) -> list[dict]:
    """The control commands the run has acknowledged, as its events log says."""
    reader = LiveReader(folder)
    reader.poll()
    return reader.acknowledgements()


def _finished_run(tmp_path: Path) -> Path:
    """A run folder of a short run trained here (one epoch)."""
    from engine.project import Project

    run = build_run(Project.load(_project(tmp_path, epochs=1, batch=64)))
    run.fit()
    return run.folder


def _stop_watching(qtbot, window) -> None:
    window.watch_actions.stop_watching()
    qtbot.waitUntil(lambda: not window.bridge.busy, timeout=10000)


# ---------------------------------------------------------------------------------------------- a child
def test_a_sigma_train_child_is_watched_paused_stepped_and_stopped(qtbot, tmp_path):
    path = _project(tmp_path)
    child = _start(_sigma("train", path, "--quiet"))
    try:
        folder = runs_dir(path) / "run-0001"
        qtbot.waitUntil(lambda: _committed(folder) > 0, timeout=30000)
        window = _window(qtbot)
        latencies, iterations = [], []

        lrs = set()

        def received(events):
            latencies.append(time.time() - events[-1].time)  # the writer's commit mark: an upper bound
            iterations.extend(e.iteration for e in events)
            lrs.update(e.metrics.get("learning_rate") for e in events)

        window.bridge.sigIterationMetrics.connect(received)
        assert window.watch_actions.watch(folder)
        qtbot.waitUntil(lambda: window.bridge.state == "running" and len(latencies) >= 5, timeout=20000)
        # No project was open: the run's own settings are, so the live learning-rate box fits the run.
        assert window.project is not None and window.project.name == "tiny"
        assert "watching run-0001 (running)" in window.windowTitle()
        assert "Watching run-0001: running" in window.watch_actions.status.text()
        assert window.status_backend.text() == "backend: cpu, from sigma train"
        assert statistics.median(latencies[1:]) < 1.0, latencies  # the first delivery is the history

        window.training.buttons["pause"].click()  # the panel's button, as a user pauses a local run
        qtbot.waitUntil(lambda: window.bridge.state == "paused", timeout=20000)
        qtbot.waitUntil(lambda: bool(_acknowledged(folder)), timeout=10000)
        acks = _acknowledged(folder)
        assert [a["command"] for a in acks] == ["pause"] and acks[0]["outcome"] == "applied"
        paused_at = _status(folder)["iteration"]
        assert 0 <= paused_at - acks[0]["at"] <= 1  # applied at the next iteration boundary
        qtbot.wait(1200)  # a paused run does not move (its heartbeat still does)
        assert _status(folder)["iteration"] == paused_at and _status(folder)["state"] == "paused"
        runs = subprocess.run(
            _sigma("runs", path), cwd=ROOT, env=_environment(), capture_output=True, text=True
        )
        assert runs.returncode == 0 and "paused" in runs.stdout, runs.stdout + runs.stderr

        assert window.bridge.step()
        qtbot.waitUntil(lambda: _status(folder)["iteration"] == paused_at + 1, timeout=20000)
        # The training panel's learning-rate box shows the run's settings and steers the run.
        assert window.training.learning_rate.set_text("0.0005")
        window.run_actions["resume"].trigger()  # Training > Resume (F7)
        qtbot.waitUntil(lambda: window.bridge.state == "running", timeout=20000)
        qtbot.waitUntil(lambda: any(a["command"] == "set" for a in _acknowledged(folder)), timeout=20000)
        applied = [a for a in _acknowledged(folder) if a["command"] == "set"]
        assert applied[0]["outcome"] == "applied", applied
        qtbot.waitUntil(lambda: 0.0005 in lrs, timeout=20000)  # the run's reported learning rate

        assert window.project_actions.checkpoint_action.isEnabled()  # Training > Save checkpoint now
        assert window.project_actions.save_checkpoint()
        qtbot.waitUntil(
            lambda: any(a["command"] == "checkpoint" for a in _acknowledged(folder)), timeout=10000
        )

        assert window.bridge.stop()
        qtbot.waitUntil(lambda: not window.bridge.busy, timeout=20000)
        assert window.bridge.state == "stopped"
        assert child.wait(30) == 0
        status = _status(folder)
        assert status["state"] == "stopped"
        assert status.get("last_checkpoint"), status  # the stop wrote a final checkpoint
        assert (folder / status["last_checkpoint"]).is_file()
        runs = subprocess.run(
            _sigma("runs", path), cwd=ROOT, env=_environment(), capture_output=True, text=True
        )
        assert "stopped" in runs.stdout
        assert iterations == sorted(iterations) and len(set(iterations)) == len(iterations)
        assert window.windowTitle() == "tiny[*] — Sigma Studio"  # watching has ended with the run
        assert window.status_backend.text() == "backend: cpu, workers: 1"  # the project's settings
    finally:
        _end(child)


def test_a_killed_writer_is_shown_lost_with_every_event_up_to_the_kill(qtbot, tmp_path):
    path = _project(tmp_path)
    child = _start(_sigma("train", path, "--quiet"))
    folder = runs_dir(path) / "run-0001"
    try:
        qtbot.waitUntil(lambda: _committed(folder) > 200, timeout=30000)
    finally:
        child.kill()
        _end(child)
    committed = SeriesReader(folder / "series").read("iteration/loss")[0].astype(int).tolist()
    window = _window(qtbot)
    seen = []
    window.bridge.sigIterationMetrics.connect(lambda events: seen.extend(e.iteration for e in events))
    window.bridge.watch(folder, reader_factory=lambda f: LiveReader(f, lost_after_s=0.5))
    qtbot.waitUntil(lambda: window.bridge.state == "lost", timeout=20000)
    qtbot.waitUntil(lambda: len(seen) >= len(committed), timeout=10000)
    assert seen == committed
    assert "(lost)" in window.windowTitle()
    assert window.bridge.busy  # a lost run may come back: still watched until the user stops
    assert not window.training.start()  # nothing trains here while a run is watched
    assert "Stop watching run-0001" in window.training.message.text()
    assert not window.open_example("xor")
    assert window.banner.text().startswith("Stop watching (File > Stop watching) before opening")
    window.project_actions.new_project()  # refused the same way: File > New would lose the view
    assert window.banner.text().startswith("Stop watching first (File > Stop watching)")
    _stop_watching(qtbot, window)
    assert window.bridge.watching is None and window.bridge.state == "idle"


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "killpg") or sys.platform == "win32", reason="SIGSTOP is POSIX")
def test_a_lost_run_that_comes_back_is_followed_again(qtbot, tmp_path):
    import signal

    path = _project(tmp_path)
    child = _start(_sigma("train", path, "--quiet"))
    folder = runs_dir(path) / "run-0001"
    try:
        qtbot.waitUntil(lambda: _committed(folder) > 0, timeout=30000)
        window = _window(qtbot)
        states = []
        window.bridge.sigStateChanged.connect(states.append)
        window.bridge.watch(folder, reader_factory=lambda f: LiveReader(f, lost_after_s=2.5))
        qtbot.waitUntil(lambda: window.bridge.state == "running", timeout=20000)
        child.send_signal(signal.SIGSTOP)  # the writer freezes: no heartbeat, no events
        qtbot.waitUntil(lambda: window.bridge.state == "lost", timeout=20000)
        child.send_signal(signal.SIGCONT)
        qtbot.waitUntil(lambda: window.bridge.state == "running", timeout=20000)
        assert states[-3:] == ["running", "lost", "running"]
        _stop_watching(qtbot, window)
    finally:
        _end(child)


# ---------------------------------------------------------------------------------------------- slow share
class _SlowShareReader(LiveReader):
    """A reader whose polls after the first wait on a lock the test holds: a share that stops answering."""

    def __init__(self, folder, gate: threading.Lock):
        super().__init__(folder)
        self.gate = gate
        self.polls = 0

    def poll(self):
        self.polls += 1
        if self.polls > 1:
            with self.gate:  # blocks this (the watcher's) thread, as a read on a hung share does
                pass
        return super().poll()


def test_a_hung_share_never_blocks_the_window_and_recovers(qtbot, tmp_path):
    folder = _finished_run(tmp_path)
    gate = threading.Lock()
    gate.acquire()
    window = _window(qtbot)
    logged = []
    window.bridge.sigLog.connect(lambda events: logged.extend(e.message for e in events))
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    try:
        window.bridge.watch(folder, reader_factory=lambda f: _SlowShareReader(f, gate), timeout_s=1.0)

        def hung_after_first_poll():
            state = window.bridge.watch_state
            return state is not None and not state.reachable and state.last_heard is not None

        qtbot.waitUntil(hung_after_first_poll, timeout=20000)
        state = window.bridge.watch_state
        assert state.text().startswith("share not reachable, last heard ") and state.last_heard is not None
        assert "share not reachable" in window.windowTitle()
        assert window.bridge.busy  # its events said "finished"; the watch ends once the share answers
        before = len(ticks)
        qtbot.wait(600)  # the watcher's thread is blocked; the GUI thread is not
        assert len(ticks) - before >= 10
        started = time.perf_counter()
        assert window.bridge.pause()  # written on the control thread: returns at once
        assert time.perf_counter() - started < 0.1
    finally:
        gate.release()
        timer.stop()
    qtbot.waitUntil(lambda: not window.bridge.busy, timeout=20000)
    assert window.bridge.state == "finished"
    assert window.windowTitle() == "tiny[*] — Sigma Studio"
    try:
        qtbot.waitUntil(
            lambda: any(m.startswith("could not send pause to run-0001") for m in logged), timeout=10000
        )
    except Exception:  # say what the log got instead
        raise AssertionError(logged) from None


def test_a_share_that_fails_then_returns_recovers(qtbot, tmp_path):
    folder = _finished_run(tmp_path)

    class Flaky(LiveReader):
        failures = 2

        def poll(self):
            if Flaky.failures:
                Flaky.failures -= 1
                raise OSError(5, "Input/output error", str(self.folder))
            return super().poll()

    window = _window(qtbot)
    states = []
    window.bridge.sigWatchState.connect(states.append)
    window.bridge.watch(folder, reader_factory=Flaky, timeout_s=0.3)
    qtbot.waitUntil(lambda: not window.bridge.busy, timeout=15000)
    assert any(s is not None and not s.reachable and "Input/output error" in s.problem for s in states)
    assert window.bridge.state == "finished" and states[-1] is None


def test_a_folder_that_is_no_run_says_so(qtbot, tmp_path):
    window = _window(qtbot)
    window.watch_actions.watch(tmp_path)
    qtbot.waitUntil(lambda: not window.bridge.busy, timeout=10000)
    assert window.banner.level == "error" and "cannot watch" in window.banner.text().lower()
    assert window.bridge.watching is None


# ---------------------------------------------------------------------------------------------- entry points
def test_a_dropped_run_folder_and_the_watch_option_watch_it(qtbot, tmp_path):
    from studio import app

    folder = _finished_run(tmp_path)
    assert drop_action([str(folder)])[0] == "run"
    assert drop_action([str(tmp_path)])[0] == "data"
    window = _window(qtbot)
    finished = []
    window.bridge.sigRunFinished.connect(finished.append)
    window.open_dropped([str(folder)])
    qtbot.waitUntil(lambda: finished == ["finished"], timeout=20000)
    assert window.monitor.iteration_points > 0 and window.project.name == "tiny"

    args = app._parse(["--watch", str(folder)])
    other = app.open_window(args)
    qtbot.addWidget(other)
    assert other.bridge.watching == folder
    qtbot.waitUntil(lambda: not other.bridge.busy, timeout=20000)
    assert other.bridge.state == "finished"


def test_a_watched_run_shows_the_kernels_it_trained_with(qtbot, tmp_path):
    """The status bar says what the watched run used (its run.json), not the open project's setting."""
    from engine.ops import compiled
    from engine.project import Project

    run = build_run(Project.load(_project(tmp_path, epochs=1, batch=64)), kernels="compiled")
    run.fit()
    window = _window(qtbot)
    shown = []
    window.bridge.sigRunStarted.connect(
        lambda _info: shown.append((window.status_backend.text(), window.status_backend.toolTip()))
    )
    assert window.watch_actions.watch(run.folder)
    qtbot.waitUntil(lambda: bool(shown), timeout=20000)
    text, tip = shown[0]
    if compiled.available():  # numba installed (the test extra): the run used the compiled kernels
        assert text.startswith("backend: cpu, compiled kernels") and tip == ""
    else:  # it trained with numpy's, and says why
        assert "compiled" not in text and "numba" in tip
    _stop_watching(qtbot, window)


def test_the_runs_panel_lists_runs_made_elsewhere_and_watches_one(qtbot, tmp_path):
    from engine.project import Project

    path = _project(tmp_path)
    window = _window(qtbot)
    window.set_project(Project.load(path))
    window.panel("runs").raise_()
    qtbot.waitUntil(lambda: window.runs.isVisible(), timeout=2000)
    assert window.runs.model.rowCount() == 0
    run = build_run(Project.load(path))  # another process's run, as far as the window knows
    qtbot.waitUntil(lambda: window.runs.model.rowCount() == 1, timeout=6000)
    window.runs.select(run.folder.name)
    assert window.runs.watch_selected()
    assert window.bridge.watching == run.folder
    assert window.runs.delete_selected(confirm=False) == 0  # the watched run's folder stays
    assert run.folder.is_dir()
    _stop_watching(qtbot, window)


# ---------------------------------------------------------------------------------------------- MPI
@pytest.mark.slow
def test_an_mpi_run_is_watched_and_stopped(qtbot, tmp_path):
    from engine.operator.mpi import mpi_status

    ok, why = mpi_status()
    mpirun = shutil.which("mpirun") or shutil.which("mpiexec")
    if not ok or mpirun is None:
        pytest.skip(f"MPI is not available here: {why or 'no mpirun'}")
    path = _project(tmp_path)
    command = [mpirun, "-n", "2", "--oversubscribe", *_sigma("train", path, "--operator", "mpi", "--quiet")]
    child = _start(command, env=local_mpi_environment(_environment()))
    try:
        folder = runs_dir(path) / "run-0001"
        qtbot.waitUntil(lambda: _committed(folder) > 0, timeout=60000)
        window = _window(qtbot)
        latencies = []
        window.bridge.sigIterationMetrics.connect(
            lambda events: latencies.append(time.time() - events[-1].time)
        )
        assert window.watch_actions.watch(folder)
        qtbot.waitUntil(lambda: window.bridge.state == "running" and len(latencies) >= 5, timeout=30000)
        assert statistics.median(latencies[1:]) < 1.0, latencies
        assert window.bridge.pause()
        qtbot.waitUntil(lambda: window.bridge.state == "paused", timeout=15000)
        assert window.bridge.stop()
        qtbot.waitUntil(lambda: not window.bridge.busy, timeout=30000)
        assert window.bridge.state == "stopped"
        assert child.wait(60) == 0
        assert _status(folder)["state"] == "stopped"
    finally:
        out = _end(child)
    assert "Traceback" not in out, out
