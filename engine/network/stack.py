"""Stacks and graphs written in Python, as the network reads them: the walk from output nodes to an ordered
list of layers, and automatic layer names. ``Stack``, ``Node`` and ``is_symbolic`` live in
:mod:`engine.layers.composition` and are re-exported here.
"""

from __future__ import annotations

from ..layers.base import Layer
from ..layers.composition import Node, Stack, is_symbolic

__all__ = ["Stack", "Node", "is_symbolic", "assign_names", "graph_nodes"]


def graph_nodes(outputs) -> list[tuple[Layer, list[Layer]]]:
    """(layer, input layers) for every node behind ``outputs``, inputs before their readers."""
    outs = [Node.of(o) for o in (outputs if isinstance(outputs, list | tuple) else [outputs])]
    order, seen = [], set()
    for out in outs:
        stack = [(out, False)]
        while stack:  # iterative depth-first walk: deep graphs must not hit the recursion limit
            node, expanded = stack.pop()
            if id(node) in seen:
                continue
            if expanded:
                seen.add(id(node))
                order.append(node)
                continue
            stack.append((node, True))
            stack.extend((v, False) for v in reversed(node.inputs) if id(v) not in seen)
    return [(node.layer, [v.layer for v in node.inputs]) for node in order]


def assign_names(layers) -> None:
    """Give unnamed layers unique names ``<type><k>`` (``dense1``, ``dense2``, ...), in order."""
    taken = {layer.name for layer in layers if layer.name}
    counters: dict[str, int] = {}
    for layer in layers:
        if layer.name:
            continue
        prefix = getattr(layer, "name_prefix", "") or layer.type_name
        k = counters.get(prefix, 0)
        while True:
            k += 1
            candidate = f"{prefix}{k}"
            if candidate not in taken:
                break
        counters[prefix] = k
        layer.name = candidate
        taken.add(candidate)
