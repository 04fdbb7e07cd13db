"""The layer catalog: which layer types the palette offers and what fields a new layer of each type has.

The engine's layer registry is the source of truth when it exists (``engine.layers`` exposes the types
it can build); the defaults below only give new nodes sensible starting values, so a user who drops a
Dense layer gets ``units=64`` instead of an error. A type the engine knows but this table does not is
still offered, with the fields read from its constructor's signature.
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import pkgutil

__all__ = [
    "LayerKind",
    "layer_kinds",
    "kind_of",
    "default_props",
    "port_count",
    "takes_many_inputs",
    "known_type",
    "field_choices",
    "MERGE_TYPES",
]

# Starting values for new nodes, by engine type name. Order within a dict is the order of the fields
# in the properties editor.
_DEFAULTS: dict[str, dict] = {
    "input": {"shape": [784]},
    "dense": {"units": 64, "activation": "relu"},
    "conv1d": {"filters": 16, "kernel_size": 3, "stride": 1, "padding": "same", "activation": "relu"},
    "conv2d": {"filters": 8, "kernel_size": 3, "stride": 1, "padding": "same", "activation": "relu"},
    "max_pool2d": {"pool_size": 2},
    "avg_pool2d": {"pool_size": 2},
    "global_avg_pool": {},
    "flatten": {},
    "reshape": {"shape": [-1], "target_shape": [-1]},
    "dropout": {"rate": 0.2},
    "batch_norm": {},
    "layer_norm": {"epsilon": 1e-5},
    "activation": {"activation": "relu"},
    "embedding": {"input_dim": 64, "output_dim": 32},
    "simple_rnn": {"units": 32, "return_sequences": False},
    "lstm": {"units": 32, "return_sequences": False},
    "gru": {"units": 32, "return_sequences": False},
    "fourier_features": {"mode": "gaussian", "features": 256, "scale": 10.0, "frequencies": 8},
    "siren": {"units": 256, "omega_0": 30.0, "first": False},
    "add": {},
    "concatenate": {"axis": -1},
    "multiply": {},
    "softmax_cross_entropy": {},
    "squared_error": {},
    "binary_cross_entropy": {},
}

_GROUPS = {
    "Inputs": ("input",),
    "Core": ("dense", "activation", "dropout", "flatten", "reshape", "embedding"),
    "Convolution": ("conv1d", "conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool"),
    "Normalisation": ("batch_norm", "layer_norm"),
    "Recurrent": ("simple_rnn", "lstm", "gru"),
    "Coordinates": ("fourier_features", "siren"),
    "Merge": ("add", "concatenate", "multiply"),
    "Loss heads": ("softmax_cross_entropy", "squared_error", "binary_cross_entropy"),
}

_TITLES = {
    "conv1d": "Conv1D",
    "conv2d": "Conv2D",
    "max_pool2d": "MaxPool2D",
    "avg_pool2d": "AvgPool2D",
    "global_avg_pool": "GlobalAvgPool",
    "batch_norm": "BatchNorm",
    "layer_norm": "LayerNorm",
    "simple_rnn": "SimpleRNN",
    "lstm": "LSTM",
    "gru": "GRU",
    "fourier_features": "Fourier features",
    "siren": "Sine (SIREN)",
    "softmax_cross_entropy": "Softmax cross-entropy",
    "squared_error": "Squared error",
    "binary_cross_entropy": "Binary cross-entropy",
}

MERGE_TYPES = frozenset({"add", "concatenate", "multiply"})
_NO_INPUT = frozenset({"input"})
_SKIP_ARGS = ("self", "name", "inputs", "init", "trainable")


class LayerKind:
    """One entry of the palette.

    Attributes
    ----------
    type : str
        The engine's type name (``"dense"``).
    title : str
        What the palette shows (``"Dense"``).
    group : str
    defaults : dict
        Fields of a new layer of this type, without ``type``/``name``/``inputs``.
    doc : str
        First line of the engine class's docstring, shown as a tooltip.
    """

    def __init__(self, type_: str, title: str, group: str, defaults: dict, doc: str = ""):
        self.type = type_
        self.title = title
        self.group = group
        self.defaults = defaults
        self.doc = doc

    def __repr__(self) -> str:
        return f"LayerKind({self.type!r})"


@functools.cache
def _engine_registry_cached() -> tuple:
    return tuple(_engine_registry_uncached().items())


def _engine_registry() -> dict:
    """The registry (read once per process: layer types register at import time)."""
    return dict(_engine_registry_cached())


def _engine_registry_uncached() -> dict:
    """``{type name: class}`` from the engine's layer registry, or ``{}`` before it exists."""
    try:
        import engine.layers as layers
        from engine.layers import base
    except Exception:  # the layers package may not be importable yet while engineers work
        return {}
    if not hasattr(layers, "layer_types"):
        # Before the package exports everything, import its modules so each type registers itself.
        for info in pkgutil.iter_modules(layers.__path__):
            try:
                importlib.import_module(f"engine.layers.{info.name}")
            except Exception:
                continue
    out = {}
    for name in base.layer_types():
        try:
            out[name] = base.layer_class(name)
        except Exception:
            continue
    return out


