"""Checkpoints: one HDF5 file holding everything an exact resume needs. No pickle, no eval.

Layout, format 3 (all plain dtypes; structured values are JSON as UTF-8 bytes in uint8 datasets):

- root attributes: ``format``, ``format_version``, ``digest`` (SHA-256 over every dataset, attribute
  and group, checked on restore)
- ``/.network_spec`` (JSON), ``/.meta`` (JSON: counters, every random generator state as plain ints,
  data iterator position, metric history, dataset fingerprint, library versions, ...)
- ``/.iteration_history``: the per-iteration reports as a float64 table (one row per report: the
  iteration, then the values named by the meta's ``iteration_history_columns``), when they are all
  float records with the same names; otherwise they stay in the meta's JSON
- ``/parameters/<layer.param>``, ``/buffers/<layer.buffer>``: arrays
- ``/optimiser``, ``/hooks``: state trees (a dict holding arrays becomes a group, arrays datasets,
  everything else, dicts without arrays included, the group's JSON ``.values``)

Formats 2 (the whole history in the meta, every dict a group) and 1 (JSON in attributes) are still
read (:mod:`engine.checkpoint_reader`).

Files are written to a temporary file in the same folder, flushed and fsynced, then renamed over the
target, so a crash leaves either the old complete file or the new complete one.

This module only maps the trainer's state (``trainer.state_dict()``, built from its parts) to and from
the file; writing the file's objects is :mod:`engine.checkpoint_writer`, reading untrusted files
safely is :mod:`engine.checkpoint_reader`, and reading them in a
child process with a time and memory limit (the CLI, the studio) is :mod:`engine.checkpoint_guard`.
Restore hands the file's state to ``trainer.load_state_dict``, which checks it all before applying it
all at once.
"""

from __future__ import annotations

import glob
import json
import math
import os
import platform
import re
import time

import h5py
import numpy as np

from .checkpoint_reader import (
    FORMAT,
    FORMAT_VERSION,
    HISTORY_COLUMNS,
    CheckpointError,
    read,
)
from .checkpoint_writer import history_table, write_content

__all__ = [
    "save",
    "capture",
    "restore",
    "load",
    "info",
    "checkpoint_name",
    "CheckpointError",
    "FORMAT",
    "FORMAT_VERSION",
]

# state_dict keys stored in the ``meta`` attribute (the rest are the groups and the network spec)
_META_KEYS = (
    "iteration",
    "epoch",
    "seed",
    "batch_size",
    "loss",
    "dataset_fingerprint",
    "rng",
    "iterator",
    "history",
    "iteration_history",
    "history_layout",
    "tally",
    "values",
    "classes",
)


# ---------------------------------------------------------------------------------------------- writing
def checkpoint_name(project, iteration: int | None = None) -> str:
    """The file name of a checkpoint of ``project`` at ``iteration``: ``digits-it001200.h5``.

    Named after the project file (``digits.sigma`` and ``digits.sigma.json`` give ``digits``; an unsaved
    project its name), so checkpoints say whose they are wherever they are copied. ``iteration=None``
    gives the ``str.format`` template (``digits-it{iteration:06d}.h5``) for
    :class:`~engine.hooks.CheckpointSaver`. Older names (``checkpoint-e0001-i00000023.h5``,
    ``digits-epoch1-iter23.h5``, ``last.h5``) load all the same: nothing reads the name.
    """
    path = getattr(project, "path", None)
    stem = os.path.basename(os.fspath(path)).split(".")[0] if path else str(getattr(project, "name", ""))
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:60] or "untitled"
    if iteration is None:
        return stem + "-it{iteration:06d}.h5"
    return f"{stem}-it{int(iteration):06d}.h5"


def _versions() -> dict:
    from . import __version__

    return {
        "engine": __version__,
        "numpy": np.__version__,
        "h5py": h5py.__version__,
        "python": platform.python_version(),
    }


def _to_file(state: dict, spec: dict, summary=None) -> dict:
    """The trainer's state as the file's parts: network spec, meta, the four state trees and the
    iteration history's table (None when it stays in the meta as JSON)."""
    meta = {k: state.get(k) for k in _META_KEYS}
    meta.update(optimiser=state["optimiser_type"], versions=_versions(), created=time.time())
    if isinstance(summary, dict):  # the training inputs' shape and range, for predict's warnings
        meta["input_summary"] = summary
    table = history_table(meta["iteration_history"])
    if table is not None:
        meta["iteration_history"] = None
        meta[HISTORY_COLUMNS], table = table
    return {
        "spec": spec,
        "meta": meta,
        "iteration_table": table,
        **{name: state[name] for name in ("parameters", "buffers", "optimiser", "hooks")},
    }


