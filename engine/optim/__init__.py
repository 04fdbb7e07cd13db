"""Optimisers, learning-rate schedules and gradient clipping.

``from_spec({"type": "adam", "learning_rate": 0.001})`` builds an optimiser from a project's settings.
"""

from .base import Optimiser, global_norm
from .optimisers import SGD, AdaDelta, AdaGrad, Adam, Adamax, AdamW, Lion, Momentum, Nesterov, RMSProp
from .schedules import (
    Constant,
    CosineDecay,
    ExponentialDecay,
    OneCycle,
    ReduceOnPlateau,
    Schedule,
    StepDecay,
    schedule_from_spec,
)

__all__ = [
    "Optimiser",
    "SGD",
    "Momentum",
    "Nesterov",
    "AdaGrad",
    "AdaDelta",
    "RMSProp",
    "Adam",
    "AdamW",
    "Adamax",
    "Lion",
    "global_norm",
    "from_spec",
    "Schedule",
    "Constant",
    "StepDecay",
    "ExponentialDecay",
    "CosineDecay",
    "OneCycle",
    "ReduceOnPlateau",
    "schedule_from_spec",
    "OPTIMISERS",
]

OPTIMISERS = {
    cls.__name__.lower(): cls
    for cls in (SGD, Momentum, Nesterov, AdaGrad, AdaDelta, RMSProp, Adam, AdamW, Adamax, Lion)
}


def from_spec(spec) -> Optimiser:
    """An optimiser from ``{"type": name, **arguments}`` (or just a name, e.g. ``"adam"``)."""
    if isinstance(spec, Optimiser):
        return spec
    if isinstance(spec, str):
        spec = {"type": spec}
    spec = dict(spec)
    name = str(spec.pop("type", "")).lower()
    if name not in OPTIMISERS:
        raise ValueError(f"Invalid optimiser type {name!r}. Expected one of {sorted(OPTIMISERS)}.")
    try:
        return OPTIMISERS[name](**spec)
    except TypeError as exc:
        raise ValueError(f"Invalid arguments for optimiser {name!r}: {exc}") from None
