"""What counts as unhealthy in a layer: the thresholds, the named findings and what to try.

This is the one place where :class:`~engine.hooks.health.LayerHealth` decides that a figure is a problem.
The studio's health overlay and ``sigma train --health`` show the findings made here, with the
explanations of :data:`ADVICE`.

Figures per layer (see :class:`~engine.hooks.health.LayerHealth` for how each is measured):

===================  =========================================================================
``grad_norm``        L2 norm of the layer's gradients (all its parameters together)
``update_ratio``     ``||w_after - w_before|| / ||w_before||`` over the optimiser's last step
``weight_norm``      L2 norm of the layer's parameters
``act_mean``         mean of the layer's outputs on the probe batch
``act_std``          standard deviation of those outputs
``dead_fraction``    ReLU layers: share of units whose output is 0 for every probe sample
``saturation``       sigmoid/tanh layers: share of outputs within 1% of the activation's bounds
``nonfinite``        1.0 when a parameter, gradient or output of the layer is NaN or infinite
===================  =========================================================================
"""

from __future__ import annotations

import dataclasses
import math

__all__ = ["Thresholds", "SEVERITIES", "ADVICE", "FIGURES", "judge", "worst_severity"]

#: Severities, from best to worst; a node's colour on the builder follows its worst finding.
SEVERITIES = ("ok", "warning", "problem")

#: The figures measured per layer, in display order, with a short label.
FIGURES = {
    "grad_norm": "gradient norm",
    "update_ratio": "update / weight",
    "weight_norm": "weight norm",
    "act_mean": "activation mean",
    "act_std": "activation std",
    "dead_fraction": "dead units",
    "saturation": "saturated outputs",
    "nonfinite": "NaN / inf",
}


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """The limits beyond which a figure becomes a finding (``warning``, then ``problem``).

    The defaults were chosen so that a healthy run (the digits MLP, the W1/W2 bench networks with their
    usual learning rates) stays clear of every one of them, from the first iteration on: healthy update
    ratios sit around 1e-4..1e-2, gradient norms around 1e-3..10.

    Attributes
    ----------
    dead_warning, dead_problem : float
        Share of dead units (ReLU outputs that are zero for the whole probe batch).
    saturation_warning, saturation_problem : float
        Share of sigmoid/tanh outputs within ``saturation_margin`` of the activation's bounds.
    saturation_margin : float
        1% of the activation's range: sigmoid outputs below 0.01 or above 0.99, tanh beyond +-0.98.
    tiny_update_warning, tiny_update_problem : float
        Update-to-weight ratio below which the layer is barely learning.
    large_update_warning, large_update_problem : float
        Update-to-weight ratio above which each step rewrites a large part of the weights.
    exploding_warning, exploding_problem : float
        Gradient norm above which gradients are exploding.
    vanishing : float
        Gradient norm below which (with non-zero weights) gradients have vanished (a warning).
    """

    dead_warning: float = 0.4
    dead_problem: float = 0.7
    saturation_warning: float = 0.4
    saturation_problem: float = 0.7
    saturation_margin: float = 0.01
    tiny_update_warning: float = 1e-5
    tiny_update_problem: float = 1e-7
    large_update_warning: float = 0.1
    large_update_problem: float = 1.0
    exploding_warning: float = 1e2
    exploding_problem: float = 1e4
    vanishing: float = 1e-8