def _from_file(content: dict) -> dict:
    """The file's parts as a trainer state for ``trainer.load_state_dict`` (checked there)."""
    meta = content["meta"]
    state = {k: meta.get(k) for k in _META_KEYS}
    state.update({name: content[name] for name in ("parameters", "buffers", "optimiser", "hooks")})
    state["optimiser_type"] = meta.get("optimiser")
    for key, default in (("history", []), ("iteration_history", []), ("values", {})):
        if state[key] is None:
            state[key] = default
    return state


def capture(trainer) -> tuple[dict, dict]:
    """``trainer``'s complete state and network spec, as copies, for :func:`save` to write now or
    later (:class:`~engine.hooks.CheckpointSaver` holds a best state the save floor skipped). Taken on
    the training thread at the next iteration boundary during a run."""
    return trainer.operator.at_boundary(lambda: (trainer.state_dict(), trainer.network.to_spec()))


def save(trainer, path, template: bool = False, captured: tuple[dict, dict] | None = None) -> str:
    """Write ``trainer``'s complete state to ``path`` (atomically). Returns the path.

    From any thread, at any time: during a run the state is taken on the training thread at the next
    iteration boundary (a copy, so training goes on while the file is written here). With
    ``template=True`` the file name is a ``str.format`` template filled with the ``epoch`` and
    ``iteration`` of the state taken (``digits-it{iteration:06d}.h5``; only the file name, not its
    folder), so the name always says which iteration the file holds. ``captured`` writes a state
    :func:`capture` took earlier instead of the trainer's current one.
    """
    content = _to_file(
        *(captured if captured is not None else capture(trainer)),
        getattr(trainer, "input_summary", None),
    )
    path = os.fspath(path)
    if template:
        meta = content["meta"]
        head, name = os.path.split(path)  # only the name is a template: a folder may hold braces
        path = os.path.join(head, name.format(epoch=meta.get("epoch"), iteration=meta.get("iteration")))
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    _remove_stale_temporaries(path)
    tmp = f"{path}.tmp-{os.getpid()}-{time.monotonic_ns()}"
    try:
        with h5py.File(tmp, "w") as f:
            write_content(f, content)
            f.flush()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
            dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def _remove_stale_temporaries(path: str) -> None:
    """Delete temporaries of ``path`` left by processes that died while writing."""
    import psutil

    for tmp in glob.glob(glob.escape(path) + ".tmp-*"):
        try:
            pid = int(tmp[len(path) + 5 :].split("-")[0])
        except ValueError:
            continue
        if pid != os.getpid() and not psutil.pid_exists(pid):
            try:
                os.remove(tmp)
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------- reading
def load(path, verify: bool = True) -> dict:
    """Read and check a checkpoint file into plain values and host arrays (applies nothing).

    See :func:`engine.checkpoint_reader.read`; in-process, so for files that may be damaged prefer
    :func:`engine.checkpoint_guard.checked` first (a child process with a time limit).
    """
    return read(path, arrays=True, verify=verify)


def info(path) -> dict:
    """A summary for the GUI and CLI: counters, network size, optimiser, last metrics, versions.

    Reads no parameter data (only shapes), so a file declaring huge arrays allocates nothing.
    """
    content = read(path, arrays=False, verify=False)
    meta, params = content["meta"], content["parameters"]
    history = meta.get("history") if isinstance(meta.get("history"), list) else []
    learning_rate = content["optimiser"].get("learning_rate")
    return {
        "path": os.path.abspath(os.fspath(path)),
        "size_bytes": os.path.getsize(path),
        "epoch": meta.get("epoch"),
        "iteration": meta.get("iteration"),
        "created": meta.get("created"),
        "optimiser": meta.get("optimiser"),
        "learning_rate": learning_rate if isinstance(learning_rate, int | float) else None,
        "loss": meta.get("loss"),
        "layers": len(content["spec"].get("nodes", []) or []),
        "parameters": int(sum(math.prod(a.shape) for a in params.values() if hasattr(a, "shape"))),
        "last_metrics": history[-1] if history and isinstance(history[-1], dict) else {},
        "dataset_fingerprint": meta.get("dataset_fingerprint"),
        "classes": meta.get("classes"),
        "input_summary": meta.get("input_summary") if isinstance(meta.get("input_summary"), dict) else None,
        "versions": meta.get("versions"),
        "network_spec": content["spec"],
        "format_version": content["format_version"],
    }


