"""ONNX converters for the coordinate-network layers: Fourier features and sine (SIREN) layers."""

from __future__ import annotations

import numpy as np

from engine.export.layers import converter, host


@converter("fourier_features")
def _fourier_features(g, layer, inputs, info):
    # The projection is a fixed buffer: it becomes an initializer, as a trained weight does.
    z = g.op(
        "MatMul",
        [inputs[0], g.weight(f"{layer.name}.projection", host(layer.buffers["projection"]))],
        f"{layer.name}/project",
    )
    parts = [g.op("Sin", [z], f"{layer.name}/sin"), g.op("Cos", [z], f"{layer.name}/cos")]
    if layer.include_input:
        parts.insert(0, inputs[0])
    return g.op("Concat", parts, layer.name, axis=-1)


@converter("siren")
def _siren(g, layer, inputs, info):
    y = g.op(
        "MatMul",
        [inputs[0], g.weight(f"{layer.name}.weights", host(layer.parameters["weights"]))],
        f"{layer.name}/matmul",
    )
    if layer.use_bias:
        y = g.op(
            "Add", [y, g.weight(f"{layer.name}.bias", host(layer.parameters["bias"]))], f"{layer.name}/bias"
        )
    omega = g.weight(f"{layer.name}/omega_0", np.asarray(layer.omega_0, dtype=np.float32))
    return g.op("Sin", [g.op("Mul", [y, omega], f"{layer.name}/scaled")], layer.name)
