"""Assigning initialisers to parameters by identifier pattern.

Rules map patterns to initialisers: ``{"*.weights": XavierUniform(), "conv*.bias": Constant(0)}``.
Patterns are globs over parameter identifiers ``<layer>.<param>`` (``*`` stays within one level), and
may also be written against the registry identifier ``network.layers.<layer>.<param>``. Rules apply
from the least to the most specific pattern, so the most specific one that matches a parameter decides
its values. Specificity is the number of literal (non-wildcard) characters, then the number of levels;
among equals, the later rule wins. Parameters no rule matches keep their layer's default initialiser.

Parameters are visited in their stable order and each draws once from the shared generator, so the same
seed and rules give the same values.
"""

from __future__ import annotations

import fnmatch

import numpy as np

from .initialisers import Initialiser, as_initialiser

__all__ = ["specificity", "choose", "initialise", "rules_to_spec", "rules_from_spec"]

REGISTRY_PREFIX = "network.layers."


def specificity(pattern: str) -> tuple[int, int]:
    """(literal characters, levels) of a pattern: larger is more specific."""
    literal = sum(1 for ch in pattern if ch not in "*?[]")
    return literal, pattern.count(".") + 1


def _fits(pattern: str, identifier: str) -> bool:
    full = REGISTRY_PREFIX + identifier
    for target in (identifier, full):
        if pattern.count(".") == target.count(".") and fnmatch.fnmatchcase(target, pattern):
            return True
    return False


def choose(identifier: str, rules: dict) -> Initialiser | None:
    """The initialiser the rules give ``identifier`` (``None`` when no pattern matches)."""
    ordered = sorted(enumerate(rules.items()), key=lambda item: (specificity(item[1][0]), item[0]))
    chosen = None
    for _, (pattern, init) in ordered:  # least to most specific: the last match wins
        if _fits(pattern, identifier):
            chosen = init
    return None if chosen is None else as_initialiser(chosen)


def initialise(
    parameters: dict,
    rules: dict | None,
    rng: np.random.Generator,
    defaults: dict | None = None,
    fans: dict | None = None,
) -> dict[str, Initialiser]:
    """Fill parameters in place from the rules (or their defaults); returns the initialiser used for each.

    Parameters
    ----------
    parameters : dict[str, Tensor]
        ``{"<layer>.<param>": tensor}`` in a stable order; each tensor's ``data`` is overwritten.
    rules : dict[str, Initialiser-like], optional
        Pattern -> initialiser (anything :func:`~engine.init.as_initialiser` accepts).
    rng : numpy.random.Generator
        Source of randomness (drawn on the host).
    defaults : dict[str, Initialiser], optional
        Per-parameter initialiser used when no rule matches; a parameter without either is left as it is.
    fans : dict[str, (int, int)], optional
        Per-parameter (fan_in, fan_out); computed from the shape when missing.
    """
    rules = rules or {}
    defaults = defaults or {}
    fans = fans or {}
    used = {}
    for ident, param in parameters.items():
        init = choose(ident, rules) or defaults.get(ident)
        if init is None:
            continue
        fan_in, fan_out = fans.get(ident, (None, None))
        values = init(param.shape, rng, fan_in, fan_out)
        param.data[...] = _to_device(values.astype(param.data.dtype), param.data)
        used[ident] = init
    return used


def _to_device(host, like):
    if isinstance(like, np.ndarray):
        return host
    from ..backend import get_array_module

    return get_array_module(like).asarray(host)


def rules_to_spec(rules: dict) -> dict:
    """Rules as JSON: ``{pattern: initialiser spec}``."""
    return {pattern: as_initialiser(init).spec() for pattern, init in rules.items()}


def rules_from_spec(spec: dict) -> dict[str, Initialiser]:
    """Rules back from :func:`rules_to_spec`."""
    return {pattern: as_initialiser(init) for pattern, init in spec.items()}
