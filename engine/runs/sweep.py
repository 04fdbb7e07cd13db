"""Sweeps: a grid (or a random sample of it) of settings, each trial a recorded run of the project.

A sweep is a file ``<project>.runs/sweeps/sweep-NNNN.json`` listing its axes and trials. Each trial
runs as a child process (``sigma _sweep-trial SWEEP INDEX``, see :mod:`engine.runs.trial`) that
trains the project with the trial's values applied and records its run like any other (``run.json``
names the sweep, the trial and its values). Children get their own BLAS thread count so parallel
trials share the cores instead of oversubscribing them. A trial is done when a run of it has
finished, so a sweep whose coordinator was killed (a closed studio, a Ctrl-C) resumes with exactly
the trials that did not finish.

Axis keys
---------
``optimiser.learning_rate``, ``batch_size``, ``seed``, ``optimiser.type``, ``epochs``: a dotted path into
the project's training settings (an optimiser given by name becomes ``{"type": name}`` first).
``network.<layer pattern>.<argument>``: a numeric argument of every layer whose name matches the
pattern (``network.fc*.units``, ``network.*.rate``), as registry patterns match identifiers.
"""

from __future__ import annotations

import copy
import fnmatch
import itertools
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from .folder import list_runs, runs_dir
from .series import read_json, write_json_atomic

__all__ = [
    "SweepError",
    "parse_axis",
    "apply_values",
    "create_sweep",
    "load_sweep",
    "list_sweeps",
    "remaining_trials",
    "run_sweep",
    "trial_runs",
    "sweep_of_run",
]

FORMAT = "sigma.sweep/1"
_FINAL_OK = ("finished", "stopped")


class SweepError(ValueError):
    """A sweep that cannot be made or run: names the axis, value or file."""


def _value(text: str):
    """``"1e-3"`` -> 0.001, ``"32"`` -> 32, ``"true"`` -> True, ``"adam"`` -> "adam"."""
    text = text.strip()
    if not text:
        raise SweepError("an empty value")
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_axis(text: str) -> tuple[str, list]:
    """``"optimiser.learning_rate=1e-3,3e-3"`` -> ``("optimiser.learning_rate", [0.001, 0.003])``."""
    if "=" not in text:
        raise SweepError(f"{text!r}: expected KEY=V1,V2,... (e.g. optimiser.learning_rate=1e-3,3e-3)")
    key, values = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise SweepError(f"{text!r}: the key {key!r} is not a dotted name")
    try:
        parsed = [_value(v) for v in values.split(",")]
    except SweepError as exc:
        raise SweepError(f"{text!r}: {exc}") from None
    return key, parsed


def apply_values(project, values: dict) -> None:
    """Set each ``key: value`` of a trial in ``project`` (in place). Raises :class:`SweepError` when a key
    names nothing (a layer pattern matching no layer, an argument a layer does not have)."""
    for key, value in values.items():
        if key.startswith("network."):
            _apply_layer(project, key, value)
            continue
        parts = key.split(".")
        target = project.training
        for i, part in enumerate(parts[:-1]):
            if part == "optimiser" and isinstance(target.get(part), str):
                target[part] = {"type": target[part]}
            node = target.get(part)
            if node is None:
                node = target[part] = {}
            if not isinstance(node, dict):
                raise SweepError(f"{key}: training setting {'.'.join(parts[: i + 1])!r} is not a group")
            target = node
        if parts == ["optimiser"] and isinstance(project.training.get("optimiser"), dict):
            project.training["optimiser"]["type"] = value  # keep its learning rate and other settings
        else:
            target[parts[-1]] = value


def _apply_layer(project, key: str, value) -> None:
    parts = key.split(".")
    if len(parts) != 3:
        raise SweepError(f"{key}: expected network.<layer pattern>.<argument>")
    _, pattern, argument = parts
    nodes = [
        n for n in (project.network or {}).get("nodes", []) if fnmatch.fnmatchcase(n.get("name", ""), pattern)
    ]
    if not nodes:
        raise SweepError(f"{key}: no layer matches {pattern!r}")
    having = [n for n in nodes if argument in n]
    if not having:
        names = ", ".join(n.get("name", "?") for n in nodes)
        raise SweepError(f"{key}: layer(s) {names} have no argument {argument!r}")
    for node in having:
        node[argument] = value


def _trials(axes: list, random_count: int | None, seed: int) -> list[dict]:
    keys = [k for k, _ in axes]
    grid = [dict(zip(keys, combo)) for combo in itertools.product(*(v for _, v in axes))]
    if random_count is not None:
        if random_count < 1:
            raise SweepError(f"--random expects at least 1 trial, got {random_count}")
        rng = random.Random(seed)
        grid = rng.sample(grid, min(random_count, len(grid)))
    return [{"index": i, "values": values} for i, values in enumerate(grid)]


def create_sweep(project, axes: list, random_count: int | None = None, seed: int = 0) -> Path:
    """Write a new sweep file for ``project`` (saved) and return its path.

    Every trial's values are applied to a copy of the project first, so a key that names nothing is
    refused before anything runs.
    """
    if project.path is None:
        raise SweepError("save the project first: its sweeps and runs live next to it")
    if not axes:
        raise SweepError("a sweep needs at least one axis (--grid KEY=V1,V2)")
    keys = [k for k, _ in axes]
    if len(set(keys)) != len(keys):
        raise SweepError(
            f"an axis is given twice: {', '.join(sorted({k for k in keys if keys.count(k) > 1}))}"
        )
    trials = _trials(axes, random_count, seed)
    for trial in trials:
        apply_values(copy.deepcopy(project), trial["values"])
    folder = runs_dir(project.path) / "sweeps"
    folder.mkdir(parents=True, exist_ok=True)
    number = 1 + max((int(p.stem.split("-")[1]) for p in folder.glob("sweep-*.json")), default=0)
    while True:
        path = folder / f"sweep-{number:04d}.json"
        try:
            with open(path, "x", encoding="utf-8"):
                pass
            break
        except FileExistsError:
            number += 1
    doc = {
        "format": FORMAT,
        "id": path.stem,
        "project": Path(project.path).name,
        "created": time.time(),
        "axes": [[k, v] for k, v in axes],
        "random": random_count,
        "seed": seed,
        "trials": trials,
    }
    write_json_atomic(path, doc)
    return path


