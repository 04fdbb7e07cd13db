"""Fourier features and sine (SIREN) layers: initialisation, the fixed projection, errors, checkpoints.

Shapes, spec round trips and float64 gradients run through the shared layer test
(``test_layer_contract.py``); ONNX through ``tests/engine/export``.
"""

import json
import math

import numpy as np
import pytest

from engine import checkpoint
from engine import layers as L
from engine.init import SirenUniform, from_spec
from engine.layers import LayerError
from engine.network import Network
from engine.optim import Adam
from engine.training import Trainer


def test_positional_encoding_is_nerfs():
    layer = L.FourierFeatures("positional", frequencies=3, include_input=True, name="pe")
    x = np.array([[0.25, -0.5]])
    y = layer(x).numpy()
    angles = np.pi * np.array([0.25, 0.5, 1.0, -0.5, -1.0, -2.0])  # 2^k pi x_j, axis by axis
    np.testing.assert_allclose(y, [[0.25, -0.5, *np.sin(angles), *np.cos(angles)]], rtol=1e-6, atol=1e-7)


def test_gaussian_projection_follows_the_spec_not_the_network_seed():
    spec = {"type": "fourier_features", "name": "ff", "features": 2000, "scale": 10.0, "seed": 7}
    a, b = L.Layer.from_spec(spec), L.Layer.from_spec(json.loads(json.dumps(spec)))
    a.build((2,), np.random.default_rng(0), np.float64)
    b.build((2,), np.random.default_rng(99), np.float64)
    p = a.buffers["projection"]
    np.testing.assert_array_equal(p, b.buffers["projection"])
    assert p.shape == (2, 2000) and a.parameters == {}  # a buffer: never trained
    assert abs(p.std() / (2 * math.pi) - 10.0) < 0.5  # frequencies in cycles per unit have std `scale`
    other = L.Layer.from_spec({**spec, "seed": 8})
    other.build((2,), None, np.float64)
    assert not np.allclose(other.buffers["projection"], p)


def test_siren_initialisation_follows_the_paper():
    rng = np.random.default_rng(0)
    first = SirenUniform(30.0, first=True)((64, 256), rng)
    hidden = SirenUniform(30.0)((64, 256), rng)
    assert 0.9 / 64 < np.abs(first).max() <= 1 / 64
    limit = math.sqrt(6 / 64) / 30
    assert 0.9 * limit < np.abs(hidden).max() <= limit
    assert from_spec(SirenUniform(12.0, True).spec()) == SirenUniform(12.0, True)

    layer = L.Siren(64, omega_0=30.0, name="s")
    layer.build((64,), np.random.default_rng(1), np.float64)
    assert np.abs(layer.parameters["weights"].numpy()).max() <= limit
    assert 0.7 / 8 < np.abs(layer.parameters["bias"].numpy()).max() <= 1 / 8  # U(-1/sqrt(in), 1/sqrt(in))


def test_sine_network_keeps_unit_spread_through_depth():
    # SIREN's point: with this initialisation, activations neither vanish nor saturate layer after layer.
    x = np.random.default_rng(0).uniform(-1, 1, (4096, 2))
    net = Network(
        L.Input((2,), name="xy")
        + L.Siren(256, first=True, name="s1")
        + L.Siren(256, name="s2")
        + L.Siren(256, name="s3")
        + L.Siren(256, name="s4"),
        seed=0,
    )
    y = net(x).numpy()
    assert 0.6 < float(np.std(y)) < 0.8  # arcsine distribution on [-1, 1]: std 1/sqrt(2)


@pytest.mark.parametrize(
    "make,field",
    [
        (lambda: L.FourierFeatures("random", name="ff"), "mode"),
        (lambda: L.FourierFeatures(features=10**6, name="ff"), "features"),
        (lambda: L.FourierFeatures(scale=-1.0, name="ff"), "scale"),
        (lambda: L.FourierFeatures(scale=float("nan"), name="ff"), "scale"),
        (lambda: L.FourierFeatures("positional", frequencies=40, name="ff"), "frequencies"),
        (lambda: L.Siren(0, name="sine"), "units"),
        (lambda: L.Siren(8, omega_0=0, name="sine"), "omega_0"),
        (lambda: L.Siren(8, first="yes", name="sine"), "first"),
    ],
)
def test_bad_arguments_name_the_field_and_the_layer(make, field):
    with pytest.raises(LayerError) as err:
        make()
    assert f"`{field}`" in str(err.value) and ("'ff'" in str(err.value) or "'sine'" in str(err.value))


def _painter(seed=0):
    arch = (
        L.Input((2,), name="xy")
        + L.FourierFeatures(features=16, scale=3.0, seed=5, name="ff")
        + L.Siren(16, first=True, name="s1")
        + L.Siren(16, name="s2")
        + L.Dense(3, name="rgb")
        + L.SquaredError(name="loss")
    )
    return Trainer(Network(arch, seed=seed), optimiser=Adam(1e-3), batch_size=16, seed=seed)


def test_checkpoint_round_trip_restores_parameters_and_projection(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (64, 2)).astype(np.float32)
    y = rng.uniform(0, 1, (64, 3)).astype(np.float32)
    trainer = _painter()
    trainer.fit((x, y), epochs=2)
    path = checkpoint.save(trainer, tmp_path / "painter.h5")
    want = trainer.predict(x)

    fresh = _painter(seed=1)
    fresh.predict(x[:1])  # built, with other parameters
    fresh.network.layers["ff"].buffers["projection"][...] = 0.0  # the file, not the seed, must restore it
    checkpoint.restore(fresh, path)
    np.testing.assert_array_equal(
        fresh.network.layers["ff"].buffers["projection"], trainer.network.layers["ff"].buffers["projection"]
    )
    np.testing.assert_array_equal(fresh.predict(x), want)
    assert fresh.network.to_spec() == trainer.network.to_spec()
