"""Reading a network spec: structure checks, topological order and shape inference, before any data.

The one spec format for linear stacks and graphs alike::

    {
      "format": "sigma.network/1",
      "nodes": [
        {"type": "input", "name": "x", "shape": [64], "dtype": "float"},
        {"type": "dense", "name": "fc1", "inputs": ["x"], "units": 32, "activation": "relu",
         "use_bias": true},
        {"type": "dense", "name": "fc2", "inputs": ["fc1"], "units": 10, "activation": null,
         "use_bias": true},
        {"type": "softmax_cross_entropy", "name": "loss", "inputs": ["fc2"], "label_smoothing": 0.0}
      ],
      "inputs": ["x"],
      "outputs": ["loss"],
      "init": {"*.weights": {"type": "xavier_uniform", "gain": 1.0}}
    }

Each node is a layer spec (``type``, ``name``, the layer's arguments, optional ``init`` and
``trainable``) plus ``inputs``: the names of the nodes it reads, in order (absent for Input nodes). A
linear stack is the special case where each node reads the one before; a hand-written spec may leave
``inputs`` out to mean exactly that (``to_spec`` always writes them). ``inputs`` lists the Input nodes
in the order positional data is given; ``outputs`` the nodes whose values the network returns (at most
one of them a loss head); ``init`` (optional) maps parameter patterns to initialisers.

:func:`analyse` checks all of it and infers every node's per-sample output shape, parameter count and
FLOPs; :func:`validate_spec` does the same for the GUI and never raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..layers.base import Layer, LayerError, LayerShapeError

__all__ = ["FORMAT", "NetworkError", "NodeInfo", "Analysis", "analyse", "validate_spec"]

FORMAT = "sigma.network/1"


class NetworkError(LayerError):
    """A network spec that cannot be built; ``layer`` names the node at fault (None for the whole spec)."""


@dataclass
class NodeInfo:
    """What analysis learnt about one node."""

    name: str
    layer: Layer | None
    inputs: list[str]
    output_shape: tuple | None = None
    input_shape: object = None
    params: int | None = None
    flops: int | None = None
    error: str | None = None
    kind: str = "float"  # what flows out: "float" values or "int" indices


@dataclass
class Analysis:
    """What :func:`analyse` found: nodes in spec order, a topological order, errors in the order found."""

    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    init: dict | None = None
    errors: list[NetworkError] = field(default_factory=list)

    def fail(self, message: str, node: str | None = None) -> None:
        self.errors.append(NetworkError(message, node))
        if node in self.nodes and self.nodes[node].error is None:
            self.nodes[node].error = message


def analyse(spec: dict, layers: dict[str, Layer] | None = None) -> Analysis:
    """Check ``spec`` and infer shapes; problems are collected in ``Analysis.errors`` (nothing raised).

    ``layers`` may supply ready-made layer objects by name (from a Python stack or graph) instead of
    making them from the node specs.
    """
    a = Analysis()
    if not isinstance(spec, dict):
        a.fail(f"A network spec must be a dict. Received: {type(spec).__name__}")
        return a
    if spec.get("format") != FORMAT:
        a.fail(f"Unsupported network spec format {spec.get('format')!r}: expected {FORMAT!r}")
        return a
    nodes = spec.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        a.fail("A network spec needs a non-empty list of 'nodes'")
        return a
    _read_nodes(a, nodes, layers or {})
    _read_ends(a, spec)
    _order(a)
    _check_reachability(a)
    _check_loss_heads(a)
    _infer_shapes(a)
    return a


def _read_nodes(a: Analysis, nodes, layers):
    positions: dict[str, int] = {}
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            a.fail(f"Node {i} of the spec must be a dict. Received: {node!r}")
            continue
        name = node.get("name")
        if not isinstance(name, str) or not name:
            a.fail(f"Node {i} (type {node.get('type')!r}) has no name")
            continue
        if name in positions:
            a.fail(
                f"Duplicate node name '{name}' (nodes {positions[name]} and {i}): names must be unique", name
            )
            continue
        positions[name] = i
        previous = next(reversed(a.nodes), None)
        default = [previous] if previous and node.get("type") != "input" else []
        inputs = node.get("inputs", default)  # a hand-written linear spec may leave 'inputs' out
        info = NodeInfo(name, None, [])
        a.nodes[name] = info
        if not isinstance(inputs, list) or not all(isinstance(v, str) for v in inputs):
            a.fail(f"Node '{name}': 'inputs' must be a list of node names. Received: {inputs!r}", name)
            continue
        info.inputs = list(inputs)
        try:
            info.layer = layers.get(name) or Layer.from_spec({k: v for k, v in node.items() if k != "inputs"})
        except LayerError as exc:
            a.fail(str(exc), name)
            continue
        except (TypeError, ValueError) as exc:  # a layer constructor rejecting a JSON value of the wrong kind
            a.fail(f"Invalid spec for layer '{name}': {exc}", name)
            continue
        layer = info.layer
        n = len(inputs)
        if layer.type_name == "input":
            if n:
                a.fail(f"Input node '{name}' cannot take inputs (it was given {inputs})", name)
        elif n < layer.min_inputs or n > layer.max_inputs:
            want = (
                f"{layer.min_inputs}"
                if layer.min_inputs == layer.max_inputs
                else f"{layer.min_inputs} to {layer.max_inputs}"
            )
            a.fail(
                f"layer '{name}' takes {want} input(s), got {n}" + ("" if n else " (no 'inputs' given)"), name
            )
    for name, info in a.nodes.items():
        for src in info.inputs:
            if src not in a.nodes:
                a.fail(f"Node '{name}' reads input '{src}', which is not a node of the network", name)
            elif src == name:
                a.fail(f"Node '{name}' reads itself (a cycle)", name)


def _read_ends(a: Analysis, spec):
    declared_inputs = [n for n, i in a.nodes.items() if i.layer is not None and i.layer.type_name == "input"]
    inputs = spec.get("inputs", declared_inputs)
    if not isinstance(inputs, list) or not all(isinstance(v, str) for v in inputs):
        a.fail(f"'inputs' must be a list of Input node names. Received: {inputs!r}")
        inputs = declared_inputs
    for name in inputs:
        if name not in a.nodes:
            a.fail(f"Network input '{name}' is not a node of the network")
        elif name not in declared_inputs and a.nodes[name].layer is not None:
            a.fail(f"Network input '{name}' is a '{a.nodes[name].layer.type_name}' layer, not an Input", name)
    for name in declared_inputs:
        if name not in inputs:
            a.fail(f"Input node '{name}' is missing from the network's 'inputs' {inputs}", name)
    consumed = {src for info in a.nodes.values() for src in info.inputs}
    outputs = spec.get("outputs", [n for n in a.nodes if n not in consumed])
    if not isinstance(outputs, list) or not outputs or not all(isinstance(v, str) for v in outputs):
        a.fail(f"'outputs' must be a non-empty list of node names. Received: {outputs!r}")
        outputs = [n for n in outputs if isinstance(n, str)] if isinstance(outputs, list) else []
    for name in outputs:
        if name not in a.nodes:
            a.fail(f"Network output '{name}' is not a node of the network")
    if len(set(outputs)) != len(outputs):
        a.fail(f"'outputs' lists a node twice: {outputs}")
    a.inputs = [n for n in inputs if n in a.nodes]
    a.outputs = [n for n in outputs if n in a.nodes]
    if "init" in spec:
        from ..init import rules_from_spec

        try:
            a.init = rules_from_spec(spec["init"]) if isinstance(spec["init"], dict) else None
            if a.init is None:
                raise ValueError(f"expected a dict of pattern -> initialiser spec, got {spec['init']!r}")
        except ValueError as exc:
            a.fail(f"Invalid 'init' rules in the network spec: {exc}")


def _order(a: Analysis):
    """Kahn's algorithm, taking ready nodes in spec order so the order is stable; what is left is cyclic."""
    known = {n: [s for s in info.inputs if s in a.nodes and s != n] for n, info in a.nodes.items()}
    readers: dict[str, list[str]] = {n: [] for n in a.nodes}
    waiting = {}
    for n, srcs in known.items():
        waiting[n] = len(srcs)
        for s in srcs:
            readers[s].append(n)
    index = {n: i for i, n in enumerate(a.nodes)}
    import heapq

    ready = [(index[n], n) for n, k in waiting.items() if k == 0]
    heapq.heapify(ready)
    while ready:
        _, n = heapq.heappop(ready)
        a.order.append(n)
        for r in readers[n]:
            waiting[r] -= 1
            if waiting[r] == 0:
                heapq.heappush(ready, (index[r], r))
    left = [n for n in a.nodes if n not in set(a.order)]
    reported = set()
    for start in left:
        if start in reported:
            continue
        path, seen, n = [], {}, start
        while n not in seen:  # walk back along inputs that are themselves stuck until a node repeats
            seen[n] = len(path)
            path.append(n)
            n = next(s for s in known[n] if s in left)
        cycle = path[seen[n] :] + [n]
        if cycle[0] in reported:
            continue
        reported.update(cycle)
        text = " -> ".join(f"'{c}'" for c in reversed(cycle))
        for c in cycle[:-1]:
            a.fail(f"The network has a cycle: {text}", c)


