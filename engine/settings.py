"""Typed training settings: one set of defaults, checked on every change, observed by what shows them.

A project's ``training`` section is a :class:`TrainingSettings`. The Trainer's keyword defaults,
:func:`engine.run.build_run`, the ``sigma`` command and the studio's panels all read their defaults from
:data:`TRAINING_DEFAULTS`, so a setting nobody chose trains the same everywhere.

Two ways to read and write the same values::

    settings.batch_size = 128            # typed attribute
    settings["batch_size"] = 128         # the project document's key (old code and JSON keep working)

Every change is checked first (:func:`engine.project_checks.validate_training`: a :class:`ProjectError`
naming ``training.<field>``, and nothing changes), then every observer is called with
``(key, value)``. Observers are plain Python callables (no Qt here): the studio's training panel and the
network builder's batch box observe the same settings, so they always show the same value. A bound
method is held weakly, so a closed panel never keeps receiving changes.

Changes are announced per top-level key: replace a nested group (``settings["optimiser"] = {...}``)
rather than editing it in place when observers should hear of it.
"""

from __future__ import annotations

import copy
import inspect
import weakref
from collections.abc import Callable, Iterator, Mapping, MutableMapping

from .project_checks import ProjectError, validate_training

__all__ = ["TRAINING_DEFAULTS", "TrainingSettings", "ProjectError"]


#: The one set of training defaults (read-only). ``batch_size`` is 64: the value every project has been
#: saved with since format 1 and what the studio always showed; the Trainer's old keyword default (32)
#: was only ever reached by scripts building a Trainer by hand.
class _Defaults(Mapping):
    """A read-only table; a copy of it is a plain dict (``copy.deepcopy(TRAINING_DEFAULTS)``)."""

    def __init__(self, values: dict):
        self._values = values

    def __getitem__(self, key):
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return repr(self._values)

    def __copy__(self) -> dict:
        return dict(self._values)

    def __deepcopy__(self, memo) -> dict:
        return copy.deepcopy(self._values, memo)


TRAINING_DEFAULTS: Mapping = _Defaults(
    {
        "backend": "cpu",
        # numpy's kernels or the optional compiled ones (engine.kernels: same results, ~105 MiB more).
        "kernels": "numpy",
        "workers": 1,
        "batch_size": 64,
        "epochs": 10,
        "seed": 0,
        "loss": "softmax_cross_entropy",
        "metrics": ["accuracy"],
        "optimiser": _Defaults({"type": "adam", "learning_rate": 0.001}),
        "schedule": None,
        "early_stopping": None,
        # min_seconds: the save floor (engine.hooks.CheckpointSaver): a W1 save takes ~16-25 ms in
        # training, so at most one every 5 s keeps it under ~0.5 % of the time however short the epochs.
        "checkpoint": _Defaults(
            {"every_epochs": 1, "best_only": False, "keep": 3, "directory": None, "min_seconds": 5.0}
        ),
    }
)

#: The optimiser's learning rate when a spec names none (``{"type": "sgd"}``).
DEFAULT_LEARNING_RATE = TRAINING_DEFAULTS["optimiser"]["learning_rate"]

Observer = Callable[[str, object], None]


def _setting(name: str, doc: str) -> property:
    """A typed attribute reading and writing ``settings[name]`` (so both spellings check and notify)."""

    def get(self):
        return self[name]

    def set_(self, value):
        self[name] = value

    return property(get, set_, doc=doc)


