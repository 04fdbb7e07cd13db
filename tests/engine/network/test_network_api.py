"""The Network contract: parameters, buffers, loading, backends, seeding, registry, summary, calling."""

import numpy as np
import pytest

import engine
from engine import layers as L
from engine.autodiff import Tensor
from engine.backend import cuda_status
from engine.init import Constant, XavierUniform
from engine.network import Network, NetworkError
from engine.registry import Registry


def small_cnn(seed=0, **kw):
    arch = (
        L.Input((1, 6, 6), name="img")
        + L.Conv2D(4, 3, padding="same", activation="relu", name="conv1")
        + L.BatchNorm(name="bn1")
        + L.MaxPool2D(2, name="pool1")
        + L.Flatten(name="flat")
        + L.Dropout(0.5, name="drop")
        + L.Dense(3, name="fc")
        + L.SoftmaxCrossEntropy(name="loss")
    )
    return Network(arch, seed=seed, **kw)


def test_parameters_buffers_and_facts():
    net = small_cnn()
    assert list(net.parameters()) == [
        "conv1.weights",
        "conv1.bias",
        "bn1.gamma",
        "bn1.beta",
        "fc.weights",
        "fc.bias",
    ]
    assert list(net.buffers()) == ["bn1.running_mean", "bn1.running_var"]
    assert net.parameters()["conv1.weights"].shape == (4, 1, 3, 3)
    assert all(p.dtype == np.float32 and p.requires_grad for p in net.parameters().values())
    assert net.input_shapes == {"img": (1, 6, 6)} and net.output_shapes == {"loss": (3,)}
    assert net.loss_head is net.layers["loss"]
    assert net.param_count() == 40 + 8 + 36 * 3 + 3
    assert Network(L.Input((2,)) + L.Dense(1)).loss_head is None


def test_same_seed_same_parameters_and_dropout():
    a, b, c = small_cnn(seed=1), small_cnn(seed=1), small_cnn(seed=2)
    for k, p in a.parameters().items():
        np.testing.assert_array_equal(p.data, b.parameters()[k].data)
    assert not np.array_equal(a.parameters()["fc.weights"].data, c.parameters()["fc.weights"].data)
    x = np.random.default_rng(0).random((5, 1, 6, 6), dtype=np.float32)
    ya = a(x, training=True).data
    np.testing.assert_array_equal(ya, b(x, training=True).data)
    a.seed(7)
    first = a(x, training=True).data
    a.seed(7)
    np.testing.assert_array_equal(a(x, training=True).data, first)
    # inference is deterministic and dropout-free
    np.testing.assert_array_equal(a(x).data, a(x).data)


def test_initialise_by_patterns_and_reseed():
    net = small_cnn()
    net.initialise({"*.weights": XavierUniform(), "conv*.bias": Constant(0.25)}, seed=5)
    assert np.all(net.parameters()["conv1.bias"].data == 0.25)
    assert np.all(net.parameters()["fc.bias"].data == 0)  # layer default
    assert np.all(net.parameters()["bn1.gamma"].data == 1)
    w = net.parameters()["fc.weights"].data.copy()
    net.initialise({"*.weights": XavierUniform()}, seed=5)
    np.testing.assert_array_equal(net.parameters()["fc.weights"].data, w)


def test_load_parameters_and_buffers_in_place():
    src, dst = small_cnn(seed=1), small_cnn(seed=2)
    tensors = dst.parameters()
    dst.load_parameters({k: v.numpy().copy() for k, v in src.parameters().items()})
    dst.load_buffers({k: np.full(v.shape, 3.0) for k, v in src.buffers().items()})
    for k, p in dst.parameters().items():
        assert p is tensors[k]
        np.testing.assert_array_equal(p.data, src.parameters()[k].data)
    assert np.all(dst.buffers()["bn1.running_var"] == 3.0)
    with pytest.raises(NetworkError, match=r"Parameter 'fc.weights' has shape \(36, 3\), got \(3, 36\)"):
        dst.load_parameters({"fc.weights": np.zeros((3, 36))}, strict=False)
    with pytest.raises(NetworkError, match="Unknown parameter 'fc2.weights'"):
        dst.load_parameters({"fc2.weights": np.zeros((3, 36))}, strict=False)
    with pytest.raises(NetworkError, match="Missing parameter 'conv1.weights'"):
        dst.load_parameters({"fc.bias": np.zeros(3)})


def test_batch_norm_buffers_update_in_training_only():
    net = small_cnn()
    x = np.random.default_rng(0).random((8, 1, 6, 6), dtype=np.float32)
    net(x)
    assert np.all(net.buffers()["bn1.running_mean"] == 0)
    net(x, training=True)
    assert np.any(net.buffers()["bn1.running_mean"] != 0)


