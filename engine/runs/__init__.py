"""Runs that persist with their project: run folders, the recording hook, the run table.

Each run of a saved project gets a folder ``<project file>.runs/run-NNNN/`` (see
:mod:`engine.runs.folder` for what it holds and :mod:`engine.runs.series` for the metric files and why
they are plain append-only files). :func:`engine.run.build_run` makes the folder and installs
:class:`RunRecorder`, so a run started from the studio, ``sigma train`` or ``sigma sweep`` is recorded the
same way. ``sigma runs`` and the studio's run table both read :func:`run_table`.

A run folder is also the contract for watching and steering a run from another process or machine
(issue 21): :class:`LiveReader` (:mod:`engine.runs.live`) reads it while it is written, rebuilding the
trainer's events, and :func:`send_control` (:mod:`engine.runs.control`) writes the command files the
run's :class:`RunController` obeys.
"""

from __future__ import annotations

import copy

from .control import ControlError, RunController, send_control
from .folder import (
    RunError,
    RunRecord,
    annotate,
    code_versions,
    create_run,
    delete_run,
    find_run,
    list_runs,
    open_run,
    run_of_path,
    runs_dir,
)
from .live import LiveReader, live_state
from .recorder import RunRecorder
from .series import SeriesReader, SeriesWriter
from .table import RunTable, flatten_settings, lower_is_better, run_table

__all__ = [
    "ControlError",
    "LiveReader",
    "RunController",
    "RunError",
    "RunRecord",
    "RunRecorder",
    "RunTable",
    "SeriesReader",
    "SeriesWriter",
    "annotate",
    "code_versions",
    "create_run",
    "delete_run",
    "find_run",
    "flatten_settings",
    "list_runs",
    "lower_is_better",
    "open_run",
    "parent_of",
    "run_of_path",
    "run_table",
    "runs_dir",
    "live_state",
    "send_control",
]

# Settings a resume may change without making it a different experiment (the kernels give the same bits;
# a run recorded before the setting has none).
_RESUME_FREE = ("epochs", "checkpoint", "kernels")


def _comparable(settings: dict) -> dict:
    doc = copy.deepcopy(settings)
    for key in ("name", "last_checkpoint", "format"):
        doc.pop(key, None)
    training = doc.get("training") or {}
    for key in _RESUME_FREE:
        training.pop(key, None)
    return doc


def parent_of(project, checkpoint) -> dict | None:
    """Lineage of a run that starts from ``checkpoint``: None unless the checkpoint lies in a run folder.

    Returns ``{"run": "run-0002", "kind": "resume" | "branch", "checkpoint": path}``: a resume when
    the project's settings equal the parent's (up to the number of epochs, the checkpoint policy and the
    kernels), a branch when anything else changed.
    """
    if checkpoint is None:
        return None
    found = run_of_path(checkpoint)
    if found is None:
        return None
    folder, name = found
    try:
        parent = open_run(folder / name)
    except RunError:
        return None
    same = _comparable(parent.settings) == _comparable(project.to_dict())
    return {"run": name, "kind": "resume" if same else "branch", "checkpoint": str(checkpoint)}
