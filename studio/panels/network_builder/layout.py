"""Automatic layered layout: depth by longest path from the inputs, then order within a layer by the
mean position of the parents (one barycentre sweep keeps most edges from crossing)."""

from __future__ import annotations

from .spec_io import NodeData, topological_order

__all__ = ["layered_positions"]


def layered_positions(
    nodes: list[NodeData], dx: float = 230.0, dy: float = 110.0
) -> dict[str, tuple[float, float]]:
    """Top-to-bottom positions for nodes.

    Parameters
    ----------
    nodes : list of NodeData
    dx, dy : float
        Horizontal spacing within a layer, vertical spacing between layers (scene units).

    Returns
    -------
    dict of str -> (x, y)
        Top-left corner of each node, by name; each layer centred on x = 0.
    """
    by_name = {n.name: n for n in nodes}
    depth: dict[str, int] = {}
    for n in topological_order(nodes):
        parents = [depth[s] for s in n.inputs if s in depth]
        depth[n.name] = (max(parents) + 1) if parents else 0
    layers: dict[int, list[str]] = {}
    for n in nodes:
        layers.setdefault(depth.get(n.name, 0), []).append(n.name)
    x_of: dict[str, float] = {}
    out: dict[str, tuple[float, float]] = {}
    for level in sorted(layers):
        names = layers[level]

        def barycentre(name: str) -> float:
            xs = [x_of[s] for s in by_name[name].inputs if s in x_of]
            return sum(xs) / len(xs) if xs else 0.0

        names.sort(key=barycentre)
        width = (len(names) - 1) * dx
        for i, name in enumerate(names):
            x = i * dx - width / 2
            x_of[name] = x
            out[name] = (x, level * dy)
    return out
