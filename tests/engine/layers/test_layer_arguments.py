"""Argument validation messages, specs, lazy building, loss heads."""

import json

import numpy as np
import pytest

import engine
from engine import layers as L
from engine.init import HeNormal
from engine.layers import Layer, LayerError, LayerShapeError


@pytest.mark.parametrize(
    "make,message",
    [
        (
            lambda: L.Dense(-3, name="fc1"),
            "Invalid value for `units` in layer 'fc1'. Expected a positive integer. Received: -3",
        ),
        (
            lambda: L.Dense(2.5),
            "Invalid value for `units` in layer Dense. Expected a positive integer. Received: 2.5",
        ),
        (
            lambda: L.Dense(3, activation="relux", name="fc"),
            "Invalid value for `activation` in layer 'fc'. Expected one of",
        ),
        (
            lambda: L.Dropout(1.0, name="d"),
            "Invalid value for `rate` in layer 'd'. Expected a number with 0 <= value < 1. Received: 1.0",
        ),
        (
            lambda: L.Conv2D(0, 3, name="c"),
            "Invalid value for `filters` in layer 'c'. Expected a positive integer",
        ),
        (
            lambda: L.Conv2D(4, (3, 3, 3), name="c"),
            "Invalid value for `kernel_size` in layer 'c'. Expected 2 positive",
        ),
        (
            lambda: L.Conv2D(4, 3, padding="full", name="c"),
            "Invalid value for `padding` in layer 'c'. Expected one of",
        ),
        (
            lambda: L.Conv2D(4, 3, padding=-1, name="c"),
            "Invalid value for `padding` in layer 'c'. Expected 'valid', 'same'",
        ),
        (
            lambda: L.Conv2D(5, 3, groups=2, name="c"),
            "Invalid value for `filters` in layer 'c'. Expected a multiple of groups=2",
        ),
        (lambda: L.MaxPool2D(2, padding=2, name="p"), "Invalid value for `padding` in layer 'p'"),
        (lambda: L.Reshape((2, -1, -1), name="r"), "Invalid value for `target_shape` in layer 'r'"),
        (lambda: L.Input((0, 3), name="x"), "Invalid value for `shape` in layer 'x'"),
        (
            lambda: L.Input((3,), dtype="uint8", name="x"),
            "Invalid value for `dtype` in layer 'x'. Expected one of",
        ),
        (lambda: L.BatchNorm(epsilon=0, name="bn"), "Invalid value for `epsilon` in layer 'bn'"),
        (
            lambda: L.LSTM(4, return_sequences="yes", name="l"),
            "Invalid value for `return_sequences` in layer 'l'",
        ),
        (lambda: L.Embedding(0, 3, name="e"), "Invalid value for `input_dim` in layer 'e'"),
        (lambda: L.Dense(3, name="fc.1"), "Invalid value for `name` in layer Dense"),
        (
            lambda: L.Dense(3, name="fc", init={"weights": "nope"}),
            "Invalid initialiser for `weights` in layer 'fc'",
        ),
        (lambda: L.Dense(3, trainable=1), "Invalid value for `trainable`"),
    ],
)
def test_argument_errors(make, message):
    with pytest.raises(LayerError) as info:
        make()
    assert message in str(info.value)


@pytest.mark.parametrize(
    "layer,shape,message",
    [
        (
            L.Conv2D(4, 3, name="c"),
            (8, 8),
            "layer 'c' expects samples of shape (channels, height, width), got shape (8, 8) "
            "(add a Reshape layer)",
        ),
        (L.Conv2D(4, 5, name="c"), (1, 3, 3), "layer 'c' expects an input large enough for kernel (5, 5)"),
        (
            L.Conv2D(4, 3, groups=2, name="c"),
            (3, 8, 8),
            "layer 'c' expects a channel count divisible by groups=2, got 3",
        ),
        (
            L.Reshape((5, 5), name="r"),
            (4, 6),
            "layer 'r' expects 25 elements to reshape to (5, 5), got shape (4, 6)",
        ),
        (L.LSTM(3, name="l"), (7,), "layer 'l' expects sequences of shape (steps, features), got shape (7,)"),
        (L.MaxPool2D(2, name="p"), (4,), "layer 'p' expects samples of shape (channels, height, width)"),
        (L.BatchNorm(name="bn"), (2, 2, 2, 2), "layer 'bn' expects samples of shape (features,)"),
    ],
)
def test_shape_errors(layer, shape, message):
    with pytest.raises(LayerShapeError) as info:
        layer.output_shape_for(shape)
    assert message in str(info.value)


