"""The Network: layers wired as a linear stack or a graph, built from (and saved as) one JSON spec.

The spec format is described in :mod:`engine.network.graph`. A network is checked and every layer built
at construction (shapes inferred, parameters created), so errors surface before any data flows.
"""

from __future__ import annotations

import numpy as np

from ..autodiff.tensor import Tensor
from ..backend import get_backend, to_host
from ..init import initialise, rules_to_spec
from ..layers.base import Layer
from .fusion import relu_pool_pairs
from .graph import FORMAT, NetworkError, analyse
from .stack import Node, Stack, assign_names, graph_nodes, is_symbolic

__all__ = ["Network"]


class Network:
    """A network of layers.

    Parameters
    ----------
    architecture : dict, Stack, Layer, Node or list of Nodes, optional
        A spec (see :mod:`engine.network.graph`), a linear stack (``Input(...) + Dense(...)``), or the
        output node(s) of a functional graph (also accepted as ``outputs=``).
    outputs : Node or list of Nodes, optional
        Output nodes of a functional graph.
    seed : int
        Seeds parameter initialisation and the dropout generator ``rng``.
    dtype : str or numpy dtype
        Parameter and compute dtype (float32 by default; float64 for gradient checks).
    backend : str or Backend
        Where parameters live (``"cpu"``, ``"cuda:0"``, ...).
    init : dict, optional
        Initialiser rules by parameter pattern (``{"*.weights": HeNormal()}``), stored in the spec.

    Raises
    ------
    NetworkError
        Naming the node at fault: unknown layer types, duplicate names, dangling inputs, cycles,
        shapes that do not fit ("layer 'fc2' expects 256 inputs, got 784 from 'flatten1'").
    """

    def __init__(
        self,
        architecture=None,
        *,
        outputs=None,
        seed: int = 0,
        dtype="float32",
        backend="cpu",
        init: dict | None = None,
    ):
        spec, layers = _spec_and_layers(outputs if outputs is not None else architecture)
        if init is not None:
            spec["init"] = rules_to_spec(init)
        analysis = analyse(spec, layers)
        if analysis.errors:
            raise analysis.errors[0]
        self._analysis = analysis
        self._spec_nodes = [n for n in analysis.nodes]  # spec order, kept for to_spec
        self.init_rules = analysis.init or {}
        self.dtype = np.dtype(dtype)
        self.backend = get_backend(backend)
        self._seed = int(seed)
        self.layers: dict[str, Layer] = {n: analysis.nodes[n].layer for n in analysis.order}
        self.input_names = list(analysis.inputs)
        self.output_names = list(analysis.outputs)
        self._relu_producers, self._relu_pools = relu_pool_pairs(analysis)
        self.rng = np.random.default_rng()
        self.seed(seed)
        init_rng = np.random.default_rng(np.random.SeedSequence(self._seed).spawn(2)[0])
        for name, layer in self.layers.items():
            layer.build(analysis.nodes[name].input_shape, init_rng, self.dtype, self.backend)
            layer.rng = self.rng
        if self.init_rules:
            self.initialise()

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def from_spec(cls, spec: dict, **kwargs) -> Network:
        """Build a network from its spec (as :meth:`to_spec` returns); ``kwargs`` as for the constructor."""
        if not isinstance(spec, dict):
            raise NetworkError(f"A network spec must be a dict. Received: {type(spec).__name__}")
        return cls(spec, **kwargs)

    def to_spec(self) -> dict:
        """The spec of this network, JSON-able; ``Network.from_spec(net.to_spec()).to_spec()`` equals it."""
        nodes = []
        for name in self._spec_nodes:
            info = self._analysis.nodes[name]
            node = info.layer.spec()
            if info.layer.type_name != "input":
                node = {
                    "type": node["type"],
                    "name": node["name"],
                    "inputs": list(info.inputs),
                    **{k: v for k, v in node.items() if k not in ("type", "name")},
                }
            nodes.append(node)
        spec = {
            "format": FORMAT,
            "nodes": nodes,
            "inputs": list(self.input_names),
            "outputs": list(self.output_names),
        }
        if self.init_rules:
            spec["init"] = rules_to_spec(self.init_rules)
        return spec

    def seed(self, seed: int) -> None:
        """Reseed the generator that dropout and other run-time randomness draw from (in place, so the
        layers holding it see the change)."""
        self._seed = int(seed)
        fresh = np.random.default_rng(np.random.SeedSequence(self._seed).spawn(2)[1])
        self.rng.bit_generator.state = fresh.bit_generator.state

    def initialise(self, rules: dict | None = None, seed: int | None = None) -> None:
        """Draw every parameter again: from ``rules`` (pattern -> initialiser; the network's own rules when
        None), falling back to each layer's ``init`` and defaults. Same seed, same values."""
        rules = self.init_rules if rules is None else rules
        rng = np.random.default_rng(np.random.SeedSequence(self._seed if seed is None else seed).spawn(2)[0])
        defaults, fans = {}, {}
        for lname, layer in self.layers.items():
            layer_defaults = layer.default_initialisers()
            layer_fans = layer.fans(layer.input_shape)
            for pname in layer.parameters:
                defaults[f"{lname}.{pname}"] = layer.init.get(pname) or layer_defaults[pname]
                if pname in layer_fans:
                    fans[f"{lname}.{pname}"] = layer_fans[pname]
        initialise(self.parameters(), rules, rng, defaults, fans)

    # ------------------------------------------------------------------ facts
    @property
    def input_shapes(self) -> dict[str, tuple]:
        """Per-sample shape of each input, by input name."""
        return {n: self._analysis.nodes[n].output_shape for n in self.input_names}

    @property
    def output_shapes(self) -> dict[str, tuple]:
        """Per-sample shape of each output, by output name."""
        return {n: self._analysis.nodes[n].output_shape for n in self.output_names}

    def output_shape_of(self, name: str) -> tuple:
        """Per-sample output shape of any node."""
        return self._analysis.nodes[name].output_shape

    def inputs_of(self, name: str) -> list[str]:
        """Names of the nodes that node ``name`` reads."""
        return list(self._analysis.nodes[name].inputs)

    @property
    def loss_head(self):
        """The loss layer the network ends in, or None."""
        return next((layer for layer in self.layers.values() if layer.is_loss), None)

    def parameters(self) -> dict[str, Tensor]:
        """``{"<layer>.<param>": Tensor}`` in a stable (topological, then declaration) order."""
        return {f"{ln}.{pn}": p for ln, layer in self.layers.items() for pn, p in layer.parameters.items()}

    def buffers(self) -> dict:
        """``{"<layer>.<buffer>": array}``: non-trainable state such as BatchNorm running statistics."""
        return {f"{ln}.{bn}": b for ln, layer in self.layers.items() for bn, b in layer.buffers.items()}

    def param_count(self) -> int:
        return int(sum(p.size for p in self.parameters().values()))

    def flops(self) -> int:
        """Forward FLOPs of one sample."""
        return int(sum(i.flops or 0 for i in self._analysis.nodes.values()))

    def node_info(self, name: str):
        """What shape inference learnt about node ``name`` (output shape, params, FLOPs)."""
        return self._analysis.nodes[name]

    # ------------------------------------------------------------------ state
    def load_parameters(self, values: dict, strict: bool = True) -> None:
        """Copy values into the parameters in place (tensors keep their identity).

        Raises
        ------
        NetworkError
            For missing or unknown names (when ``strict``) and for shape mismatches, naming the parameter.
        """
        self._load(
            self.parameters(), values, "parameter", strict, lambda store, key, arr: _assign(store[key], arr)
        )

    def load_buffers(self, values: dict, strict: bool = True) -> None:
        """Copy buffer values (running statistics) in place."""

        def put(store, key, arr):
            lname, bname = key.rsplit(".", 1)
            buf = self.layers[lname].buffers[bname]
            buf[...] = _like(arr, buf)

        self._load(self.buffers(), values, "buffer", strict, put)

    def _load(self, store, values, kind, strict, put):
        unknown = [k for k in values if k not in store]
        missing = [k for k in store if k not in values]
        if unknown:
            raise NetworkError(
                f"Unknown {kind} '{unknown[0]}': this network's {kind}s are {list(store)}",
                unknown[0].split(".")[0],
            )
        if strict and missing:
            raise NetworkError(
                f"Missing {kind} '{missing[0]}' (and {len(missing) - 1} more)", missing[0].split(".")[0]
            )
        for key, value in values.items():
            arr = value.data if isinstance(value, Tensor) else value
            target = store[key]
            tshape = tuple(target.shape)
            if tuple(arr.shape) != tshape:
                raise NetworkError(
                    f"{kind.capitalize()} '{key}' has shape {tshape}, got {tuple(arr.shape)}",
                    key.split(".")[0],
                )
        for key, value in values.items():
            put(store, key, value.data if isinstance(value, Tensor) else value)

    def to_backend(self, backend) -> Network:
        """Move parameters and buffers to ``backend`` (tensors keep their identity); returns self."""
        be = get_backend(backend)
        for layer in self.layers.values():
            for p in layer.parameters.values():
                p.data = be.from_host(self.backend.to_host(p.data))
                p.grad = None
            for name, buf in list(layer.buffers.items()):
                layer.buffers[name] = be.from_host(self.backend.to_host(buf))
        self.backend = be
        return self

    def zero_grad(self) -> None:
        for p in self.parameters().values():
            p.grad = None

    # ------------------------------------------------------------------ running
    def __call__(self, inputs, training: bool = False):
        """Run the network on a batch.

        Parameters
        ----------
        inputs : array, Tensor, list or dict
            One batch (N, *input_shape) for a one-input network; otherwise a dict by input name or a list
            in the order of ``input_names``.
        training : bool
            Training mode (dropout active, batch statistics in BatchNorm).

        Returns
        -------
        Tensor, or a dict of Tensors by output name when there are several outputs.
        """
        values = self._read_inputs(inputs)
        producers, pools = self._relu_producers, self._relu_pools
        for name, layer in self.layers.items():
            if name in values:
                continue
            srcs = [values[s] for s in self._analysis.nodes[name].inputs]
            if name in producers:  # a ReLU layer feeding one max pooling only: the pool applies the ReLU
                values[name] = layer.forward_pre_activation(srcs[0], training)
            elif name in pools:
                values[name] = layer.forward_after_relu(srcs[0], training)
            else:
                values[name] = layer.forward(srcs if layer.multi_input else srcs[0], training)
        if len(self.output_names) == 1:
            return values[self.output_names[0]]
        return {n: values[n] for n in self.output_names}

    def _read_inputs(self, inputs) -> dict:
        names = self.input_names
        if isinstance(inputs, dict):
            unknown = [k for k in inputs if k not in names]
            if unknown or len(inputs) != len(names):
                raise NetworkError(f"Network inputs are {names}; got {list(inputs)}")
            given = inputs
        elif isinstance(inputs, list | tuple):
            if len(inputs) != len(names):
                raise NetworkError(f"Network takes {len(names)} input(s) {names}; got {len(inputs)}")
            given = dict(zip(names, inputs))
        else:
            if len(names) != 1:
                raise NetworkError(
                    f"Network takes {len(names)} inputs {names}: pass a dict by name or a list"
                )
            given = {names[0]: inputs}
        out = {}
        for name, value in given.items():
            layer = self.layers[name]
            arr = value.data if isinstance(value, Tensor) else value
            if not hasattr(arr, "shape"):
                arr = np.asarray(arr)
            if tuple(arr.shape[1:]) != layer.shape or arr.ndim != len(layer.shape) + 1:
                raise NetworkError(
                    f"Input '{name}' expects batches of shape (N, {', '.join(map(str, layer.shape))}"
                    f"{',' if len(layer.shape) == 1 else ''}), got {tuple(arr.shape)}",
                    name,
                )
            dtype = self.dtype if layer.dtype == "float" else np.int64
            if isinstance(value, Tensor) and value.dtype == dtype and value.xp is self.backend.xp:
                out[name] = value
                continue
            if isinstance(arr, np.ndarray):
                arr = self.backend.from_host(arr, dtype)
            elif arr.dtype != dtype:
                arr = arr.astype(dtype)
            out[name] = Tensor(arr)
        return out

    # ------------------------------------------------------------------ registry and display
    def publish(self, registry, prefix: str = "network") -> None:
        """Register layers (tagged with their type, and ``trainable``) and their parameters and buffers
        under ``<prefix>.layers.<layer>.<name>`` (parameters tagged ``parameter``, buffers ``buffer``)."""
        from ..registry import Registry

        for lname, layer in self.layers.items():
            ident = f"{prefix}.layers.{lname}"
            if ident not in registry:
                registry.set(ident, Registry())
            registry.tag(
                ident, layer.type_name, *(["trainable"] if layer.trainable and layer.parameters else [])
            )
            for pname, p in layer.parameters.items():
                registry.set(f"{ident}.{pname}", p, tags=("parameter",))
            for bname, b in layer.buffers.items():
                registry.set(f"{ident}.{bname}", b, tags=("buffer",))

    def summary(self) -> str:
        """A table of layers: name, type, inputs, output shape, parameters and forward FLOPs, with totals."""
        from .summary import summary_table

        return summary_table(self)

    def __repr__(self) -> str:
        return (
            f"Network({len(self.layers)} layers, {self.param_count():,} parameters, "
            f"inputs {self.input_names}, outputs {self.output_names})"
        )


