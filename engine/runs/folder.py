"""Run folders: one folder per run in ``<project>.runs/`` next to the project file.

A run folder holds::

    run.json        written once when the run is made: the settings snapshot (the whole project:
                    data source and edits, network spec, training settings), seed, code versions,
                    backend, what started it, and the parent run (lineage of a resume or a branch)
    status.json     replaced as the run goes: state, counters, start/end times, final metrics, error
    notes.json      the user's: label, star, note (only the studio and ``sigma runs`` write it)
    series/         metric history at iteration and epoch level (see :mod:`engine.runs.series`)
    checkpoints/    the run's checkpoints

Every JSON file is written to a temporary file and renamed, so a reader in another process sees the
old or the new document, never half of one. The writer of a run owns ``run.json``, ``status.json``
and ``series/``; nothing else writes them, so annotating a run while it trains is safe.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .series import SeriesReader, read_json, write_json_atomic

__all__ = [
    "RunError",
    "RunRecord",
    "runs_dir",
    "create_run",
    "list_runs",
    "open_run",
    "find_run",
    "annotate",
    "delete_run",
    "run_of_path",
    "code_versions",
]

FORMAT = "sigma.run/1"
_NAME = re.compile(r"^run-(\d{4,})$")


class RunError(ValueError):
    """A run folder that cannot be used, or a run that does not exist; names the folder."""

    def __init__(self, message: str, path=None):
        self.path = str(path) if path is not None else None
        super().__init__(f"{path}: {message}" if path is not None else message)


def runs_dir(project_path) -> Path:
    """``<folder>/<project file name>.runs``: where a project's runs live (``digits.sigma.runs``)."""
    path = Path(project_path)
    return path.with_name(path.name + ".runs")


def code_versions() -> dict:
    """Versions of the code that ran: Sigma's engine, Python, numpy (and h5py/cupy when loaded)."""
    import numpy

    from engine import __version__

    versions = {"sigma": __version__, "python": sys.version.split()[0], "numpy": numpy.__version__}
    for name in ("h5py", "cupy"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "__version__"):
            versions[name] = module.__version__
    return versions


@dataclass
class RunRecord:
    """What a run folder says about its run (read from its files; cheap: no series data).

    Attributes
    ----------
    path : Path
    name : str
        The folder name (``run-0003``): the run's identity.
    meta : dict
        ``run.json`` (settings snapshot, seed, versions, parent...).
    status : dict
        ``status.json`` (state, epoch, iteration, final metrics...).
    notes : dict
        ``notes.json`` (label, starred, note).
    """

    path: Path
    name: str
    meta: dict = field(default_factory=dict)
    status: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The user's name for the run, else ``run 3``."""
        label = self.notes.get("label")
        if label:
            return str(label)
        match = _NAME.match(self.name)
        return f"run {int(match.group(1))}" if match else self.name

    @property
    def starred(self) -> bool:
        return bool(self.notes.get("starred"))

    @property
    def note(self) -> str:
        return str(self.notes.get("note") or "")

    @property
    def parent(self) -> dict | None:
        """``{"run": name, "kind": "resume"|"branch", "checkpoint": path}`` or None."""
        parent = self.meta.get("parent")
        return parent if isinstance(parent, dict) else None

    @property
    def settings(self) -> dict:
        """The project snapshot the run trained with (``Project.to_dict()``)."""
        settings = self.meta.get("settings")
        return settings if isinstance(settings, dict) else {}

    def series(self) -> SeriesReader:
        """A reader of the run's committed metric history."""
        return SeriesReader(self.path / "series")