def test_merge_shape_errors_and_counts():
    with pytest.raises(
        LayerShapeError, match=r"layer 'add' expects inputs of one shape, \(8,\) like input 0, got \(16,\)"
    ):
        L.Add(name="add").output_shape_for([(8,), (16,)])
    with pytest.raises(LayerError, match="layer 'add' takes at least 2 inputs, got 1"):
        L.Add(name="add").output_shape_for([(8,)])
    with pytest.raises(LayerShapeError, match="layer 'cat' expects inputs matching"):
        L.Concatenate(name="cat").output_shape_for([(2, 3), (4, 3)])
    with pytest.raises(LayerShapeError, match="initial state of shape"):
        L.GRU(3, name="g").output_shape_for([(4, 2), (5,)])


def test_built_layer_rejects_other_shapes():
    fc = L.Dense(10, name="fc2")
    fc.build((256,))
    with pytest.raises(LayerShapeError, match="layer 'fc2' expects 256 inputs, got 784"):
        fc.build((784,))


def test_lazy_build_on_first_call_and_spec_keys():
    fc = L.Dense(4, activation="relu", name="fc", init={"weights": HeNormal(gain=2.0)}, trainable=False)
    assert not fc.built and fc.parameters == {}
    y = fc(np.ones((2, 3), np.float32))
    assert fc.built and y.shape == (2, 4) and fc.parameters["weights"].shape == (3, 4)
    assert not fc.parameters["weights"].requires_grad
    spec = fc.spec()
    assert spec == {
        "type": "dense",
        "name": "fc",
        "units": 4,
        "activation": "relu",
        "use_bias": True,
        "init": {"weights": {"type": "he_normal", "gain": 2.0}},
        "trainable": False,
    }
    assert Layer.from_spec(json.loads(json.dumps(spec))).spec() == spec


def test_from_spec_errors():
    with pytest.raises(
        LayerError, match=r"Unknown layer type 'densse' for node 'fc1'\. Expected one of: .*dense"
    ):
        Layer.from_spec({"type": "densse", "name": "fc1", "units": 3})
    with pytest.raises(LayerError, match="Unknown argument `colour` for layer 'fc1' of type 'dense'"):
        Layer.from_spec({"type": "dense", "name": "fc1", "units": 3, "colour": "red"})
    with pytest.raises(LayerError, match="Spec of type 'conv2d' given to Dense.from_spec"):
        L.Dense.from_spec({"type": "conv2d", "name": "c", "filters": 3, "kernel_size": 3})


def test_loss_heads():
    rng = np.random.default_rng(0)
    logits = engine.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    head = L.SoftmaxCrossEntropy(name="loss")
    targets = np.array([0, 2, 1, 2])
    loss = head.loss(logits, targets)
    shifted = logits.data - logits.data.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    assert loss.item() == pytest.approx(-logp[np.arange(4), targets].mean())
    np.testing.assert_allclose(head.predict(logits).data.sum(axis=1), 1.0)
    # sequences: steps fold into the batch
    seq = engine.tensor(rng.standard_normal((2, 5, 3)))
    assert head.loss(seq, rng.integers(0, 3, (2, 5))).shape == ()
    mse = L.SquaredError(name="mse").loss(engine.tensor(np.array([[1.0, 2.0]])), np.array([[0.0, 0.0]]))
    assert mse.item() == pytest.approx(2.5)
    bce = L.BinaryCrossEntropy(name="bce")
    assert bce.loss(engine.tensor(np.array([[0.0]])), np.array([[1.0]])).item() == pytest.approx(np.log(2))
    assert bce.predict(engine.tensor(np.array([0.0]))).item() == 0.5