def _spec_and_layers(architecture):
    """(spec, {name: layer}) from any accepted architecture."""
    if isinstance(architecture, dict):
        return dict(architecture), None
    if isinstance(architecture, Layer) and not is_symbolic(architecture):
        architecture = Stack([architecture])
    if isinstance(architecture, Layer) and architecture.type_name == "input":
        architecture = Stack([architecture])
    if isinstance(architecture, Stack):
        pairs = architecture.nodes()
    elif is_symbolic(architecture):
        pairs = graph_nodes(architecture)
    else:
        raise NetworkError(
            f"Cannot build a network from {type(architecture).__name__}: expected a spec dict, "
            "a linear stack (Input(...) + ...) or graph output nodes"
        )
    assign_names([layer for layer, _ in pairs])
    seen = set()
    for layer, _ in pairs:
        if id(layer) in seen:
            raise NetworkError(
                f"Layer '{layer.name}' appears twice; a layer object can sit in one place only", layer.name
            )
        seen.add(id(layer))
    nodes = []
    for layer, srcs in pairs:
        node = layer.spec()
        if layer.type_name != "input":
            node["inputs"] = [s.name for s in srcs]
        nodes.append(node)
    inputs = [layer.name for layer, _ in pairs if layer.type_name == "input"]
    outs = architecture if isinstance(architecture, list | tuple) else [architecture]
    outputs = (
        [pairs[-1][0].name] if isinstance(architecture, Stack) else [Node.of(o).layer.name for o in outs]
    )
    layers = {layer.name: layer for layer, _ in pairs}
    return {"format": FORMAT, "nodes": nodes, "inputs": inputs, "outputs": outputs}, layers


def _like(arr, target):
    """``arr`` (host or device) as an array of ``target``'s dtype on ``target``'s device."""
    from ..backend import get_array_module

    xp = get_array_module(target)
    if xp is np:
        arr = to_host(arr)  # a device array loaded into a host network
    return xp.asarray(arr, dtype=target.dtype)


def _assign(param: Tensor, arr) -> None:
    param.data[...] = _like(arr, param.data)
