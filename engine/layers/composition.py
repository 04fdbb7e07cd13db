"""Composing layers in Python: linear stacks with ``+`` and ``*``, and functional graphs of nodes.

Linear stacks, the Sigma way::

    arch = Input((28, 28)) + Flatten() + 2 * (Dense(128, activation="relu") + Dropout(0.2)) + Dense(10)
    net = Network(arch)

``n * block`` repeats a layer or a stack ``n`` times with fresh copies (named ``<name>_1`` ... when the
block's layers were named, else named automatically by the network).

Graphs, functionally (each call connects a layer to the nodes it reads)::

    x = Input((16,), name="x")
    h = Dense(16, activation="relu", name="h")(x)
    y = Add(name="res")([x, h])
    net = Network(outputs=Dense(3, name="out")(y))

The composition operators of :class:`~engine.layers.Layer` (``+``, ``*``, calling a layer on a node) are
attached here, so ``layers/base.py`` never imports what is built on it, and ``engine.network`` imports
``engine.layers`` one way only.
"""

from __future__ import annotations

from .base import Layer, LayerError

__all__ = ["Stack", "Node", "is_symbolic"]


class Stack:
    """A linear sequence of layers, each reading the one before (the first must be an ``Input``)."""

    def __init__(self, layers):
        self.layers = list(layers)

    def __add__(self, other):
        if isinstance(other, Layer):
            return Stack([*self.layers, other])
        if isinstance(other, Stack):
            return Stack([*self.layers, *other.layers])
        return NotImplemented

    def __radd__(self, other):
        if isinstance(other, Layer):
            return Stack([other, *self.layers])
        return NotImplemented

    def __mul__(self, n):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise LayerError(
                f"Invalid repeat count for a block: expected a positive integer. Received: {n!r}"
            )
        if any(layer.type_name == "input" for layer in self.layers):
            raise LayerError("An Input layer cannot be repeated: put the repeated block after it")
        copies = []
        for i in range(1, n + 1):
            copies += [layer.copy(f"{layer.name}_{i}" if layer.name else None) for layer in self.layers]
        return Stack(copies)

    __rmul__ = __mul__

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        return " + ".join(repr(layer) for layer in self.layers)

    def nodes(self) -> list[tuple[Layer, list[Layer]]]:
        """(layer, the layers it reads) for each layer, in order."""
        if not self.layers or self.layers[0].type_name != "input":
            first = self.layers[0].name if self.layers else None
            raise LayerError(
                f"A linear stack must start with an Input layer (it starts with {first or 'nothing'!r})"
            )
        out = []
        for i, layer in enumerate(self.layers):
            if layer.type_name == "input" and i:
                raise LayerError(
                    f"Input layer '{layer.name}' can only start a linear stack (it is at position {i})"
                )
            out.append((layer, [self.layers[i - 1]] if i else []))
        return out


class Node:
    """A layer placed in a functional graph, with the nodes it reads."""

    def __init__(self, layer: Layer, inputs: list[Node]):
        self.layer = layer
        self.inputs = inputs

    @classmethod
    def of(cls, x) -> Node:
        if isinstance(x, Node):
            return x
        if isinstance(x, Layer) and x.type_name == "input":
            node = getattr(x, "_node", None)
            if node is None:
                node = x._node = cls(x, [])
            return node
        raise LayerError(f"Expected a graph node or an Input layer. Received: {x!r}")

    @classmethod
    def connect(cls, layer: Layer, x) -> Node:
        """The node of ``layer`` reading ``x`` (a node, an Input layer, or a list of them)."""
        xs = list(x) if isinstance(x, list | tuple) else [x]
        if getattr(layer, "_connected", False):
            raise LayerError(
                f"Layer '{layer.name or type(layer).__name__}' is already connected in a graph; "
                "sharing one layer between several places is not supported, make a second layer"
            )
        layer._connected = True
        return cls(layer, [cls.of(v) for v in xs])

    def __repr__(self):
        return f"Node({self.layer!r})"


def is_symbolic(x) -> bool:
    """Whether ``x`` is a graph node (or an Input layer, or a non-empty list of them)."""
    if isinstance(x, list | tuple):
        return bool(x) and all(is_symbolic(v) for v in x)
    return isinstance(x, Node) or (isinstance(x, Layer) and x.type_name == "input")


def _layer_add(self, other):
    return Stack([self]) + other


def _layer_mul(self, n):
    return Stack([self]) * n


def _layer_connect(self, x):
    return Node.connect(self, x)


Layer.__add__ = _layer_add
Layer.__mul__ = Layer.__rmul__ = _layer_mul
Layer._is_symbolic = staticmethod(is_symbolic)
Layer._connect = _layer_connect