def _signature_defaults(cls) -> dict:
    """Constructor arguments of an engine layer class with their defaults (``None`` when required)."""
    out = {}
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return out
    for p in params:
        if p.name in _SKIP_ARGS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = None if p.default is inspect.Parameter.empty else p.default
        if default is None or isinstance(default, (int, float, str, bool, list, tuple)):
            out[p.name] = list(default) if isinstance(default, tuple) else default
    return out


def _doc_line(cls) -> str:
    doc = inspect.getdoc(cls) or ""
    return doc.splitlines()[0] if doc else ""


def layer_kinds() -> list[LayerKind]:
    """Every layer type the palette offers, grouped and in palette order.

    Returns
    -------
    list of LayerKind
        The engine registry's types when it exists (with defaults from the table above or the
        constructor), else the types of the table.
    """
    registry = _engine_registry()
    names = list(registry) if registry else list(_DEFAULTS)
    order = [t for group in _GROUPS.values() for t in group]
    names.sort(key=lambda n: (order.index(n) if n in order else len(order), n))
    kinds = []
    for name in names:
        cls = registry.get(name)
        if cls is not None:
            # The engine's argument names win; the table only supplies friendlier starting values.
            defaults = _signature_defaults(cls)
            for key, value in _DEFAULTS.get(name, {}).items():
                if key in defaults:
                    defaults[key] = copy.deepcopy(value)
        else:
            defaults = copy.deepcopy(_DEFAULTS.get(name, {}))
        group = next((g for g, members in _GROUPS.items() if name in members), "Other")
        title = _TITLES.get(name, name.replace("_", " ").capitalize())
        kinds.append(LayerKind(name, title, group, defaults, _doc_line(cls) if cls is not None else ""))
    return kinds


def kind_of(type_: str) -> LayerKind | None:
    """The catalog entry of a type name, or ``None``."""
    for kind in layer_kinds():
        if kind.type == type_:
            return kind
    return None


def default_props(type_: str) -> dict:
    """Fields of a new layer of ``type_`` (a fresh copy)."""
    kind = kind_of(type_)
    if kind is not None:
        return copy.deepcopy(kind.defaults)
    return copy.deepcopy(_DEFAULTS.get(type_, {}))


def port_count(type_: str, connected: int) -> int:
    """Input ports a node shows: none for inputs, one more than connected (up to the layer's limit) for
    layers taking several inputs, else one."""
    cls = _engine_registry().get(type_)
    if cls is not None:
        low, high = int(getattr(cls, "min_inputs", 1)), int(getattr(cls, "max_inputs", 1))
        if high <= 0:
            return 0
        if high == 1:
            return 1
        return min(high, max(low, connected + 1))
    if type_ in _NO_INPUT:
        return 0
    if type_ in MERGE_TYPES:
        return max(2, connected + 1)
    return 1


def field_choices(field: str) -> tuple[list, bool] | None:
    """Values a field may take, for a drop-down: ``(choices, editable)``; ``None`` for free fields.

    ``activation`` lists the engine's activations (``None`` first: no activation); ``padding`` offers
    ``valid``/``same`` but stays editable because a number of pixels is valid too.
    """
    if field == "activation":
        try:
            from engine.layers.core import ACTIVATIONS
        except Exception:
            return None
        return [None, *ACTIVATIONS], False
    if field == "padding":
        return ["valid", "same"], True
    if field == "dtype":
        return ["float", "int"], False
    if field == "mode":
        return ["gaussian", "positional"], False
    return None


def known_type(type_: str) -> bool:
    """Whether the engine can build ``type_`` (True for anything before the registry exists)."""
    registry = _engine_registry()
    return type_ in registry if registry else True


def takes_many_inputs(type_: str) -> bool:
    """Whether a layer type takes several inputs (merges, recurrent layers with an initial state)."""
    cls = _engine_registry().get(type_)
    if cls is not None:
        return int(getattr(cls, "max_inputs", 1)) > 1
    return type_ in MERGE_TYPES
