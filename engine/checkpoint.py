"""Checkpoints: one HDF5 file holding everything an exact resume needs. No pickle, no eval.

Layout (all plain dtypes; structured values are JSON strings of numbers, strings, lists and dicts):

- root attributes: ``format``, ``format_version``, ``network_spec`` (JSON), ``meta`` (JSON: counters,
  every random generator state as plain ints, data iterator position, metric history, dataset
  fingerprint, library versions, ...), ``digest`` (SHA-256 over every array, checked on restore)
- ``/parameters/<layer.param>``, ``/buffers/<layer.buffer>``: arrays
- ``/optimiser``, ``/hooks/<hook name>``: state trees (dicts become groups, arrays datasets, the other
  values a JSON attribute ``values``)

Files are written to a temporary file in the same folder, flushed and fsynced, then renamed over the
target, so a crash leaves either the old complete file or the new complete one.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import platform
import threading
import time

import h5py
import numpy as np

__all__ = ["save", "restore", "info", "CheckpointError", "FORMAT", "FORMAT_VERSION"]

FORMAT = "sigma-checkpoint"
FORMAT_VERSION = 1
_PLAIN_KINDS = "biuf"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the trainer; ``path`` names the file."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(f"{message} (checkpoint {path})" if path else message)
        self.path = path


# ---------------------------------------------------------------------------------------------- writing
def _host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _write_tree(group, tree: dict) -> None:
    values = {}
    for key, value in tree.items():
        key = str(key)
        if "/" in key or key in (".", ""):
            raise CheckpointError(f"cannot store state key {key!r}: keys may not contain '/'")
        if isinstance(value, dict):
            _write_tree(group.create_group(key), value)
        elif hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, np.generic):
            group.create_dataset(key, data=_host(value))
        else:
            values[key] = value.item() if isinstance(value, np.generic) else value
    group.attrs["values"] = json.dumps(values)


def _digest(h5file) -> str:
    """SHA-256 over every dataset's path, dtype, shape and bytes, in sorted order."""
    h = hashlib.sha256()
    names = []
    h5file.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    for name in sorted(names):
        data = np.ascontiguousarray(h5file[name][()])
        h.update(f"{name}|{data.dtype.str}|{data.shape}".encode())
        h.update(data.tobytes())
    return h.hexdigest()


def _versions() -> dict:
    from . import __version__

    return {
        "engine": __version__,
        "numpy": np.__version__,
        "h5py": h5py.__version__,
        "python": platform.python_version(),
    }


def _collect(trainer) -> dict:
    """Everything to store, as plain values and host arrays (reads the trainer, changes nothing)."""
    trainer.operator.sync()  # queued registry values (a scheduled learning rate) belong to this state
    net = trainer.network
    iterator_state = trainer._pending_iterator_state
    if iterator_state is None and trainer.iterator is not None:
        iterator_state = trainer.iterator.state_dict()
    values = {}
    for k, v in trainer._values.items():
        try:
            values[k] = float(v)
        except (TypeError, ValueError):
            continue
    meta = {
        "iteration": trainer.iteration,
        "epoch": trainer.epoch,
        "seed": trainer.seed,
        "batch_size": trainer.batch_size,
        "loss": trainer.loss_name,
        "optimiser": type(trainer.optimiser).__name__,
        "dataset_fingerprint": trainer.data_fingerprint or getattr(trainer, "_expected_fingerprint", ""),
        "rng": {
            "trainer": trainer.rng.bit_generator.state,
            "network": net.rng.bit_generator.state if hasattr(net, "rng") else None,
        },
        "iterator": iterator_state,
        "history": trainer.history,
        "iteration_history": [list(x) for x in getattr(trainer, "iteration_history", [])],
        "tally": trainer.tally.state_dict(),
        "values": values,
        "versions": _versions(),
        "created": time.time(),
        "classes": list(trainer.class_names) if getattr(trainer, "class_names", None) else None,
    }
    return {
        "spec": net.to_spec(),
        "meta": meta,
        "parameters": {k: _host(p.data) for k, p in net.parameters().items()},
        "buffers": {k: _host(b) for k, b in getattr(net, "buffers", dict)().items()},
        "optimiser": trainer.optimiser.state_dict(),
        "hooks": trainer.hooks.state_dict(),
    }