def _next_name(folder: Path) -> Path:
    """Make the next free ``run-NNNN`` folder (exclusive mkdir: parallel runs never share one)."""
    folder.mkdir(parents=True, exist_ok=True)
    taken = [int(m.group(1)) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    number = max(taken, default=0) + 1
    while True:
        path = folder / f"run-{number:04d}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            number += 1


def create_run(project, parent: dict | None = None, origin: str = "", extra: dict | None = None) -> Path:
    """Make a new run folder for ``project`` (which must have been saved) and write its ``run.json``.

    Parameters
    ----------
    project : engine.project.Project
    parent : dict, optional
        ``{"run": folder name, "kind": "resume" or "branch", "checkpoint": path}``.
    origin : str
        What started the run (``"studio"``, ``"sigma train"``, ``"sigma sweep"``).
    extra : dict, optional
        More entries for ``run.json`` (backend, workers, sweep trial).

    Returns
    -------
    Path
        The new folder.
    """
    if project.path is None:
        raise RunError("the project has not been saved yet, so its runs have nowhere to go")
    path = _next_name(runs_dir(project.path))
    (path / "checkpoints").mkdir()
    meta = {
        "format": FORMAT,
        "created": time.time(),
        "origin": origin,
        "project": Path(project.path).name,
        "seed": int(project.training.get("seed", 0) or 0),
        "versions": code_versions(),
        "parent": parent,
        "settings": project.to_dict(),
        **(extra or {}),
    }
    write_json_atomic(path / "run.json", meta)
    write_json_atomic(path / "status.json", {"state": "created", "epoch": 0, "iteration": 0})
    return path


def open_run(path) -> RunRecord:
    """Read one run folder. Raises :class:`RunError` when it is not one."""
    path = Path(path)
    meta = read_json(path / "run.json")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise RunError("not a run folder (no readable run.json)", path)
    status = read_json(path / "status.json", {}) or {}
    notes = read_json(path / "notes.json", {}) or {}
    return RunRecord(
        path=path,
        name=path.name,
        meta=meta,
        status=status if isinstance(status, dict) else {},
        notes=notes if isinstance(notes, dict) else {},
    )


def list_runs(project_path) -> list[RunRecord]:
    """The runs of a project, oldest first; folders that are not runs are skipped."""
    folder = runs_dir(project_path)
    if not folder.is_dir():
        return []
    records = []
    for path in sorted(folder.iterdir()):
        if path.is_dir() and _NAME.match(path.name):
            try:
                records.append(open_run(path))
            except RunError:
                continue  # a folder being made this instant, or damaged: not a run to show
    return records


def find_run(project_path, name: str) -> RunRecord:
    """The run called ``name`` (folder name like ``run-0003``, or ``3``) of a project."""
    if name.isdigit():
        name = f"run-{int(name):04d}"
    path = runs_dir(project_path) / name
    if not _NAME.match(name) or not path.is_dir():
        raise RunError(f"no run {name!r} (see 'sigma runs {project_path}')", runs_dir(project_path))
    return open_run(path)


def annotate(path, label: str | None = None, starred: bool | None = None, note: str | None = None) -> dict:
    """Change a run's label, star or note (``None`` leaves a field as it is); returns the new notes."""
    path = Path(path)
    notes = read_json(path / "notes.json", {}) or {}
    if label is not None:
        notes["label"] = str(label).strip()
    if starred is not None:
        notes["starred"] = bool(starred)
    if note is not None:
        notes["note"] = str(note)
    write_json_atomic(path / "notes.json", notes)
    return notes


def delete_run(path) -> None:
    """Remove a run folder and everything in it (checkpoints too). Refuses what is not a run folder."""
    path = Path(path)
    open_run(path)  # raises for anything that is not a run folder: never remove a folder by mistake
    # Renamed first so that a reader never lists a half-deleted run.
    doomed = path.with_name(f".deleting-{path.name}-{os.getpid()}")
    os.replace(path, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def run_of_path(path) -> tuple[Path, str] | None:
    """``(runs folder, run name)`` when ``path`` lies inside a run folder (a checkpoint of a run)."""
    path = Path(path).resolve()
    for parent in path.parents:
        if _NAME.match(parent.name) and parent.parent.name.endswith(".runs"):
            if (parent / "run.json").is_file():
                return parent.parent, parent.name
    return None
