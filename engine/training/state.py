"""The trainer's state contract: ``Trainer.state_dict()`` and ``Trainer.load_state_dict(state)``.

The state is built from each part's own state (the network's parameters and buffers, the optimiser's
``state_dict``, the hooks', the tally's, the data iterator's position, every random generator) and is
made of plain values and host arrays that are *copies*: holding a state never aliases the live trainer,
so a state taken before a change can always put the trainer back.

Loading is staged and all-or-nothing. Every part of the new state is checked first, in this order,
without touching the trainer: parameters, buffers, optimiser, counters, random generators, iterator,
then hooks, histories and values. Only then is it committed; if the commit itself fails (a hook that
refuses its state), the state taken just before is committed instead, so on any failure the trainer is
bitwise what it was. Errors are :class:`TrainerStateError`, naming the stage and the entry.
"""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np

from ..backend import to_host
from .history import EPOCH_CAPACITY, ITERATION_CAPACITY, BoundedHistory

__all__ = ["TrainerStateError", "STAGES", "state_dict", "load_state_dict"]

STAGES = ("parameters", "buffers", "optimiser", "counters", "rng", "iterator", "hooks", "history", "commit")


class TrainerStateError(ValueError):
    """A state that does not fit the trainer; ``stage`` names the part (one of :data:`STAGES`)."""

    def __init__(self, stage: str, message: str):
        super().__init__(f"{stage}: {message}")
        self.stage = stage


#: Immutable plain values a copy can share (exact types: numpy scalars, which subclass float and int,
#: still become Python values below). The iteration history alone holds thousands of them, and
#: ``copy.deepcopy`` of each was most of a checkpoint's cost (issue 22).
_SHARED = frozenset({int, float, str, bool, bytes, type(None)})


def _copy_tree(value):
    """A deep copy with every array as an independent host ndarray."""
    if type(value) in _SHARED:
        return value
    if isinstance(value, dict):
        if _SHARED.issuperset(map(type, value.values())):  # a flat record (a metric report): one copy
            return dict(value)
        return {k: _copy_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy_tree(v) for v in value]
    if hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, np.generic):
        return to_host(value, copy=True)  # host or device array: an independent host copy
    if isinstance(value, np.generic):
        return value.item()
    return copy.deepcopy(value)


def state_dict(trainer) -> dict:
    """Everything an exact resume needs, as copies (see the module docstring). Call between iterations.

    Returns
    -------
    dict
        ``parameters``, ``buffers`` ({identifier: ndarray}), ``optimiser``, ``hooks`` (state trees),
        ``iteration``, ``epoch`` (int), ``rng`` ({"trainer", "network": bit-generator state}),
        ``iterator`` (position dict or None), ``history``, ``iteration_history``, ``history_layout``
        (``{name: [seen, stride]}``, see :meth:`BoundedHistory.layout`), ``tally``, ``values``,
        ``dataset_fingerprint``, and the settings it was trained with: ``seed``, ``batch_size``,
        ``loss``, ``optimiser_type``, ``classes``.
    """
    trainer.operator.sync()  # queued registry values (a scheduled learning rate) belong to this state
    net = trainer.network
    iterator = trainer._pending_iterator_state
    if iterator is None and trainer.iterator is not None:
        iterator = trainer.iterator.state_dict()
    values = {}
    for k, v in trainer._values.items():
        try:
            values[k] = float(v)
        except (TypeError, ValueError):
            continue
    return {
        "parameters": {k: _copy_tree(p.data) for k, p in net.parameters().items()},
        "buffers": {k: _copy_tree(b) for k, b in getattr(net, "buffers", dict)().items()},
        "optimiser": _copy_tree(trainer.optimiser.state_dict()),
        "hooks": _copy_tree(trainer.hooks.state_dict()),
        "iteration": int(trainer.iteration),
        "epoch": int(trainer.epoch),
        "rng": {
            "trainer": _copy_tree(trainer.rng.bit_generator.state),
            "network": _copy_tree(net.rng.bit_generator.state) if hasattr(net, "rng") else None,
        },
        "iterator": _copy_tree(iterator),
        "history": _copy_tree(list(trainer.history)),
        "iteration_history": [[int(i), _copy_tree(m)] for i, m in trainer.iteration_history],
        "history_layout": {
            name: history.layout()
            for name in ("history", "iteration_history")
            if isinstance(history := getattr(trainer, name), BoundedHistory)
        },
        "tally": _copy_tree(trainer.tally.state_dict()),
        "values": values,
        "dataset_fingerprint": trainer.data_fingerprint or trainer._expected_fingerprint,
        "seed": trainer.seed,
        "batch_size": trainer.batch_size,
        "loss": trainer.loss_name,
        "optimiser_type": type(trainer.optimiser).__name__,
        "classes": list(trainer.class_names) if trainer.class_names else None,
    }