def save(trainer, path) -> str:
    """Write ``trainer``'s complete state to ``path`` (atomically). Returns the path.

    Call it between iterations: from a hook, or while no run is active or the run is paused.
    """
    path = os.path.abspath(os.fspath(path))
    operator = trainer.operator
    if operator.state in ("running", "stopping") and threading.current_thread() is not operator.thread:
        raise CheckpointError(
            "cannot save while an iteration may be running: save from a hook, or pause first "
            "and save once the state is 'paused'",
            path,
        )
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    _remove_stale_temporaries(path)
    content = _collect(trainer)
    tmp = f"{path}.tmp-{os.getpid()}-{time.monotonic_ns()}"
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["network_spec"] = json.dumps(content["spec"])
            f.attrs["meta"] = json.dumps(content["meta"])
            for name in ("parameters", "buffers", "optimiser", "hooks"):
                _write_tree(f.create_group(name), content[name])
            f.attrs["digest"] = _digest(f)
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
def _json_attr(f, name, path, kind=(dict,)):
    raw = f.attrs.get(name)
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not isinstance(raw, str):
        raise CheckpointError(f"attribute {name!r} is missing or not a string", path)
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"attribute {name!r} is not valid JSON ({exc})", path) from None
    if not isinstance(value, kind):
        raise CheckpointError(f"attribute {name!r} has the wrong structure ({type(value).__name__})", path)
    return value


def _read_tree(group, path) -> dict:
    out = _json_attr(group, "values", path) if "values" in group.attrs else {}
    for key, obj in group.items():
        if isinstance(obj, h5py.Group):
            out[key] = _read_tree(obj, path)
        elif isinstance(obj, h5py.Dataset):
            if (
                obj.dtype.kind not in _PLAIN_KINDS
                or obj.dtype.names is not None
                or obj.dtype.subdtype is not None
            ):
                raise CheckpointError(f"dataset {obj.name!r} has a non-numeric dtype {obj.dtype}", path)
            out[key] = np.asarray(obj[()])
        else:
            raise CheckpointError(f"unexpected object {key!r} in {group.name!r}", path)
    return out


