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
the file; reading untrusted files safely is :mod:`engine.checkpoint_reader`, and reading them in a
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
from itertools import chain

import h5py
import numpy as np

from .backend import to_host
from .checkpoint_reader import (
    FORMAT,
    FORMAT_VERSION,
    HISTORY_COLUMNS,
    HISTORY_DATASET,
    CheckpointError,
    digest_of,
    read,
)

__all__ = [
    "save",
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


class _Written:
    """What a save wrote, kept as it goes: ``{path: array}`` of every dataset and the group paths.

    The file's digest is taken from these arrays, which are exactly what the datasets hold, instead of
    visiting the new file and reading every dataset back (h5py's per-object cost was a third of a
    checkpoint's time on W1: 6.7 of 20 ms, issue 22). The reader still digests the file itself.
    """

    def __init__(self):
        self.datasets: dict = {}
        self.groups: list[str] = []

    def dataset(self, group, where: str, name: str, data) -> None:
        data = np.asarray(data)
        group.create_dataset(name, data=data)
        self.datasets[f"{where}{name}"] = data

    def group(self, parent, where: str, name: str):
        self.groups.append(f"{where}{name}")
        return parent.create_group(name)


def _json_dataset(group, name: str, value, written: _Written, where: str = "") -> None:
    # JSON as UTF-8 bytes in a plain dataset: a variable-length string would live in HDF5's global
    # heap, whose damaged object sizes make HDF5 loop forever (the hang of issue 14).
    written.dataset(group, where, name, np.frombuffer(json.dumps(value).encode("utf-8"), np.uint8))


def _is_array(value) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, np.generic)


def _key(key) -> str:
    key = str(key)
    if "/" in key or key in (".", "") or key.startswith("."):
        raise CheckpointError(f"cannot store state key {key!r}: keys may not contain '/' or start with '.'")
    return key


def _plain_tree(tree: dict):
    """``tree`` as JSON-ready values (keys as the group names would be) when it holds no array at any
    depth, else None. Such a subtree is kept in its parent's ``.values`` instead of a group of its
    own: the reader gives back the same dict either way, and every HDF5 object costs ~0.1 ms to
    write (a hook's state was a group and a dataset; issue 22)."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            value = _plain_tree(value)
            if value is None:
                return None
        elif _is_array(value):
            return None
        elif isinstance(value, np.generic):
            value = value.item()
        out[_key(key)] = value
    return out


def _write_tree(group, tree: dict, written: _Written, where: str) -> None:
    """Write ``tree`` into ``group``, whose path in the file is ``where`` (ending in "/")."""
    values = {}
    for key, value in tree.items():
        key = _key(key)
        if isinstance(value, dict):
            plain = _plain_tree(value)
            if plain is not None:
                values[key] = plain
            else:
                _write_tree(written.group(group, where, key), value, written, f"{where}{key}/")
        elif _is_array(value):
            written.dataset(group, where, key, to_host(value))
        else:
            values[key] = value.item() if isinstance(value, np.generic) else value
    _json_dataset(group, ".values", values, written, where)


def _digest(h5file, written: _Written) -> str:
    """The digest of a file just written: every dataset and group as written, and the attributes
    (only the root's: nothing else here has any)."""
    attributes = {("/", k): v for k, v in h5file.attrs.items()}
    return digest_of(written.datasets, attributes, groups=written.groups)


def _versions() -> dict:
    from . import __version__

    return {
        "engine": __version__,
        "numpy": np.__version__,
        "h5py": h5py.__version__,
        "python": platform.python_version(),
    }


def _history_table(records):
    """The iteration history ``[[iteration, {name: float}], ...]`` as ``(names, table)``: a float64
    array of one row per record, the iteration then the values in ``names`` order; None unless every
    record has the same names, only float values and an int iteration below 2**53 (it then stays JSON).

    As JSON the 4096-record history was a quarter of a W1 checkpoint's time (5.9 of 24 ms, issue 22);
    this takes ~1.3 ms (C-level passes over the records, no Python loop of our own).
    """
    if not isinstance(records, list) or not records:
        return None
    try:
        steps, dicts = zip(*records, strict=True)
    except (TypeError, ValueError):  # not all pairs
        return None
    if set(map(type, steps)) != {int} or set(map(type, dicts)) != {dict}:
        return None
    names = tuple(dicts[0])
    if not all(type(n) is str for n in names) or not all(tuple(d) == names for d in dicts):
        return None
    if not _FLOATS.issuperset(map(type, chain.from_iterable(map(dict.values, dicts)))):
        return None
    if not 0 <= min(steps) <= max(steps) < 2**53:  # exact as float64
        return None
    table = np.empty((len(dicts), 1 + len(names)), np.float64)
    table[:, 0] = steps
    table[:, 1:] = np.fromiter(chain.from_iterable(map(dict.values, dicts)), np.float64).reshape(
        len(dicts), len(names)
    )
    return list(names), table


_FLOATS = frozenset({float})


def _to_file(state: dict, spec: dict, summary=None) -> dict:
    """The trainer's state as the file's parts: network spec, meta, the four state trees and the
    iteration history's table (None when it stays in the meta as JSON)."""
    meta = {k: state.get(k) for k in _META_KEYS}
    meta.update(optimiser=state["optimiser_type"], versions=_versions(), created=time.time())
    if isinstance(summary, dict):  # the training inputs' shape and range, for predict's warnings
        meta["input_summary"] = summary
    table = _history_table(meta["iteration_history"])
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


def save(trainer, path, template: bool = False) -> str:
    """Write ``trainer``'s complete state to ``path`` (atomically). Returns the path.

    From any thread, at any time: during a run the state is taken on the training thread at the next
    iteration boundary (a copy, so training goes on while the file is written here). With
    ``template=True`` the file name is a ``str.format`` template filled with the ``epoch`` and
    ``iteration`` of the state taken (``digits-it{iteration:06d}.h5``; only the file name, not its
    folder), so the name always says which iteration the file holds.
    """
    content = _to_file(
        *trainer.operator.at_boundary(lambda: (trainer.state_dict(), trainer.network.to_spec())),
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
            f.attrs["format"] = np.bytes_(FORMAT)  # fixed-length: kept in the object header
            f.attrs["format_version"] = np.int64(FORMAT_VERSION)
            written = _Written()
            _json_dataset(f, ".network_spec", content["spec"], written)
            _json_dataset(f, ".meta", content["meta"], written)
            if content["iteration_table"] is not None:
                written.dataset(f, "", HISTORY_DATASET, content["iteration_table"])
            for name in ("parameters", "buffers", "optimiser", "hooks"):
                _write_tree(written.group(f, "", name), content[name], written, f"{name}/")
            f.attrs["digest"] = np.bytes_(_digest(f, written))
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