def _check_reachability(a: Analysis):
    """Every node must lead to some output (a node that does not is almost surely a builder slip)."""
    feeding = set()
    stack = list(a.outputs)
    while stack:
        n = stack.pop()
        if n in feeding:
            continue
        feeding.add(n)
        stack.extend(s for s in a.nodes[n].inputs if s in a.nodes)
    for n in a.nodes:
        if n not in feeding and not a.nodes[n].error:
            a.fail(f"Node '{n}' is not connected to any network output {a.outputs}", n)


def _check_loss_heads(a: Analysis):
    heads = [n for n, i in a.nodes.items() if i.layer is not None and i.layer.is_loss]
    if len(heads) > 1:
        a.fail(f"A network can have one loss head, this one has {len(heads)}: {heads}", heads[1])
    for n in heads:
        readers = [m for m, i in a.nodes.items() if n in i.inputs]
        if readers:
            a.fail(f"Loss head '{n}' must be a network output, but '{readers[0]}' reads it", n)
        elif n not in a.outputs:
            a.fail(f"Loss head '{n}' must be listed in the network's 'outputs'", n)


def _infer_shapes(a: Analysis):
    for n in a.order:
        info = a.nodes[n]
        layer = info.layer
        if layer is None or info.error:
            continue
        sources = [a.nodes[s] for s in info.inputs]
        if any(s.output_shape is None for s in sources):
            continue  # an upstream node failed: its error says why
        shapes = [s.output_shape for s in sources]
        if not _kinds_fit(a, info, sources):
            continue
        try:
            shape_arg = shapes if layer.multi_input else (shapes[0] if shapes else ())
            info.output_shape = tuple(layer.output_shape_for(shape_arg))
            norm = layer._normalise_shape(shape_arg)
            info.input_shape = norm
            info.params = layer.param_count() if layer.built else layer.param_count(norm)
            info.flops = int(layer.flops(norm))
        except LayerShapeError as exc:
            src = info.inputs[exc.index] if exc.index < len(info.inputs) else None
            a.fail(str(exc.with_source(src) if src else exc), n)
        except LayerError as exc:
            a.fail(str(exc), n)