# ---------------------------------------------------------------------------------------------- restoring
def _check(trainer, content, data, path) -> None:
    """Every compatibility check, before anything is applied; raises one CheckpointError naming all."""
    problems = []
    current = trainer.network.to_spec()
    if json.dumps(current, sort_keys=True) != json.dumps(content["spec"], sort_keys=True):
        problems.append("architecture differs: " + _spec_difference(content["spec"], current))
    params = trainer.network.parameters()
    stored = content["parameters"]
    for k in params.keys() - stored.keys():
        problems.append(f"parameter {k} is missing from the file")
    for k in stored.keys() - params.keys():
        problems.append(f"the file has parameter {k}, which this network lacks")
    for k in params.keys() & stored.keys():
        if tuple(params[k].shape) != tuple(stored[k].shape):
            problems.append(f"parameter {k}: file {tuple(stored[k].shape)}, network {tuple(params[k].shape)}")
    for k, b in getattr(trainer.network, "buffers", dict)().items():
        if k not in content["buffers"] or tuple(content["buffers"][k].shape) != tuple(b.shape):
            problems.append(f"buffer {k} is missing or has another shape")
    meta = content["meta"]
    if meta.get("optimiser") != type(trainer.optimiser).__name__:
        problems.append(
            f"optimiser: file {meta.get('optimiser')}, trainer {type(trainer.optimiser).__name__}"
        )
    if data is not None:
        from .training.data import fingerprint_of

        have, want = fingerprint_of(data), meta.get("dataset_fingerprint", "")
        if have and want and have != want:
            problems.append(f"dataset differs (fingerprint {want[:12]} in the file, {have[:12]} given)")
    if problems:
        raise CheckpointError("the checkpoint does not fit this trainer: " + "; ".join(problems), path)


def _spec_difference(stored: dict, current: dict) -> str:
    def by_name(spec):
        return {n.get("name"): n for n in spec.get("nodes", []) if isinstance(n, dict)}

    a, b = by_name(stored), by_name(current)
    parts = [f"layer {n!r} only in the file" for n in a.keys() - b.keys()]
    parts += [f"layer {n!r} only in the network" for n in b.keys() - a.keys()]
    parts += [f"layer {n!r}: file {a[n]} vs network {b[n]}" for n in a.keys() & b.keys() if a[n] != b[n]]
    return ", ".join(sorted(parts)) or "node order, inputs or outputs differ"


def restore(trainer, path, data=None, branch: bool = False) -> dict:
    """Load a checkpoint into ``trainer`` for an exact resume; ``fit`` then continues where it was.

    Everything is read and checked first (the file's structure and digest, architecture, parameter
    shapes and values, optimiser, counters, random generator states, iterator position, and the
    dataset fingerprint when ``data`` is given or at the next ``fit``), then applied all at once by
    ``trainer.load_state_dict``; on any problem the trainer is bitwise unchanged and one
    :class:`CheckpointError` says what. Returns the meta.

    ``branch=True`` continues on data that may differ from the checkpoint's (sample edits, another
    split): the dataset fingerprint is not required to match, and when it does not (or ``data`` is not
    given) the data position is dropped, so the next ``fit`` starts the epoch from its first batch on
    the new data. Everything else (weights, optimiser state, counters, history) is restored as for a
    resume; this is a continuation, not an exact resume.
    """
    from .training.state import TrainerStateError

    path = os.fspath(path)
    if trainer.operator.control.active:
        raise CheckpointError("cannot restore while training is running; stop it first", path)
    content = load(path)
    try:
        _check(trainer, content, None if branch else data, path)
    except (TypeError, AttributeError, KeyError) as exc:  # a crafted spec or meta of the wrong shape
        raise CheckpointError(
            f"the stored network or state is malformed ({type(exc).__name__}: {exc})", path
        ) from None
    state = _from_file(content)
    if branch:
        from .training.data import fingerprint_of

        same = data is not None and fingerprint_of(data) == state.get("dataset_fingerprint")
        state["dataset_fingerprint"] = ""  # no exact-resume check at the next fit
        if not same:
            state["iterator"] = None  # a position in other data means nothing: the epoch starts over
    try:
        trainer.load_state_dict(state)
    except TrainerStateError as exc:
        raise CheckpointError(f"the stored state cannot be used: {exc}", path) from None
    stored, present = set(content["hooks"]), {h.name for h in trainer.hooks}
    if stored != present:  # not an error (hooks may be added or left out on resume), but say so
        from .events import LogMessage

        message = (
            f"restored {path}: hooks without stored state (they start fresh): "
            f"{sorted(present - stored)}; stored hook states ignored: {sorted(stored - present)}"
        )
        trainer.events.emit(LogMessage(source=trainer.name, level="warning", message=message))
    return content["meta"]
