"""ONNX converters for pooling, normalisation and embedding layers (channels first, as the engine)."""

from __future__ import annotations

from engine.export.layers import converter, host


def _pool_pads(layer):
    ph, pw = layer.padding
    return [ph, pw, ph, pw]


@converter("max_pool2d")
def _max_pool(g, layer, inputs, info):
    # ONNX MaxPool ignores padded positions, as the engine's -inf padding does.
    return g.op(
        "MaxPool",
        inputs,
        layer.name,
        kernel_shape=list(layer.pool_size),
        strides=list(layer.strides),
        pads=_pool_pads(layer),
    )


@converter("avg_pool2d")
def _avg_pool(g, layer, inputs, info):
    # The engine counts padded zeros in the mean (PyTorch's default): count_include_pad=1.
    return g.op(
        "AveragePool",
        inputs,
        layer.name,
        kernel_shape=list(layer.pool_size),
        strides=list(layer.strides),
        pads=_pool_pads(layer),
        count_include_pad=1,
    )


@converter("global_avg_pool")
def _global_avg_pool(g, layer, inputs, info):
    pooled = g.op("GlobalAveragePool", inputs, f"{layer.name}/pool")  # (N, C, 1, 1)
    return g.op("Flatten", [pooled], layer.name, axis=1)


@converter("batch_norm")
def _batch_norm(g, layer, inputs, info):
    # Inference mode: the running statistics. ONNX takes (N, C, ...) like the engine: (F,), (C, L), (C, H, W).
    p, b = layer.parameters, layer.buffers
    args = [
        inputs[0],
        g.weight(f"{layer.name}.gamma", host(p["gamma"])),
        g.weight(f"{layer.name}.beta", host(p["beta"])),
        g.weight(f"{layer.name}.running_mean", host(b["running_mean"])),
        g.weight(f"{layer.name}.running_var", host(b["running_var"])),
    ]
    return g.op("BatchNormalization", args, layer.name, epsilon=float(layer.epsilon))


@converter("layer_norm")
def _layer_norm(g, layer, inputs, info):
    p = layer.parameters
    args = [
        inputs[0],
        g.weight(f"{layer.name}.gamma", host(p["gamma"])),
        g.weight(f"{layer.name}.beta", host(p["beta"])),
    ]
    return g.op("LayerNormalization", args, layer.name, axis=-1, epsilon=float(layer.epsilon))


@converter("embedding")
def _embedding(g, layer, inputs, info):
    # The indices are int64 (an Input with dtype "int"; the engine refuses float indices too).
    table = g.weight(f"{layer.name}.weights", host(layer.parameters["weights"]))
    return g.op("Gather", [table, inputs[0]], layer.name, axis=0)