#: Per finding kind: what it means and what to try (shown by the studio and in the docs).
ADVICE = {
    "nonfinite": (
        "A parameter, gradient or output of this layer is NaN or infinite: training cannot recover by "
        "itself.",
        "Lower the learning rate, clip gradients, check the inputs for NaN, and restart from the last "
        "good checkpoint.",
    ),
    "dead_units": (
        "Many ReLU units output zero for every sample of the probe batch, so they pass no gradient and "
        "stop learning.",
        "Lower the learning rate, use He initialisation and a zero (or small positive) bias, add batch "
        "normalisation before the activation, or switch to leaky ReLU / ELU.",
    ),
    "saturation": (
        "Most sigmoid/tanh outputs sit at the activation's bounds, where its slope is almost zero: the "
        "layer's gradients vanish.",
        "Scale the inputs, use Xavier initialisation (smaller weights), add normalisation, or use ReLU "
        "in hidden layers.",
    ),
    "tiny_update": (
        "Each optimiser step changes the weights by a tiny fraction of their size: the layer is barely "
        "learning.",
        "Raise the learning rate (about 1e-3 of the weights per step is typical), check the schedule, "
        "and look for saturation or dead units upstream.",
    ),
    "large_update": (
        "Each optimiser step changes the weights by a large fraction of their size: training is unstable.",
        "Lower the learning rate, add gradient clipping or warm-up.",
    ),
    "exploding_gradient": (
        "The gradient norm is very large: the next steps may overshoot or overflow to NaN.",
        "Lower the learning rate, clip gradients by norm, normalise the inputs, and check the initialiser.",
    ),
    "vanishing_gradient": (
        "The gradient reaching this layer is practically zero: it does not learn.",
        "Use ReLU-family activations, better initialisation, normalisation or residual connections.",
    ),
}


def _percent(x: float) -> str:
    return f"{100 * x:.0f}%"


def judge(
    layer: str, figures: dict, thresholds: Thresholds, nonfinite_in: str = "values"
) -> list[tuple[str, str, str, float]]:
    """The findings for one layer's figures.

    Parameters
    ----------
    layer : str
        Layer name, used in the messages.
    figures : dict of str -> float
        The layer's figures (missing ones are not judged).
    thresholds : Thresholds
    nonfinite_in : str
        Where the non-finite values were found (``"weights"``, ``"gradients"``, ``"outputs"``).

    Returns
    -------
    list of (kind, severity, message, value)
        ``kind`` is a key of :data:`ADVICE`; ``severity`` is ``"warning"`` or ``"problem"``.
    """
    t, found = thresholds, []

    def level(value, warning, problem, above=True):
        if value is None or not math.isfinite(value):
            return None
        if above:
            return "problem" if value >= problem else "warning" if value >= warning else None
        return "problem" if value <= problem else "warning" if value <= warning else None

    if figures.get("nonfinite", 0.0) > 0:
        found.append(("nonfinite", "problem", f"{layer}: NaN or inf in its {nonfinite_in}", 1.0))
        return found  # every other figure of a non-finite layer is meaningless
    dead = figures.get("dead_fraction")
    sev = level(dead, t.dead_warning, t.dead_problem)
    if sev:
        found.append(("dead_units", sev, f"{layer}: {_percent(dead)} dead units", dead))
    sat = figures.get("saturation")
    sev = level(sat, t.saturation_warning, t.saturation_problem)
    if sev:
        found.append(("saturation", sev, f"{layer}: {_percent(sat)} of outputs saturated", sat))
    ratio = figures.get("update_ratio")
    weights = figures.get("weight_norm", 0.0)
    if ratio is not None and weights > 0:
        sev = level(ratio, t.tiny_update_warning, t.tiny_update_problem, above=False)
        if sev:
            found.append(
                (
                    "tiny_update",
                    sev,
                    f"{layer}: weights did not change, layer is not learning"
                    if ratio == 0
                    else f"{layer}: updates {ratio:.0e} of weights, layer is barely learning",
                    ratio,
                )
            )
        sev = level(ratio, t.large_update_warning, t.large_update_problem)
        if sev:
            found.append(("large_update", sev, f"{layer}: updates {ratio:.2g} of weights per step", ratio))
    norm = figures.get("grad_norm")
    sev = level(norm, t.exploding_warning, t.exploding_problem)
    if sev:
        found.append(("exploding_gradient", sev, f"{layer}: exploding gradient norm {norm:.0e}", norm))
    elif norm is not None and weights > 0 and norm < t.vanishing:
        found.append(("vanishing_gradient", "warning", f"{layer}: vanishing gradient norm {norm:.0e}", norm))
    return found


def worst_severity(severities) -> str:
    """The worst of ``severities`` (``"ok"`` for none)."""
    return max(severities, key=SEVERITIES.index, default="ok")