def test_inputs_checked_and_several_inputs_outputs():
    a = L.Input((3,), name="a")
    b = L.Input((2,), name="b")
    cat = L.Concatenate(name="cat")([a, b])
    h = L.Dense(4, name="h")(cat)
    g = L.Dense(1, name="g")(h)
    net = Network(outputs=[g, h])
    xa, xb = np.ones((5, 3)), np.ones((5, 2))
    out = net({"a": xa, "b": xb})
    assert set(out) == {"g", "h"} and out["g"].shape == (5, 1) and out["h"].dtype == np.float32
    np.testing.assert_array_equal(net([xa, xb])["g"].data, out["g"].data)
    with pytest.raises(NetworkError, match=r"Input 'a' expects batches of shape \(N, 3,\), got \(5, 4\)"):
        net({"a": np.ones((5, 4)), "b": xb})
    with pytest.raises(NetworkError, match=r"Network takes 2 inputs \['a', 'b'\]"):
        net(xa)
    with pytest.raises(NetworkError, match="Network inputs are"):
        net({"a": xa})


def test_embedding_input_keeps_integers():
    net = Network(L.Input((4,), dtype="int", name="tokens") + L.Embedding(10, 3) + L.Flatten() + L.Dense(2))
    y = net(np.array([[1, 2, 3, 9]]))
    assert y.shape == (1, 2)


def test_publish_to_registry_with_tags():
    net = small_cnn()
    reg = Registry()
    net.publish(reg)
    assert reg.get("network.layers.fc.weights") is net.parameters()["fc.weights"]
    assert reg.resolve("network.layers.*<trainable>.weights") == [
        "network.layers.conv1.weights",
        "network.layers.fc.weights",
    ]
    assert reg.resolve("network.layers.*<batch_norm>.*") == [
        "network.layers.bn1.gamma",
        "network.layers.bn1.beta",
        "network.layers.bn1.running_mean",
        "network.layers.bn1.running_var",
    ]
    assert "parameter" in reg.tags("network.layers.fc.bias")
    local = reg.copy()
    assert local.get("network.layers.fc.bias") is net.parameters()["fc.bias"]


def test_summary_table():
    text = small_cnn().summary()
    lines = text.splitlines()
    assert lines[0].split() == ["Layer", "Type", "Inputs", "Output", "shape", "Params", "FLOPs"]
    assert any(line.startswith("conv1") and "(4, 6, 6)" in line and " 40 " in line for line in lines)
    assert "Total parameters: 159 (159 trainable, 0 frozen)" in text
    assert "Loss head: loss (softmax_cross_entropy)" in text


def test_to_backend_cpu_keeps_tensors():
    net = small_cnn()
    before = net.parameters()
    assert net.to_backend("cpu") is net
    assert all(net.parameters()[k] is t for k, t in before.items())


def test_gradients_reach_every_parameter():
    net = small_cnn(dtype="float64")
    x = np.random.default_rng(0).random((4, 1, 6, 6))
    loss = net.loss_head.loss(net(x, training=True), np.array([0, 1, 2, 0]))
    loss.backward()
    assert all(p.grad is not None and p.grad.dtype == np.float64 for p in net.parameters().values())


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_status()[0], reason="needs a CUDA GPU (CuPy)")
def test_cuda_matches_cpu():
    cpu = small_cnn(seed=3)
    gpu = small_cnn(seed=3).to_backend("cuda")
    for k, p in cpu.parameters().items():  # drawn on the host: identical
        np.testing.assert_array_equal(p.numpy(), gpu.parameters()[k].numpy())
    x = np.random.default_rng(0).random((4, 1, 6, 6), dtype=np.float32)
    np.testing.assert_allclose(gpu(x).numpy(), cpu(x).numpy(), rtol=1e-4, atol=1e-5)
    assert isinstance(gpu(Tensor(x)), engine.Tensor)


def test_recurrent_initial_state_as_second_input():
    seq = L.Input((5, 3), name="seq")
    ctx = L.Input((2,), name="ctx")
    h0 = L.Dense(4, activation="tanh", name="h0")(ctx)
    out = L.GRU(4, name="gru")([seq, h0])
    net = Network(outputs=out, dtype="float64")
    assert net.inputs_of("gru") == ["seq", "h0"]
    rng = np.random.default_rng(0)
    xs, xc = rng.standard_normal((3, 5, 3)), rng.standard_normal((3, 2))
    y1 = net({"seq": xs, "ctx": xc}).data
    y2 = net({"seq": xs, "ctx": xc + 1}).data
    assert y1.shape == (3, 4) and not np.allclose(y1, y2)  # the initial state matters
    spec = net.to_spec()
    assert Network.from_spec(spec).to_spec() == spec
