"""Does a network fit a dataset? Its input shape against the records, its outputs against the classes.

:func:`check_fit` compares a network spec with what a dataset supplies (the per-record input shape the
network will see, the class names for a classifier) and lists each mismatch with the one-click fix the
studio offers; :func:`fit_to_data` applies those fixes to a copy of the spec. The training run refuses
a network that does not fit (``engine.run``), with the same words.

Fixes are deliberately few and predictable: the Input node takes the data's shape (with a Flatten
inserted when a dense layer read the old flat input and the new records have more than one axis), and
the dense layer feeding a softmax cross-entropy head gets one unit per class.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from .graph import NetworkError, analyse

__all__ = ["Mismatch", "FitReport", "check_fit", "fit_to_data"]


@dataclass(frozen=True)
class Mismatch:
    """One way a network does not fit the data.

    Attributes
    ----------
    kind : str
        ``"input_shape"`` or ``"output_units"``.
    node : str
        The node at fault (the Input node, or the layer feeding the loss head).
    network, data
        What the network has and what the data needs (shape tuples, or class counts).
    message : str
        One sentence for the user.
    fix : str
        The label of the one-click fix ("" when there is none).
    """

    kind: str
    node: str
    network: object
    data: object
    message: str
    fix: str


@dataclass(frozen=True)
class FitReport:
    """What :func:`check_fit` found; ``fits`` when nothing is wrong."""

    mismatches: tuple[Mismatch, ...] = ()

    @property
    def fits(self) -> bool:
        return not self.mismatches

    @property
    def fixable(self) -> bool:
        """Whether every mismatch has a fix (then :func:`fit_to_data` makes the network fit)."""
        return bool(self.mismatches) and all(m.fix for m in self.mismatches)

    @property
    def message(self) -> str:
        """All mismatches in one paragraph ("" when the network fits)."""
        return " ".join(m.message for m in self.mismatches)

    @property
    def fix_label(self) -> str:
        """The fixes together, as one button's label ("" when none)."""
        fixes = [m.fix for m in self.mismatches if m.fix]
        return " and ".join([fixes[0][:1].upper() + fixes[0][1:], *fixes[1:]]) if fixes else ""


def _shape(value) -> tuple | None:
    return None if value is None else tuple(int(d) for d in value)


def _loss_and_logits(analysis):
    """The softmax cross-entropy head among the outputs and the node it reads, or (None, None)."""
    for name in analysis.outputs:
        info = analysis.nodes.get(name)
        if info is not None and info.layer is not None and info.layer.type_name == "softmax_cross_entropy":
            return info, analysis.nodes.get(info.inputs[0]) if info.inputs else None
    return None, None


def check_fit(spec: dict, input_shape=None, classes=None) -> FitReport:
    """Compare ``spec`` with the data.

    Parameters
    ----------
    spec : dict
        A network spec (``sigma.network/1``).
    input_shape : tuple of int, optional
        The per-record input shape the network will see (after the project's layout), e.g. ``(64,)``
        or ``(3, 32, 32)``; None skips the input check.
    classes : sequence of str, optional
        The class names of a classification dataset; None (or a network without a softmax
        cross-entropy head) skips the output check.

    Returns
    -------
    FitReport
        Empty when the network fits, or when the spec itself is not valid (the builder reports that).
    """
    analysis = analyse(spec)
    if analysis.errors and not analysis.nodes:
        return FitReport()
    found = []
    want = _shape(input_shape)
    if want is not None and len(analysis.inputs) == 1:
        node = analysis.nodes[analysis.inputs[0]]
        have = _shape(getattr(node.layer, "shape", None) or node.output_shape)
        if have is not None and have != want:
            found.append(
                Mismatch(
                    "input_shape",
                    node.name,
                    have,
                    want,
                    f"The network's input '{node.name}' expects records of shape {have}, but the data's "
                    f"records have shape {want}.",
                    f"use the data's input shape {want}",
                )
            )
    if classes is not None and len(classes) > 0:
        loss, logits = _loss_and_logits(analysis)
        units = _shape(logits.output_shape)[-1] if logits is not None and logits.output_shape else None
        if logits is not None and units is not None and units != len(classes):
            dense = logits.layer is not None and logits.layer.type_name == "dense"
            found.append(
                Mismatch(
                    "output_units",
                    logits.name,
                    units,
                    len(classes),
                    f"The network gives {units} class scores (layer '{logits.name}'), but the data has "
                    f"{len(classes)} classes ({_names(classes)}).",
                    f"set the outputs to {len(classes)} classes" if dense else "",
                )
            )
    return FitReport(tuple(found))


def _names(classes, most: int = 5) -> str:
    shown = ", ".join(str(c) for c in list(classes)[:most])
    return shown + (f", … {len(classes) - most} more" if len(classes) > most else "")


def fit_to_data(spec: dict, input_shape=None, classes=None) -> dict:
    """A copy of ``spec`` with every fixable mismatch of :func:`check_fit` fixed.

    Raises
    ------
    NetworkError
        When a mismatch has no automatic fix, or the fixed network still does not fit (naming the
        layer, so the user knows where to change it by hand).
    """
    report = check_fit(spec, input_shape, classes)
    if report.fits:
        return copy.deepcopy(spec)
    unfixable = [m for m in report.mismatches if not m.fix]
    if unfixable:
        raise NetworkError(
            unfixable[0].message + " Change that layer in the network builder.", unfixable[0].node
        )
    fixed = copy.deepcopy(spec)
    nodes = {n["name"]: n for n in fixed["nodes"]}
    for m in report.mismatches:
        if m.kind == "input_shape":
            _fix_input(fixed, nodes, m.node, m.network, m.data)
        elif m.kind == "output_units":
            nodes[m.node]["units"] = int(m.data)
    analysis = analyse(fixed)
    if analysis.errors:
        first = analysis.errors[0]
        raise NetworkError(f"After fitting the network to the data: {first}", getattr(first, "layer", None))
    again = check_fit(fixed, input_shape, classes)
    if not again.fits:
        raise NetworkError(again.message, again.mismatches[0].node)
    return fixed


def _fix_input(spec: dict, nodes: dict, name: str, old: tuple, new: tuple) -> None:
    """Give the Input node the data's shape; a dense layer that read a flat input reads a Flatten."""
    nodes[name]["shape"] = list(new)
    if len(new) <= 1 or len(old) != 1:
        return
    readers = [n for n in spec["nodes"] if name in (n.get("inputs") or [])]
    if not readers or not all(n.get("type") == "dense" for n in readers):
        return
    flat = _free_name(nodes, "flatten")
    position = spec["nodes"].index(nodes[name]) + 1
    node = {"type": "flatten", "name": flat, "inputs": [name]}
    spec["nodes"].insert(position, node)
    nodes[flat] = node
    for reader in readers:
        reader["inputs"] = [flat if i == name else i for i in reader["inputs"]]


def _free_name(nodes: dict, base: str) -> str:
    if base not in nodes:
        return base
    i = 2
    while f"{base}{i}" in nodes:
        i += 1
    return f"{base}{i}"
