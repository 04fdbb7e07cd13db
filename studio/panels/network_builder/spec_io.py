"""Between the engine's network spec and the builder's nodes.

The builder keeps one :class:`NodeData` per layer (type, name, fields, the names feeding its input
ports, in port order) and writes the engine's graph spec from them; the spec stays the one source of
truth, stored in ``project.network``. A linear spec (layers without ``inputs``) reads as a chain.
"""

from __future__ import annotations

import copy
import heapq
from dataclasses import dataclass, field

__all__ = ["NodeData", "nodes_from_spec", "spec_from_nodes", "is_linear", "topological_order", "unique_name"]

_CONTROL = ("type", "name", "inputs")
_GENERATED = ("format", "layers", "nodes", "inputs", "outputs")
FORMAT = "sigma.network/1"  # engine.network.FORMAT; repeated so the builder imports without the engine


@dataclass
class NodeData:
    """One layer as the builder holds it.

    Attributes
    ----------
    type : str
    name : str
    props : dict
        The layer's spec fields other than ``type``, ``name`` and ``inputs``.
    inputs : list of str
        Names of the nodes feeding input port 0, 1, ...
    """

    type: str
    name: str
    props: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)

    def layer_spec(self) -> dict:
        """The engine node spec: the layer's fields plus ``inputs`` (left out for Input nodes)."""
        spec = {"type": self.type, "name": self.name}
        if self.type != "input":
            spec["inputs"] = list(self.inputs)
        spec.update(copy.deepcopy(self.props))
        return spec


def _layers_of(spec: dict) -> list:
    if not spec:
        return []
    for key in ("layers", "nodes"):
        if isinstance(spec.get(key), list):
            return spec[key]
    raise ValueError("network spec has no 'layers' list")


def nodes_from_spec(spec: dict) -> list[NodeData]:
    """Read a network spec (graph or linear) into nodes.

    Layers without ``inputs`` after the first are chained to the previous layer, as in a linear stack.
    Missing names get ``<type><n>``.
    """
    nodes: list[NodeData] = []
    used: set[str] = set()
    for i, layer in enumerate(_layers_of(spec or {})):
        if not isinstance(layer, dict) or "type" not in layer:
            raise ValueError(f"layer {i} of the network spec has no 'type'")
        type_ = str(layer["type"])
        name = str(layer.get("name") or unique_name(type_, used))
        used.add(name)
        inputs = layer.get("inputs")
        if inputs is None:
            # Engine specs list inputs on every non-Input node; an older list of layers is a chain.
            chained = "format" not in (spec or {}) and nodes and type_ != "input"
            inputs = [nodes[-1].name] if chained else []
        elif isinstance(inputs, str):
            inputs = [inputs]
        props = {k: copy.deepcopy(v) for k, v in layer.items() if k not in _CONTROL}
        nodes.append(NodeData(type_, name, props, list(inputs)))
    return nodes


def spec_from_nodes(nodes: list[NodeData], extra: dict | None = None) -> dict:
    """Write the graph spec: layers in a topological order (stable), outputs = nodes nobody consumes.

    ``extra`` carries top-level keys of the original spec the builder does not edit (kept as they were).
    """
    ordered = topological_order(nodes)
    consumed = {src for n in nodes for src in n.inputs}
    spec = {"format": FORMAT}
    spec.update({k: copy.deepcopy(v) for k, v in (extra or {}).items() if k not in _GENERATED})
    spec["nodes"] = [n.layer_spec() for n in ordered]
    spec["inputs"] = [n.name for n in ordered if n.type == "input"]
    spec["outputs"] = [n.name for n in ordered if n.name not in consumed and n.type != "input"]
    return spec


def topological_order(nodes: list[NodeData]) -> list[NodeData]:
    """Nodes ordered so each follows its inputs; ties keep the given order; a cycle goes last.

    Kahn's algorithm with the ready nodes in a heap by original position: O(n log n), stable.
    """
    position = {n.name: i for i, n in enumerate(nodes)}
    waiting = {n.name: 0 for n in nodes}
    consumers: dict[str, list[str]] = {}
    for n in nodes:
        for src in n.inputs:
            if src in position:
                waiting[n.name] += 1
                consumers.setdefault(src, []).append(n.name)
    ready = [(position[name], name) for name, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    out: list[NodeData] = []
    while ready:
        _, name = heapq.heappop(ready)
        out.append(nodes[position[name]])
        for consumer in consumers.get(name, ()):
            waiting[consumer] -= 1
            if waiting[consumer] == 0:
                heapq.heappush(ready, (position[consumer], consumer))
    if len(out) < len(nodes):  # a cycle: keep it visible, the engine's validation names it
        placed = {n.name for n in out}
        out += [n for n in nodes if n.name not in placed]
    return out


def is_linear(nodes: list[NodeData]) -> bool:
    """Whether the nodes form one chain (each at most one input and at most one consumer)."""
    consumers: dict[str, int] = {}
    for n in nodes:
        if len(n.inputs) > 1:
            return False
        for s in n.inputs:
            consumers[s] = consumers.get(s, 0) + 1
    heads = [n for n in nodes if not n.inputs]
    return all(c <= 1 for c in consumers.values()) and len(heads) <= 1


def unique_name(type_: str, used) -> str:
    """``<type><n>`` with the smallest n not in ``used``."""
    base = {"softmax_cross_entropy": "loss", "squared_error": "loss", "binary_cross_entropy": "loss"}.get(
        type_, type_
    )
    i = 1
    while f"{base}{i}" in used:
        i += 1
    return f"{base}{i}"