def load_sweep(path) -> dict:
    """Read a sweep file. Raises :class:`SweepError` naming it when it is not one."""
    doc = read_json(Path(path))
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("trials"), list):
        raise SweepError(f"{path}: not a sweep file")
    return doc


def list_sweeps(project_path) -> list[Path]:
    """The project's sweep files, oldest first."""
    folder = runs_dir(project_path) / "sweeps"
    return sorted(folder.glob("sweep-*.json")) if folder.is_dir() else []


def _project_of(sweep_path: Path) -> Path:
    """The project file a sweep belongs to (``X.sigma.runs/sweeps/sweep-1.json`` -> ``X.sigma``)."""
    runs = sweep_path.resolve().parent.parent
    return runs.with_name(runs.name.removesuffix(".runs"))


def trial_runs(sweep_path) -> dict[int, list]:
    """The runs of each trial of a sweep: ``{index: [RunRecord, ...]}``."""
    sweep_path = Path(sweep_path)
    sweep_id = sweep_path.stem
    found: dict[int, list] = {}
    for record in list_runs(_project_of(sweep_path)):
        info = record.meta.get("sweep")
        if isinstance(info, dict) and info.get("id") == sweep_id:
            found.setdefault(int(info.get("trial", -1)), []).append(record)
    return found


def remaining_trials(sweep_path) -> list[dict]:
    """Trials of a sweep without a finished run (a stopped early one counts as finished)."""
    doc = load_sweep(sweep_path)
    runs = trial_runs(sweep_path)
    done = {i for i, records in runs.items() if any(r.status.get("state") in _FINAL_OK for r in records)}
    return [t for t in doc["trials"] if t["index"] not in done]


def _mark_lost(sweep_path, indices) -> None:
    """Runs of these trials that never ended (their process was killed) are marked ``lost``."""
    for index, records in trial_runs(sweep_path).items():
        if index not in indices:
            continue
        for record in records:
            if record.status.get("state") not in (*_FINAL_OK, "error", "lost"):
                write_json_atomic(record.path / "status.json", {**record.status, "state": "lost"})


def run_sweep(
    sweep_path,
    parallel: int = 1,
    stop: threading.Event | None = None,
    on_trial=None,
    cores: int | None = None,
) -> list[tuple[int, int]]:
    """Run the sweep's remaining trials, ``parallel`` at a time, each in its own process.

    Parameters
    ----------
    sweep_path : path
    parallel : int
        Trials running at once. Each child's BLAS gets ``max(1, cores // parallel)`` threads.
    stop : threading.Event, optional
        Set it to stop: running trials are ended (their runs end as ``lost``) and no new one starts;
        the sweep resumes from there on the next call.
    on_trial : callable(index, state), optional
        Told when a trial starts (``"running"``) and ends (``"finished"`` or ``"failed"``).

    Returns
    -------
    list of (trial index, exit code)
    """
    sweep_path = Path(sweep_path).resolve()
    todo = remaining_trials(sweep_path)
    _mark_lost(sweep_path, {t["index"] for t in todo})
    parallel = max(1, int(parallel))
    cores = cores or os.cpu_count() or 1
    threads = str(max(1, cores // parallel))
    env = {
        **os.environ,
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]
        ),
    }
    running: dict[int, subprocess.Popen] = {}
    results = []
    queue = list(todo)
    try:
        while queue or running:
            if stop is not None and stop.is_set():
                break
            while queue and len(running) < parallel:
                trial = queue.pop(0)
                command = [*_trial_command(), str(sweep_path), str(trial["index"])]
                logs = sweep_path.with_suffix("")  # sweep-0001/: one log per trial, for failures
                logs.mkdir(exist_ok=True)
                with open(logs / f"trial-{trial['index']:03d}.log", "wb") as log:
                    running[trial["index"]] = subprocess.Popen(
                        command, env=env, stdout=subprocess.DEVNULL, stderr=log
                    )
                if on_trial is not None:
                    on_trial(trial["index"], "running")
            for index, process in list(running.items()):
                code = process.poll()
                if code is None:
                    continue
                del running[index]
                results.append((index, code))
                if on_trial is not None:
                    on_trial(index, "finished" if code == 0 else "failed")
            time.sleep(0.05)
    finally:
        for process in running.values():  # stopped: end the children (their runs read as lost)
            process.terminate()
        for process in running.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
    return results


def _trial_command() -> list[str]:
    """How to start a trial process: through ``sigma``'s hidden trial command. In a frozen bundle
    (PyInstaller) ``python -m`` does not exist; the ``sigma`` executable beside this one serves."""
    if getattr(sys, "frozen", False):
        folder = Path(sys.executable).parent
        name = "sigma.exe" if os.name == "nt" else "sigma"
        return [str(folder / name), "_sweep-trial"]
    return [sys.executable, "-m", "engine.cli", "_sweep-trial"]


def sweep_of_run(record) -> dict | None:
    """``{"id", "trial", "values"}`` of a run made by a sweep, else None."""
    info = record.meta.get("sweep")
    return info if isinstance(info, dict) else None