def _open(path):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError("no such file", path)
    if not h5py.is_hdf5(path):
        raise CheckpointError("not an HDF5 file (is it a checkpoint, or truncated?)", path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise CheckpointError(
            f"cannot open the HDF5 file ({exc}); it may be truncated or damaged", path
        ) from None
    kind = f.attrs.get("format")
    if kind != FORMAT:
        f.close()
        raise CheckpointError(f"not a Sigma checkpoint (format attribute {kind!r})", path)
    version = f.attrs.get("format_version")
    if not isinstance(version, int | np.integer) or not 1 <= int(version) <= FORMAT_VERSION:
        f.close()
        raise CheckpointError(f"unsupported checkpoint format version {version!r}", path)
    return f


def load(path, verify: bool = True) -> dict:
    """Read and check a checkpoint file into plain values and host arrays (applies nothing)."""
    with _open(path) as f:
        try:
            content = {"spec": _json_attr(f, "network_spec", path), "meta": _json_attr(f, "meta", path)}
            for name in ("parameters", "buffers", "optimiser", "hooks"):
                if not isinstance(f.get(name), h5py.Group):
                    raise CheckpointError(f"group {name!r} is missing", path)
                content[name] = _read_tree(f[name], path)
            if verify and f.attrs.get("digest") != _digest(f):
                raise CheckpointError("contents do not match the stored digest: the file is damaged", path)
        except CheckpointError:
            raise
        except (OSError, KeyError, ValueError, TypeError) as exc:  # h5py reports damage in several ways
            raise CheckpointError(f"damaged file ({type(exc).__name__}: {exc})", path) from None
    return content


def info(path) -> dict:
    """A summary for the GUI and CLI: counters, network size, optimiser, last metrics, versions."""
    content = load(path, verify=False)
    meta, params = content["meta"], content["parameters"]
    history = meta.get("history") or []
    return {
        "path": os.path.abspath(os.fspath(path)),
        "size_bytes": os.path.getsize(path),
        "epoch": meta.get("epoch"),
        "iteration": meta.get("iteration"),
        "created": meta.get("created"),
        "optimiser": meta.get("optimiser"),
        "learning_rate": content["optimiser"].get("learning_rate"),
        "loss": meta.get("loss"),
        "layers": len(content["spec"].get("nodes", [])),
        "parameters": int(sum(int(np.prod(a.shape)) for a in params.values())),
        "last_metrics": history[-1] if history else {},
        "dataset_fingerprint": meta.get("dataset_fingerprint"),
        "classes": meta.get("classes"),
        "versions": meta.get("versions"),
        "network_spec": content["spec"],
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
    for k, slots in content["optimiser"].get("state", {}).items():
        for slot, a in slots.items() if isinstance(slots, dict) else ():
            if k in params and tuple(a.shape) != tuple(params[k].shape):
                problems.append(f"optimiser state {k}.{slot} has shape {tuple(a.shape)}")
    if data is not None:
        from .training.data import fingerprint_of

        have, want = fingerprint_of(data), meta.get("dataset_fingerprint", "")
        if have and want and have != want:
            problems.append(f"dataset differs (fingerprint {want[:12]} in the file, {have[:12]} given)")
    for key, kind in (("iteration", int), ("epoch", int), ("history", list), ("rng", dict), ("tally", dict)):
        if not isinstance(meta.get(key), kind):
            problems.append(f"meta field {key!r} is missing or malformed")
    rng = meta.get("rng") if isinstance(meta.get("rng"), dict) else {}
    for name, gen in (("trainer", trainer.rng), ("network", getattr(trainer.network, "rng", None))):
        if gen is not None and not _valid_rng_state(rng.get(name), gen):
            problems.append(f"random generator state {name!r} is malformed")
    if problems:
        raise CheckpointError("the checkpoint does not fit this trainer: " + "; ".join(problems), path)


def _valid_rng_state(state, gen) -> bool:
    if not isinstance(state, dict) or state.get("bit_generator") != type(gen.bit_generator).__name__:
        return False
    inner = state.get("state")
    return isinstance(inner, dict) and all(isinstance(v, int) for v in inner.values())


def _spec_difference(stored: dict, current: dict) -> str:
    def by_name(spec):
        return {n.get("name"): n for n in spec.get("nodes", []) if isinstance(n, dict)}

    a, b = by_name(stored), by_name(current)
    parts = [f"layer {n!r} only in the file" for n in a.keys() - b.keys()]
    parts += [f"layer {n!r} only in the network" for n in b.keys() - a.keys()]
    parts += [f"layer {n!r}: file {a[n]} vs network {b[n]}" for n in a.keys() & b.keys() if a[n] != b[n]]
    return ", ".join(sorted(parts)) or "node order, inputs or outputs differ"


def restore(trainer, path, data=None) -> dict:
    """Load a checkpoint into ``trainer`` for an exact resume; ``fit`` then continues where it was.

    Everything is read and checked first (architecture, parameter shapes, optimiser, random generator
    states, and the dataset fingerprint when ``data`` is given or at the next ``fit``); on any problem
    the trainer is left untouched and one :class:`CheckpointError` lists what differs. Returns the meta.
    """
    if trainer.operator.control.active:
        raise CheckpointError("cannot restore while training is running; stop it first", os.fspath(path))
    content = load(path)
    _check(trainer, content, data, os.fspath(path))
    before = _collect(trainer)
    try:
        _apply(trainer, content)
    except Exception as exc:
        _apply(trainer, before)  # put the trainer back as it was
        raise CheckpointError(
            f"cannot apply the state ({type(exc).__name__}: {exc})", os.fspath(path)
        ) from None
    stored, present = set(content["hooks"]), {h.name for h in trainer.hooks}
    if stored != present:  # not an error (hooks may be added or left out on resume), but say so
        from .events import LogMessage

        message = (
            f"restored {os.fspath(path)}: hooks without stored state (they start fresh): "
            f"{sorted(present - stored)}; stored hook states ignored: {sorted(stored - present)}"
        )
        trainer.events.emit(LogMessage(source=trainer.name, level="warning", message=message))
    return content["meta"]


def _apply(trainer, content) -> None:
    meta, net, be = content["meta"], trainer.network, trainer.backend
    for k, p in net.parameters().items():
        p.data[...] = be.from_host(content["parameters"][k].astype(p.data.dtype, copy=False))
        p.grad = None
    if content["buffers"] and hasattr(net, "load_buffers"):
        net.load_buffers({k: be.from_host(v) for k, v in content["buffers"].items()})
    trainer.optimiser.load_state_dict(content["optimiser"], like=net.parameters())
    trainer.hooks.load_state_dict(content["hooks"])
    trainer.rng.bit_generator.state = meta["rng"]["trainer"]
    if hasattr(net, "rng") and meta["rng"].get("network") is not None:
        net.rng.bit_generator.state = meta["rng"]["network"]
    trainer.iteration, trainer.epoch = int(meta["iteration"]), int(meta["epoch"])
    trainer.history = [dict(r) for r in meta["history"]]
    trainer.iteration_history = [(int(i), dict(m)) for i, m in meta.get("iteration_history", [])]
    trainer.tally.load_state_dict(meta["tally"])
    trainer._values = {k: float(v) for k, v in meta.get("values", {}).items()}
    trainer._pending_iterator_state = meta.get("iterator")
    trainer._expected_fingerprint = meta.get("dataset_fingerprint", "")
    for hp in trainer.optimiser.hyperparameters:
        trainer.registry.set(f"optimiser.{hp}", float(getattr(trainer.optimiser, hp)))