def _kinds_fit(a: Analysis, info: NodeInfo, sources: list[NodeInfo]) -> bool:
    """Integer indices may only reach layers that read them (Embedding) or only move them (Flatten)."""
    layer = info.layer
    wants = layer.input_kind
    if layer.type_name == "input":
        info.kind = "int" if layer.dtype == "int" else "float"
        return True
    for src in sources:
        if wants == "any":
            continue
        if wants == "float" and src.kind == "int":
            a.fail(
                f"layer '{info.name}' expects float values, got integer indices from '{src.name}' "
                "(add an Embedding layer, or give the Input dtype 'float')",
                info.name,
            )
            return False
        if wants == "int" and src.kind != "int":
            a.fail(
                f"layer '{info.name}' expects integer token indices, got float values from '{src.name}' "
                "(read an Input with dtype 'int')",
                info.name,
            )
            return False
    if wants == "any" and sources and all(s.kind == "int" for s in sources):
        info.kind = "int"
    return True


def validate_spec(spec) -> tuple[bool, dict[str, dict]]:
    """Check a spec cheaply (no parameters allocated) for the GUI builder; never raises.

    Returns
    -------
    ok : bool
        True when the spec builds a network.
    info : dict
        ``{node name: {"output_shape": list or None, "params": int or None, "flops": int or None,
        "error": str or None}}``; problems of the whole spec (format, inputs, outputs, init) are under
        the key ``""`` with ``"error"`` set.
    """
    try:
        a = analyse(spec)
    except Exception as exc:  # the GUI must never see an exception from validation
        return False, {
            "": {
                "output_shape": None,
                "params": None,
                "flops": None,
                "error": f"Internal error while checking the spec: {type(exc).__name__}: {exc}",
            }
        }
    info = {
        n: {
            "output_shape": None if i.output_shape is None else list(i.output_shape),
            "params": i.params,
            "flops": i.flops,
            "error": i.error,
        }
        for n, i in a.nodes.items()
    }
    general = [str(e) for e in a.errors if e.layer is None or e.layer not in a.nodes]
    if general:
        info[""] = {"output_shape": None, "params": None, "flops": None, "error": "; ".join(general)}
    return not a.errors, info