# ------------------------------------------------------------------------------------------ checking
def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _arrays(stage: str, stored, live: dict, what: str) -> dict:
    """Host copies of ``stored`` converted to ``live``'s dtypes, after checking names, shapes, values."""
    if not isinstance(stored, dict):
        raise TrainerStateError(stage, f"expected a mapping of {what}s, got {type(stored).__name__}")
    missing, unknown = sorted(live.keys() - stored.keys()), sorted(stored.keys() - live.keys())
    if missing:
        raise TrainerStateError(stage, f"{what} {missing[0]} is missing (and {len(missing) - 1} more)")
    if unknown:
        raise TrainerStateError(stage, f"{what} {unknown[0]} is not in this network")
    staged = {}
    for key, target in live.items():
        staged[key] = _array(stage, f"{what} {key}", stored[key], tuple(target.shape), target.dtype)
    return staged


def _array(stage: str, what: str, value, shape: tuple, dtype) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        raise TrainerStateError(stage, f"{what} is not a numeric array ({type(value).__name__})")
    if np.dtype(dtype).kind == "f" and value.dtype.kind != "f":
        raise TrainerStateError(stage, f"{what} has dtype {value.dtype}, expected floating point")
    if tuple(value.shape) != shape:
        raise TrainerStateError(stage, f"{what} has shape {tuple(value.shape)}, expected {shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.array(value, dtype=dtype, copy=True)
    if out.dtype.kind == "f" and not np.isfinite(out).all():
        raise TrainerStateError(stage, f"{what} holds non-finite values (NaN or infinity)")
    return out


def _check_optimiser(trainer, state, staged_parameters: dict) -> dict:
    stage, optimiser = "optimiser", trainer.optimiser
    if not isinstance(state, dict):
        raise TrainerStateError(stage, f"expected a mapping, got {type(state).__name__}")
    kind = state.get("type", type(optimiser).__name__)
    if kind != type(optimiser).__name__:
        raise TrainerStateError(
            stage, f"the state is for {kind}, the trainer uses {type(optimiser).__name__}"
        )
    if not _is_int(state.get("iterations", 0)) or state.get("iterations", 0) < 0:
        raise TrainerStateError(stage, f"iterations {state.get('iterations')!r} is not a count")
    for name in optimiser.hyperparameters:
        if name in state and not (_is_number(state[name]) and math.isfinite(state[name])):
            raise TrainerStateError(stage, f"hyperparameter {name} is {state[name]!r}, not a finite number")
    try:  # the optimiser's own constructor knows each hyperparameter's range: try them on a scratch one
        type(optimiser)(**{n: state.get(n, getattr(optimiser, n)) for n in optimiser.hyperparameters})
    except ValueError as exc:
        raise TrainerStateError(stage, str(exc)) from None
    except TypeError:
        pass  # a constructor that takes other arguments: the finiteness check above is what we have
    slots = state.get("state", {})
    if not isinstance(slots, dict):
        raise TrainerStateError(stage, "its per-parameter state is not a mapping")
    staged = {}
    for key, entry in slots.items():
        if key not in staged_parameters or not isinstance(entry, dict):
            raise TrainerStateError(stage, f"state for {key!r}, which is not a parameter of this network")
        ref = staged_parameters[key]
        staged[key] = {
            n: _array(stage, f"state {key}.{n}", a, ref.shape, ref.dtype) for n, a in entry.items()
        }
    return {**state, "state": staged}


def _check_counters(state) -> None:
    for key in ("iteration", "epoch"):
        if not _is_int(state.get(key)) or not 0 <= state[key] < 2**63:
            raise TrainerStateError("counters", f"{key} is {state.get(key)!r}, not a count")


def _check_rng(trainer, rng) -> None:
    if not isinstance(rng, dict):
        raise TrainerStateError("rng", "the random generator states are missing")
    generators = {"trainer": trainer.rng}
    if hasattr(trainer.network, "rng"):
        generators["network"] = trainer.network.rng
    for name, gen in generators.items():
        value = rng.get(name)
        if name == "network" and value is None:
            continue
        if _has_bool(value):  # numpy would take True as 1; no generator state holds one
            raise TrainerStateError("rng", f"generator {name!r}: malformed state (a boolean)")
        try:  # the bit generator validates its own state: try it on a scratch one
            scratch = type(gen.bit_generator)()
            scratch.state = value
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            raise TrainerStateError("rng", f"generator {name!r}: malformed state ({exc})") from None


def _has_bool(value) -> bool:
    if isinstance(value, dict):
        return any(_has_bool(v) for v in value.values())
    return isinstance(value, bool)


def _check_iterator(state) -> None:
    if state is None:
        return
    if not isinstance(state, dict) or not {"epoch", "position"} <= state.keys():
        raise TrainerStateError("iterator", "the data position needs 'epoch' and 'position'")
    for key, value in state.items():
        if not _is_int(value) or not 0 <= value < 2**63:
            raise TrainerStateError("iterator", f"{key} is {value!r}, not a count")


def _check_history(state) -> None:
    stage = "history"
    history, per_iteration = state.get("history", []), state.get("iteration_history", [])
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise TrainerStateError(stage, "the epoch history is not a list of records")
    if not isinstance(per_iteration, list) or not all(
        isinstance(r, list | tuple) and len(r) == 2 and _is_int(r[0]) and isinstance(r[1], dict)
        for r in per_iteration
    ):
        raise TrainerStateError(stage, "the iteration history is not a list of (iteration, record)")
    layout = state.get("history_layout")
    if layout is not None and not (
        isinstance(layout, dict)
        and set(layout) <= {"history", "iteration_history"}
        and all(
            isinstance(v, list | tuple)
            and len(v) == 2
            and all(_is_int(n) and n >= 0 for n in v)
            and v[1] >= 1
            and v[1] & (v[1] - 1) == 0  # the stride only ever doubles from 1
            for v in layout.values()
        )
    ):
        raise TrainerStateError(stage, f"history_layout is {layout!r}, not [count, stride] per history")
    tally = state.get("tally")
    if not (
        isinstance(tally, dict)
        and _is_int(tally.get("count"))
        and isinstance(tally.get("sums"), dict)
        and isinstance(tally.get("epoch_start"), dict)
        and _is_int(tally["epoch_start"].get("count"))
        and all(_is_number(v) for v in (*tally["sums"].values(), *tally["epoch_start"].values()))
    ):
        raise TrainerStateError(stage, "the metric tally is malformed")
    values = state.get("values", {})
    if not isinstance(values, dict) or not all(_is_number(v) for v in values.values()):
        raise TrainerStateError(stage, "the latest values are not numbers")


def _stage(trainer, state) -> dict:
    """Check every part of ``state`` against ``trainer`` and return it ready to commit (copies)."""
    if not isinstance(state, dict):
        raise TrainerStateError("parameters", f"a state must be a mapping, got {type(state).__name__}")
    net = trainer.network
    parameters = _arrays(
        "parameters", state.get("parameters"), {k: p.data for k, p in net.parameters().items()}, "parameter"
    )
    buffers = _arrays("buffers", state.get("buffers", {}), getattr(net, "buffers", dict)(), "buffer")
    optimiser = _check_optimiser(trainer, state.get("optimiser"), parameters)
    _check_counters(state)
    _check_rng(trainer, state.get("rng"))
    _check_iterator(state.get("iterator"))
    hooks = state.get("hooks", {})
    if not isinstance(hooks, dict) or not all(isinstance(v, dict) for v in hooks.values()):
        raise TrainerStateError("hooks", "hook states must be a mapping of name to state")
    _check_history(state)
    return {
        **_copy_tree({k: v for k, v in state.items() if k not in ("parameters", "buffers", "optimiser")}),
        "parameters": parameters,
        "buffers": buffers,
        "optimiser": optimiser,
    }


# ------------------------------------------------------------------------------------------ committing
def _commit(trainer, staged: dict) -> None:
    net, be = trainer.network, trainer.backend
    for k, p in net.parameters().items():
        p.data[...] = be.from_host(staged["parameters"][k])
        p.grad = None
    if staged["buffers"] and hasattr(net, "load_buffers"):
        net.load_buffers({k: be.from_host(v) for k, v in staged["buffers"].items()})
    trainer.optimiser.load_state_dict(staged["optimiser"], like=net.parameters())
    trainer.rng.bit_generator.state = staged["rng"]["trainer"]
    if hasattr(net, "rng") and staged["rng"].get("network") is not None:
        net.rng.bit_generator.state = staged["rng"]["network"]
    trainer.iteration, trainer.epoch = staged["iteration"], staged["epoch"]
    trainer._pending_iterator_state = staged.get("iterator")
    trainer._expected_fingerprint = str(staged.get("dataset_fingerprint") or "")
    trainer.tally.load_state_dict(staged["tally"])
    trainer._values = {k: float(v) for k, v in staged.get("values", {}).items()}
    layout = staged.get("history_layout") or {}  # None in checkpoints older than it
    trainer.history = BoundedHistory.restored(
        (dict(r) for r in staged.get("history", [])), EPOCH_CAPACITY, layout.get("history")
    )
    trainer.iteration_history = BoundedHistory.restored(
        ((int(i), dict(m)) for i, m in staged.get("iteration_history", [])),
        ITERATION_CAPACITY,
        layout.get("iteration_history"),
    )
    for hp in trainer.optimiser.hyperparameters:
        trainer.registry.set(f"optimiser.{hp}", float(getattr(trainer.optimiser, hp)))
    trainer.hooks.load_state_dict(staged["hooks"])


def load_state_dict(trainer, state: dict) -> None:
    """Check ``state`` completely, then apply it; on any failure the trainer is left as it was.

    Raises
    ------
    TrainerStateError
        Naming the stage (:data:`STAGES`) and the entry that does not fit.
    """
    staged = _stage(trainer, state)
    before = _stage(trainer, state_dict(trainer))  # copies: committing cannot change them
    # What the commit replaces rather than overwrites goes back as the very same objects.
    kept = {
        name: getattr(trainer, name)
        for name in (
            "history",
            "iteration_history",
            "_values",
            "_pending_iterator_state",
            "_expected_fingerprint",
        )
    }
    grads = {k: p.grad for k, p in trainer.network.parameters().items()}
    try:
        _commit(trainer, staged)
    except Exception as exc:
        _commit(trainer, before)
        for name, value in kept.items():
            setattr(trainer, name, value)
        for k, p in trainer.network.parameters().items():
            p.grad = grads[k]
        raise TrainerStateError("commit", f"cannot apply the state ({type(exc).__name__}: {exc})") from None
