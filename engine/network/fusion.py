"""Layer pairs a network runs as one fused op: a ReLU layer feeding only a max pooling layer.

``max_pool2d(relu(x))`` equals ``relu(max_pool2d(x))`` in value and gradient (:func:`relu_max_pool2d`),
and the second form applies the ReLU, and its backward, to a quarter of the values for 2x2 pooling. So
when a layer with ``activation="relu"`` (a ``Conv2D``, or an ``Activation("relu")``) feeds nothing but
one ``MaxPool2D``, and is not a network output, the network runs that layer without its activation and
the pooling layer with the ReLU folded in. No one else sees the producer's value, so nothing observable
changes; each layer's own ``forward`` is untouched, so layers used on their own behave as before.
"""

from __future__ import annotations

__all__ = ["relu_pool_pairs"]


def _is_relu_producer(layer) -> bool:
    return getattr(layer, "activation", None) == "relu" and hasattr(layer, "forward_pre_activation")


def relu_pool_pairs(analysis) -> tuple[frozenset, frozenset]:
    """(producers to run without their ReLU, pooling layers to run with it) for a network's analysis."""
    consumers: dict[str, list[str]] = {}
    for name, info in analysis.nodes.items():
        for src in info.inputs:
            consumers.setdefault(src, []).append(name)
    producers, pools = set(), set()
    for name, info in analysis.nodes.items():
        users = consumers.get(name, [])
        if name in analysis.outputs or len(users) != 1 or not _is_relu_producer(info.layer):
            continue
        user = analysis.nodes[users[0]].layer
        if hasattr(user, "forward_after_relu") and not user.multi_input:
            producers.add(name)
            pools.add(users[0])
    return frozenset(producers), frozenset(pools)