class TrainingSettings(MutableMapping):
    """The ``training`` section of a project: typed, self-checking, observable.

    Parameters
    ----------
    values : mapping, optional
        Settings read from a project document; missing keys take :data:`TRAINING_DEFAULTS`, keys this
        version does not know are kept (and saved again) so newer files survive an older studio.
    where : str, optional
        The project file, named in the error when ``values`` hold a bad value.

    Raises
    ------
    ProjectError
        Naming ``training.<field>`` when a value has the wrong type or range.
    """

    backend = _setting("backend", "``cpu``, ``cuda``, ``cuda:N`` or ``auto``.")
    kernels = _setting(
        "kernels",
        "``numpy`` (default) or ``compiled``: the optional numba kernels for CNN pooling and the "
        "convolution's input gradient (:mod:`engine.kernels`: the same results, faster, ~105 MiB more).",
    )
    workers = _setting("workers", "Data-parallel workers (int >= 1).")
    batch_size = _setting("batch_size", "Records per optimiser step (int >= 1).")
    epochs = _setting("epochs", "Passes over the training data (int >= 0).")
    seed = _setting("seed", "Seeds shuffling, dropout and initialisers (int >= 0).")
    loss = _setting("loss", "A loss name from engine.ops.losses, or None for the network's loss head.")
    metrics = _setting("metrics", "Metric names tallied every step (list of str).")
    optimiser = _setting("optimiser", "``{'type': 'adam', 'learning_rate': 0.001, ...}`` or a name.")
    schedule = _setting("schedule", "A learning-rate schedule spec or None.")
    early_stopping = _setting("early_stopping", "``{'metric', 'patience', 'min_delta'}`` or None.")
    checkpoint = _setting(
        "checkpoint", "``{'every_epochs', 'best_only', 'keep', 'directory', 'min_seconds'}``."
    )

    def __init__(self, values: Mapping | None = None, where: str | None = None):
        merged = copy.deepcopy(dict(TRAINING_DEFAULTS))
        merged.update(copy.deepcopy(dict(values or {})))
        validate_training(merged, where)
        object.__setattr__(self, "_values", merged)
        object.__setattr__(self, "_observers", [])

    def __setattr__(self, name, value):
        # Only the typed settings are attributes: a typo (settings.batchsize = 8) is an error, not a
        # new attribute that nothing reads.
        if not isinstance(getattr(type(self), name, None), property):
            raise AttributeError(f"TrainingSettings has no setting {name!r}")
        object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ mapping
    def __getitem__(self, key: str):
        return self._values[key]

    def __setitem__(self, key: str, value) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        """A known setting goes back to its default; an unknown key is dropped."""
        if key not in self._values:
            raise KeyError(key)
        if key in TRAINING_DEFAULTS:
            self[key] = copy.deepcopy(TRAINING_DEFAULTS[key])
        else:
            del self._values[key]
            self._notify(key, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"TrainingSettings({self._values!r})"

    def update(self, other=(), /, **kwargs) -> None:
        """Set several settings at once: all are checked before any changes (never half-applied)."""
        changes = dict(other, **kwargs)
        candidate = {**self._values, **changes}
        validate_training(candidate, None)
        changed = [k for k, v in changes.items() if k not in self._values or self._values[k] != v]
        self._values.update(changes)
        for key in changed:
            self._notify(key, self._values[key])

    # ------------------------------------------------------------------ observers
    def subscribe(self, observer: Observer) -> None:
        """Call ``observer(key, value)`` after each change of a setting (bound methods held weakly)."""
        ref = weakref.WeakMethod(observer) if inspect.ismethod(observer) else (lambda o=observer: o)
        self._observers.append(ref)

    def unsubscribe(self, observer: Observer) -> None:
        """Stop calling ``observer`` (no error when it was not subscribed)."""
        self._observers[:] = [r for r in self._observers if r() is not None and r() != observer]

    def _notify(self, key: str, value) -> None:
        for ref in list(self._observers):
            observer = ref()
            if observer is None:
                self._observers.remove(ref)
            else:
                observer(key, value)

    # ------------------------------------------------------------------ copies and JSON
    def to_dict(self) -> dict:
        """A deep copy as a plain dict (the project document's ``training`` object)."""
        return copy.deepcopy(self._values)

    def __copy__(self) -> TrainingSettings:
        return TrainingSettings(self._values)

    def __deepcopy__(self, memo) -> TrainingSettings:
        # A copy is a new document: it has no observers (they watch the original).
        return TrainingSettings(copy.deepcopy(self._values, memo))

    @property
    def learning_rate(self) -> float:
        """The optimiser's learning rate (the default when the spec names none)."""
        spec = self._values.get("optimiser")
        if isinstance(spec, dict):
            return float(spec.get("learning_rate", DEFAULT_LEARNING_RATE))
        return float(DEFAULT_LEARNING_RATE)

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        spec = self._values.get("optimiser")
        spec = dict(spec) if isinstance(spec, dict) else {"type": spec or "adam"}
        spec["learning_rate"] = float(value)
        self["optimiser"] = spec
