"""A small helper around ``onnx.helper`` that collects nodes and weights while a network is walked.

Converters of single layers ask it for fresh value names, add weights as initializers and append
nodes; :meth:`GraphBuilder.model` wraps everything in a checked ``ModelProto``.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["GraphBuilder", "OPSET", "IR_VERSION"]

#: The ONNX operator set the exporter writes (LayerNormalization needs 17; onnxruntime runs 17 everywhere).
OPSET = 17
#: IR version 8 goes with opset 17 (onnx 1.13+); older runtimes refuse newer IR versions for no gain.
IR_VERSION = 8

_ONNX_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64}


class GraphBuilder:
    """Accumulates the pieces of one ONNX graph.

    Parameters
    ----------
    name : str
        The graph's name (the network's).
    """

    def __init__(self, name: str = "network"):
        self.name = name
        self.nodes: list = []
        self.initializers: list = []
        self.inputs: list = []
        self.outputs: list = []
        self._used: set[str] = set()

    def fresh(self, hint: str) -> str:
        """A value name not used before, derived from ``hint`` (``fc1/matmul``, ``fc1/matmul_1``...)."""
        name, k = hint, 0
        while name in self._used:
            k += 1
            name = f"{hint}_{k}"
        self._used.add(name)
        return name

    def reserve(self, name: str) -> str:
        """Claim ``name`` exactly (graph inputs and outputs keep the names users see)."""
        if name in self._used:
            raise ValueError(f"ONNX value name {name!r} is used twice")
        self._used.add(name)
        return name

    def weight(self, hint: str, array, dtype=np.float32) -> str:
        """Add ``array`` as an initializer (cast to ``dtype``); returns its name."""
        name = self.fresh(hint)
        host = np.ascontiguousarray(np.asarray(array), dtype=dtype)
        self.initializers.append(numpy_helper.from_array(host, name))
        return name

    def ints(self, hint: str, values) -> str:
        """An int64 1-d constant (shapes, axes) as an initializer."""
        return self.weight(hint, np.asarray(list(values), dtype=np.int64), dtype=np.int64)

    def op(self, op_type: str, inputs: list[str], hint: str, outputs: int = 1, **attrs):
        """Append one node; returns its output name (or a list of names when ``outputs > 1``).

        An empty string in ``inputs`` is ONNX's "optional input left out".
        """
        names = [self.fresh(hint if outputs == 1 else f"{hint}_{i}") for i in range(outputs)]
        self.nodes.append(
            helper.make_node(op_type, inputs, names, name=self.fresh(f"{hint}/{op_type}"), **attrs)
        )
        return names[0] if outputs == 1 else names

    def add_input(self, name: str, sample_shape, dtype=np.float32) -> str:
        """A graph input of shape ``("batch", *sample_shape)``."""
        self.reserve(name)
        shape = ["batch", *[int(d) for d in sample_shape]]
        self.inputs.append(helper.make_tensor_value_info(name, _ONNX_TYPES[np.dtype(dtype)], shape))
        return name

    def add_output(self, value: str, name: str, sample_shape=None) -> None:
        """Expose ``value`` as the graph output ``name`` (through an Identity when the names differ)."""
        if value != name:
            self.reserve(name)
            self.nodes.append(
                helper.make_node("Identity", [value], [name], name=self.fresh(f"{name}/Identity"))
            )
        shape = None if sample_shape is None else ["batch", *[int(d) for d in sample_shape]]
        self.outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))

    def model(self, producer_version: str = "") -> onnx.ModelProto:
        """The finished, checked model."""
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.initializers)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="sigma-studio",
            producer_version=producer_version,
            ir_version=IR_VERSION,
        )
        onnx.checker.check_model(model, full_check=True)
        return model
