"""Steering a run through its control folder: sigma pause/step/set/resume/checkpoint/stop (issue 21)."""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine import events as ev
from engine import templates
from engine.cli import main
from engine.run import build_run
from engine.runs import ControlError, LiveReader, RunError, send_control
from engine.runs.control import FORMAT
from engine.templates import mlp
from engine.testing.mpi import local_mpi_environment

ROOT = Path(__file__).resolve().parents[3]


def _project(folder, name="tiny.sigma", **training):
    project = templates.digits_project()
    project.network = mlp(inputs=64, hidden=(16,), classes=10)
    project.training.update({"epochs": 10_000, "batch_size": 32, **training})
    project.save(folder / name)
    return project


def _status(folder: Path) -> dict:
    try:
        return json.loads((folder / "status.json").read_text())
    except (OSError, ValueError):
        return {}


def _until(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _log_records(folder: Path, kind: str) -> list[dict]:
    from engine.runs.eventlog import EventLogReader

    return [r for r in EventLogReader(folder / "events").read_new() if r["k"] == kind]


def _sigma(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_sigma_train_steered_from_the_command_line(tmp_path, capsys):
    project = _project(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "train", str(project.path), "--quiet"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        runs = tmp_path / "tiny.sigma.runs"
        folder = _until(
            lambda: next(iter(sorted(runs.glob("run-*/run.json"))), None), what="the run folder"
        ).parent
        _until(lambda: _status(folder).get("iteration", 0) > 5, what="iterations")

        code, out, _ = _sigma(capsys, "pause", folder, "--wait", 30)
        assert code == 0 and out.startswith("run-0001: pause applied at iteration"), out
        _until(lambda: _status(folder).get("state") == "paused", 30, "paused")
        (ack,) = _log_records(folder, "control")
        (paused,) = [r for r in _log_records(folder, "RunStateChanged") if r["e"]["state"] == "paused"]
        assert paused["at"] - ack["at"] <= 1  # within one iteration of reading the command
        code, out, _ = _sigma(capsys, "runs", project.path)
        assert code == 0 and "paused" in out.splitlines()[1]
        # Paused, the run keeps its heartbeat and does not move.
        before = _status(folder)
        beat = before["updated"]
        after = _until(
            lambda: (s := _status(folder))["updated"] > beat and s, 10.0, "a heartbeat while paused"
        )
        assert after["updated"] > before["updated"] and after["iteration"] == before["iteration"]
        assert LiveReader(folder).state() == "paused"

        code, out, _ = _sigma(capsys, "step", folder, 3, "--wait", 30)
        assert code == 0, out
        _until(lambda: _status(folder).get("iteration") == before["iteration"] + 3, 30, "three steps")
        code, out, _ = _sigma(capsys, "set", folder, "lr=0.0123", "--wait", 30)
        assert code == 0 and "optimiser.learning_rate=0.0123" in out
        code, out, _ = _sigma(capsys, "resume", folder, "--wait", 30)
        assert code == 0 and "resume applied" in out
        reader = LiveReader(folder)

        def new_rate():
            rates = [
                e.metrics.get("learning_rate") for e in reader.poll() if isinstance(e, ev.IterationMetrics)
            ]
            return rates and rates[-1] == pytest.approx(0.0123)

        _until(new_rate, 30, "the new learning rate in the metrics")
        code, out, _ = _sigma(capsys, "checkpoint", folder, "--wait", 30)
        assert code == 0 and "checkpoint written" in out
        assert list((folder / "checkpoints").glob("tiny-it*.h5"))
        code, out, _ = _sigma(capsys, "stop", folder, "--wait", 30)
        assert code == 0 and "last.h5" in out
        assert child.wait(30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert _status(folder)["state"] == "stopped" and (folder / "checkpoints" / "last.h5").is_file()
    saved = [e for e in LiveReader(folder).poll() if isinstance(e, ev.CheckpointSaved)]
    assert saved[-1].reason == "stopped by control" and Path(saved[-1].path).name == "last.h5"
    code, _, err = _sigma(capsys, "pause", folder)
    assert code == 1 and "already stopped" in err and err.count("\n") == 1
    code, _, err = _sigma(capsys, "resume", tmp_path)
    assert code == 3 and "not a run folder" in err


def test_malformed_stale_and_unknown_commands_are_ignored_with_a_log_line(tmp_path):
    project = _project(tmp_path)
    run = build_run(project)
    logged: list = []
    run.trainer.events.subscribe(logged.append, ev.LogMessage)
    worker = threading.Thread(target=run.fit, kwargs={"raise_errors": False})
    worker.start()
    try:
        folder = run.folder
        _until(lambda: run.trainer.operator.state == "running", 30, "running")
        inbox = folder / "control"
        inbox.mkdir(exist_ok=True)
        created = json.loads((folder / "run.json").read_text())["created"]
        now = time.time()

        def write(name, doc):
            (inbox / name).write_text(doc if isinstance(doc, str) else json.dumps(doc))

        write("00000000000000000001-a.json", "{not json")
        write("00000000000000000002-b.json", {"command": "pause"})  # no format
        write("00000000000000000003-c.json", {"format": FORMAT, "command": "explode", "time": now})
        write("00000000000000000004-d.json", {"format": FORMAT, "command": "pause", "time": created - 3600})
        write(
            "00000000000000000005-e.json",
            {"format": FORMAT, "command": "set", "values": {"trainer.seed": 1}, "time": now},
        )
        write(
            "00000000000000000006-f.json",
            {"format": FORMAT, "command": "set", "values": {"optimiser.learning_rate": "x"}, "time": now},
        )
        write(
            "00000000000000000007-g.json",
            {"format": FORMAT, "command": "step", "values": {"n": -2}, "time": now},
        )
        write("00000000000000000008-h.json", [1, 2, 3])
        write(
            ".00000000000000000009-tmp.json", {"format": FORMAT, "command": "stop", "time": now}
        )  # a write in progress
        send_control(folder, "pause")
        _until(lambda: run.trainer.operator.state == "paused", 30, "paused")
        reader = LiveReader(folder)
        _until(
            lambda: reader.poll() is not None and len(reader.acknowledgements()) == 9, 30, "acknowledgements"
        )
        outcomes = [(a["command"], a["outcome"]) for a in reader.acknowledgements()]
        assert outcomes[-1] == ("pause", "applied")
        assert all(outcome == "ignored" for _, outcome in outcomes[:-1])
        messages = [a["message"] for a in reader.acknowledgements()]
        assert "unreadable" in messages[0] and "stale" in messages[3] and "not a live value" in messages[4]
        assert "unknown command 'explode'" in messages[2]
        warnings = [e.message for e in logged if e.source == "control" and e.level == "warning"]
        assert len(warnings) == 8
        assert run.trainer.operator.state == "paused"  # the stop being written was not read
    finally:
        run.trainer.operator.stop()
        worker.join(30)
    assert not worker.is_alive()


def test_send_control_refuses_what_no_run_would_obey(tmp_path):
    with pytest.raises(RunError, match="not a run folder"):
        send_control(tmp_path, "pause")
    project = _project(tmp_path, epochs=1, batch_size=512)
    run = build_run(project)
    with pytest.raises(ControlError, match="unknown command"):
        send_control(run.folder, "explode")
    with pytest.raises(ControlError, match="finite number"):
        send_control(run.folder, "set", lr=float("nan"))
    with pytest.raises(ControlError, match="at least 1"):
        send_control(run.folder, "step", n=0)
    with pytest.raises(ControlError, match="takes no values"):
        send_control(run.folder, "pause", n=1)
    ident = send_control(run.folder, "set", lr=0.5, momentum=0.25)
    doc = json.loads((run.folder / "control" / f"{ident}.json").read_text())
    assert doc["values"] == {"optimiser.learning_rate": 0.5, "optimiser.momentum": 0.25}
    run.fit()
    with pytest.raises(ControlError, match="already finished"):
        send_control(run.folder, "stop")


def test_two_mpi_ranks_obey_the_control_folder_alike(tmp_path):
    from engine.operator.mpi import mpi_status

    ok, why = mpi_status()
    if not ok:
        pytest.skip(why)
    mpirun = shutil.which("mpirun") or shutil.which("mpiexec")
    if mpirun is None:
        pytest.skip("mpirun is not installed")
    project = _project(tmp_path)
    script = Path(__file__).with_name("mpi_control_script.py")
    command = [mpirun, "-n", "2", "--oversubscribe", sys.executable, str(script), str(tmp_path)]
    command += ["train", str(project.path), "--operator", "mpi", "--quiet"]
    child = subprocess.Popen(
        command, env=local_mpi_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        runs = tmp_path / "tiny.sigma.runs"
        folder = _until(
            lambda: next(iter(sorted(runs.glob("run-*/run.json"))), None), 60, "the run folder"
        ).parent
        _until(lambda: _status(folder).get("iteration", 0) > 5, 60, "iterations")
        send_control(folder, "pause")
        _until(lambda: _status(folder).get("state") == "paused", 30, "paused")
        paused_at = _status(folder)["iteration"]
        send_control(folder, "set", lr=0.0123)
        send_control(folder, "step", n=2)
        _until(lambda: _status(folder).get("iteration") == paused_at + 2, 30, "two steps")
        send_control(folder, "resume")
        _until(lambda: _status(folder).get("iteration", 0) > paused_at + 10, 30, "resumed")
        send_control(folder, "pause")
        _until(lambda: _status(folder).get("state") == "paused", 30, "paused again")
        send_control(folder, "stop")  # while paused: rank 0 must still reach the exchange with the others
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate(timeout=10)
    assert child.returncode == 0, (out + err).decode()[-2000:]
    ranks = [json.loads((tmp_path / f"rank-{k}.json").read_text()) for k in (0, 1)]
    assert [r["learning_rate"] for r in ranks] == [pytest.approx(0.0123)] * 2
    assert ranks[0]["iteration"] == ranks[1]["iteration"] and ranks[0]["checksum"] == ranks[1]["checksum"]
    assert [r["state"] for r in ranks] == ["stopped", "stopped"]
    reader = LiveReader(folder)
    reader.poll()
    assert reader.state() == "stopped" and (folder / "checkpoints" / "last.h5").is_file()
    outcomes = [a["outcome"] for a in reader.acknowledgements()]
    assert outcomes == ["applied"] * 6
    assert not (tmp_path / "tiny.sigma.runs" / "run-0002").exists()  # rank 1 recorded nothing
