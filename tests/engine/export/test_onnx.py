"""ONNX export: every exportable layer type round-trips through onnx.checker and onnxruntime.

Each case builds a small network with random (not default) parameters, exports it, and compares
onnxruntime's outputs with the engine's on random inputs (max abs difference <= 1e-4).
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx_cases import CASES  # noqa: E402

from engine.export import ExportError, exportable_types, to_onnx, verify  # noqa: E402
from engine.export.builder import OPSET  # noqa: E402
from engine.layers import Layer  # noqa: E402
from engine.network import Network  # noqa: E402

TOLERANCE = 1e-4


def _randomise(net: Network, seed: int) -> None:
    """Non-trivial parameters and running statistics (biases and BatchNorm buffers start at 0 and 1)."""
    rng = np.random.default_rng(seed)
    for p in net.parameters().values():
        p.data[...] = rng.uniform(-0.5, 0.5, size=p.shape).astype(p.data.dtype)
    for key, buf in net.buffers().items():
        low = 0.5 if key.endswith("var") else -0.5
        buf[...] = rng.uniform(low, low + 1.0, size=buf.shape).astype(buf.dtype)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_round_trip_matches_onnxruntime(case, tmp_path):
    net = case.build()
    _randomise(net, seed=len(case.id))
    path = tmp_path / f"{case.id}.onnx"
    model = to_onnx(net, path, probabilities=case.probabilities)
    loaded = onnx.load(path)
    onnx.checker.check_model(loaded, full_check=True)
    assert loaded.opset_import[0].version == OPSET
    ops = {node.op_type for node in loaded.graph.node}
    assert case.expect_ops <= ops, f"expected ONNX ops {case.expect_ops}, the model has {ops}"
    assert [i.name for i in loaded.graph.input] == net.input_names
    diff = verify(net, path, batch=3, seed=1, probabilities=case.probabilities)
    assert diff <= TOLERANCE
    assert model.graph.name == loaded.graph.name


def test_every_exportable_type_has_a_round_trip_case():
    covered = {t for case in CASES for t in case.types}
    missing = sorted(set(exportable_types()) - covered)
    assert not missing, f"exportable layer types without a round-trip test: {missing}"


def test_batch_axis_is_free(tmp_path):
    net = CASES[0].build()
    path = tmp_path / "m.onnx"
    to_onnx(net, path)
    x = (
        np.random.default_rng(0)
        .standard_normal((17, *net.input_shapes[net.input_names[0]]))
        .astype(np.float32)
    )
    assert verify(net, path, inputs=x) <= TOLERANCE


class _Mystery(Layer):
    """A layer type the exporter does not know (not registered: no ``type_name`` in the class body)."""

    def forward(self, x, training=False):
        return x


def test_unexportable_layer_names_the_layer(tmp_path):
    from engine.layers import Dense, Input

    mystery = _Mystery(name="odd_one")
    mystery.type_name = "mystery"
    net = Network(Input((4,), name="x") + Dense(3, name="fc") + mystery)
    path = tmp_path / "m.onnx"
    with pytest.raises(ExportError, match="layer 'odd_one' of type 'mystery' cannot be exported") as info:
        to_onnx(net, path)
    assert info.value.layer == "odd_one"
    assert not path.exists()
    assert not list(tmp_path.iterdir()), "no temporary file left behind"


def test_not_a_network_is_refused(tmp_path):
    with pytest.raises(ExportError, match="expects an engine Network"):
        to_onnx(object(), tmp_path / "m.onnx")


def test_rnn_activation_onnx_lacks_names_the_layer(tmp_path):
    from engine.layers import Input, SimpleRNN

    net = Network(Input((3, 2), name="x") + SimpleRNN(4, activation="selu", name="odd_rnn"))
    with pytest.raises(ExportError, match="layer 'odd_rnn': ONNX's RNN has no 'selu' activation"):
        to_onnx(net, tmp_path / "m.onnx")


@pytest.mark.gpu
def test_export_of_a_network_living_on_cuda(tmp_path):
    from engine.backend import cuda_status

    available, why = cuda_status()
    if not available:
        pytest.skip(why)
    case = next(c for c in CASES if c.id == "pool_norm")  # parameters and BatchNorm buffers on the GPU
    net = case.build()
    _randomise(net, seed=3)
    net.to_backend("cuda")
    assert verify(net, to_onnx(net, tmp_path / "cuda.onnx"), batch=3) <= TOLERANCE
