"""A ReLU layer feeding only a max pooling runs as relu_max_pool2d: same outputs and gradients as the
layers run one by one, and no fusion where another node (or the caller) sees the ReLU's output."""

import numpy as np

from engine import layers as L
from engine import ops
from engine.network import Network


def layer_by_layer(net, x):
    """The network's output with every layer's own ``forward`` (no fusion)."""
    values = {net.input_names[0]: x}
    for name, layer in net.layers.items():
        if name not in values:
            srcs = [values[s] for s in net._analysis.nodes[name].inputs]
            values[name] = layer.forward(srcs if layer.multi_input else srcs[0], True)
    return values


def outputs_and_gradients(net, x, fused):
    for p in net.parameters().values():
        p.grad = None
    out = net(x, training=True) if fused else layer_by_layer(net, x)[net.output_names[0]]
    ops.sum(out * out).backward()
    return out.numpy(), {k: p.grad.numpy() for k, p in net.parameters().items()}


def test_conv_relu_then_max_pool_is_fused_with_the_same_values_and_gradients():
    arch = (
        L.Input((2, 8, 8), name="img")
        + L.Conv2D(4, 3, padding="same", activation="relu", name="c1")
        + L.MaxPool2D(2, name="p1")
        + L.Conv2D(3, 3, padding="same", name="c2")
        + L.Activation("relu", name="r2")
        + L.MaxPool2D(3, strides=1, padding=1, name="p2")
        + L.Flatten(name="flat")
        + L.Dense(2, name="fc")
    )
    net = Network(arch, seed=1, dtype="float64")
    assert net._relu_producers == {"c1", "r2"} and net._relu_pools == {"p1", "p2"}
    x = np.random.default_rng(0).standard_normal((3, 2, 8, 8))
    y_fused, g_fused = outputs_and_gradients(net, x, fused=True)
    y_plain, g_plain = outputs_and_gradients(net, x, fused=False)
    np.testing.assert_allclose(y_fused, y_plain, rtol=1e-12, atol=1e-12)
    for k in g_plain:
        np.testing.assert_allclose(g_fused[k], g_plain[k], rtol=1e-12, atol=1e-12, err_msg=k)


def test_no_fusion_where_the_relu_output_is_seen_elsewhere():
    img = L.Input((1, 6, 6), name="img")
    c1 = L.Conv2D(2, 3, padding="same", activation="relu", name="c1")(img)
    p1 = L.MaxPool2D(2, name="p1")(c1)
    side = L.GlobalAvgPool(name="gap")(c1)  # a second consumer of the ReLU's output
    c2 = L.Conv2D(2, 3, padding="same", activation="relu", name="c2")(img)
    p2 = L.MaxPool2D(2, name="p2")(c2)  # c2 is also a network output
    t1 = L.Conv2D(2, 3, padding="same", activation="tanh", name="t1")(img)
    p3 = L.MaxPool2D(2, name="p3")(t1)  # not a ReLU
    net = Network(outputs=[p1, side, c2, p2, p3])
    assert not net._relu_producers and not net._relu_pools
    x = np.random.default_rng(1).standard_normal((2, 1, 6, 6))
    out = net(x)
    assert out["c2"].numpy().min() >= 0  # the network output keeps its ReLU
