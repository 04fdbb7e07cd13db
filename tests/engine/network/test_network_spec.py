"""Network specs: exact round trips, stacks and graphs, bad specs with their errors, validate_spec."""

import copy
import json

import numpy as np
import pytest

from engine import layers as L
from engine.init import Constant, HeNormal
from engine.network import FORMAT, Network, NetworkError, validate_spec


def mlp_spec():
    return {
        "format": FORMAT,
        "nodes": [
            {"type": "input", "name": "x", "shape": [28, 28], "dtype": "float"},
            {"type": "flatten", "name": "flatten1", "inputs": ["x"]},
            {
                "type": "dense",
                "name": "fc1",
                "inputs": ["flatten1"],
                "units": 256,
                "activation": "relu",
                "use_bias": True,
            },
            {"type": "dropout", "name": "drop", "inputs": ["fc1"], "rate": 0.2},
            {
                "type": "dense",
                "name": "fc2",
                "inputs": ["drop"],
                "units": 10,
                "activation": None,
                "use_bias": True,
            },
            {"type": "softmax_cross_entropy", "name": "loss", "inputs": ["fc2"], "label_smoothing": 0.0},
        ],
        "inputs": ["x"],
        "outputs": ["loss"],
    }


def residual_spec():
    return {
        "format": FORMAT,
        "nodes": [
            {"type": "input", "name": "x", "shape": [8], "dtype": "float"},
            {
                "type": "dense",
                "name": "a",
                "inputs": ["x"],
                "units": 8,
                "activation": "relu",
                "use_bias": True,
            },
            {
                "type": "dense",
                "name": "b",
                "inputs": ["x"],
                "units": 8,
                "activation": "tanh",
                "use_bias": False,
                "init": {"weights": {"type": "he_normal", "gain": 1.0}},
            },
            {"type": "add", "name": "sum", "inputs": ["a", "b", "x"]},
            {
                "type": "dense",
                "name": "out",
                "inputs": ["sum"],
                "units": 1,
                "activation": None,
                "use_bias": True,
                "trainable": False,
            },
        ],
        "inputs": ["x"],
        "outputs": ["out", "a"],
        "init": {"*.bias": {"type": "constant", "value": 0.5}},
    }


@pytest.mark.parametrize("make", [mlp_spec, residual_spec])
def test_canonical_spec_round_trips_exactly(make):
    spec = make()
    net = Network.from_spec(copy.deepcopy(spec))
    assert net.to_spec() == spec
    again = Network.from_spec(json.loads(json.dumps(net.to_spec())))
    assert json.dumps(again.to_spec(), sort_keys=True) == json.dumps(spec, sort_keys=True)


def test_spec_with_defaults_omitted_is_completed():
    spec = {
        "format": FORMAT,
        "nodes": [
            {"type": "input", "name": "x", "shape": [4]},
            {"type": "dense", "name": "fc", "inputs": ["x"], "units": 2},
        ],
    }
    out = Network.from_spec(spec).to_spec()
    assert out["inputs"] == ["x"] and out["outputs"] == ["fc"]
    assert out["nodes"][1] == {
        "type": "dense",
        "name": "fc",
        "inputs": ["x"],
        "units": 2,
        "activation": None,
        "use_bias": True,
    }
    assert Network.from_spec(out).to_spec() == out


def test_linear_spec_may_leave_inputs_out():
    spec = {
        "format": FORMAT,
        "nodes": [
            {"type": "input", "name": "x", "shape": [4]},
            {"type": "dense", "name": "h", "units": 3},
            {"type": "dense", "name": "out", "units": 2},
        ],
    }
    net = Network.from_spec(spec)
    assert net.inputs_of("out") == ["h"] and net.inputs_of("h") == ["x"]
    assert net.to_spec()["nodes"][2]["inputs"] == ["h"]


def test_linear_stack_with_repeated_blocks():
    arch = (
        L.Input((28, 28)) + L.Flatten() + 3 * (L.Dense(16, activation="relu") + L.Dropout(0.1)) + L.Dense(10)
    )
    net = Network(arch)
    assert list(net.layers) == [
        "input1",
        "flatten1",
        "dense1",
        "dropout1",
        "dense2",
        "dropout2",
        "dense3",
        "dropout3",
        "dense4",
    ]
    named = L.Input((4,), name="x") + 2 * L.Dense(4, name="fc") + L.Dense(1, name="head")
    assert list(Network(named).layers) == ["x", "fc_1", "fc_2", "head"]
    spec = net.to_spec()
    assert [n.get("inputs") for n in spec["nodes"]][:3] == [None, ["input1"], ["flatten1"]]
    assert Network.from_spec(spec).to_spec() == spec
    with pytest.raises(L.LayerError, match="Invalid repeat count"):
        0 * L.Dense(3)
    with pytest.raises(L.LayerError, match="must start with an Input layer"):
        Network(L.Dense(3) + L.Dense(3))


def test_functional_graph_equals_its_spec():
    x = L.Input((6,), name="x")
    y = L.Input((3,), name="y")
    h = L.Dense(6, activation="relu", name="h")(x)
    merged = L.Add(name="res")([x, h])
    cat = L.Concatenate(name="cat")([merged, y])
    out = L.Dense(2, name="out")(cat)
    net = Network(outputs=[out])
    spec = net.to_spec()
    assert spec["inputs"] == ["x", "y"] and spec["outputs"] == ["out"]
    assert [n["name"] for n in spec["nodes"]] == ["x", "h", "res", "y", "cat", "out"]
    assert net.output_shapes == {"out": (2,)} and net.input_shapes == {"x": (6,), "y": (3,)}
    assert Network.from_spec(spec).to_spec() == spec
    with pytest.raises(L.LayerError, match="already connected"):
        h_layer = net.layers["h"]
        h_layer(x)


def test_init_rules_and_layer_init_in_spec():
    net = Network.from_spec(residual_spec(), seed=3)
    assert np.all(net.parameters()["a.bias"].data == 0.5)
    assert not net.parameters()["out.weights"].requires_grad
    net2 = Network(
        L.Input((4,)) + L.Dense(3, name="conv1") + L.Dense(2, name="fc"),
        init={"*.weights": HeNormal(), "conv*.bias": Constant(0.1)},
    )
    assert net2.to_spec()["init"] == {
        "*.weights": {"type": "he_normal", "gain": 1.0},
        "conv*.bias": {"type": "constant", "value": 0.1},
    }
    assert np.all(net2.parameters()["conv1.bias"].data == np.float32(0.1))
    assert np.all(net2.parameters()["fc.bias"].data == 0)


def _nodes_with(*nodes, outputs=None, inputs=None):
    spec = {
        "format": FORMAT,
        "nodes": [{"type": "input", "name": "x", "shape": [784], "dtype": "float"}, *nodes],
    }
    if outputs is not None:
        spec["outputs"] = outputs
    if inputs is not None:
        spec["inputs"] = inputs
    return spec


def _fc(name, src, units=4, **kw):
    return {
        "type": "dense",
        "name": name,
        "inputs": [src] if isinstance(src, str) else src,
        "units": units,
        **kw,
    }


BAD_SPECS = [
    (
        "shape_mismatch",
        {
            "format": FORMAT,
            "nodes": [
                {"type": "input", "name": "x", "shape": [28, 28]},
                {"type": "flatten", "name": "flatten1", "inputs": ["x"]},
                {"type": "dense", "name": "fc1", "inputs": ["flatten1"], "units": 4},
                {"type": "reshape", "name": "r", "inputs": ["fc1"], "target_shape": [3, 3]},
            ],
        },
        "r",
        "layer 'r' expects 9 elements to reshape to (3, 3), got shape (4,) (4 elements) from 'fc1'",
    ),
    (
        "cycle",
        _nodes_with(
            {"type": "add", "name": "a", "inputs": ["x", "c"]},
            _fc("b", "a", 784),
            _fc("c", "b", 784),
            outputs=["c"],
        ),
        "a",
        "The network has a cycle: 'a' -> 'b' -> 'c' -> 'a'",
    ),
    ("self_cycle", _nodes_with(_fc("a", "a")), "a", "Node 'a' reads itself"),
    (
        "dangling",
        _nodes_with(_fc("fc1", "x"), _fc("fc2", "fc9")),
        "fc2",
        "Node 'fc2' reads input 'fc9', which is not a node of the network",
    ),
    (
        "duplicate",
        _nodes_with(_fc("fc1", "x"), _fc("fc1", "fc1")),
        "fc1",
        "Duplicate node name 'fc1' (nodes 1 and 2): names must be unique",
    ),
    (
        "unknown_type",
        _nodes_with({"type": "densse", "name": "fc1", "inputs": ["x"], "units": 3}),
        "fc1",
        "Unknown layer type 'densse' for node 'fc1'. Expected one of:",
    ),
    (
        "bad_argument",
        _nodes_with(_fc("fc1", "x", units=-3)),
        "fc1",
        "Invalid value for `units` in layer 'fc1'. Expected a positive integer. Received: -3",
    ),
    (
        "unknown_argument",
        _nodes_with(_fc("fc1", "x", colour="red")),
        "fc1",
        "Unknown argument `colour` for layer 'fc1'",
    ),
    (
        "too_few_inputs",
        _nodes_with({"type": "add", "name": "add1", "inputs": ["x"]}),
        "add1",
        "layer 'add1' takes 2 to 64 input(s), got 1",
    ),
    (
        "no_inputs",
        _nodes_with({"type": "dense", "name": "fc", "units": 3, "inputs": []}),
        "fc",
        "layer 'fc' takes 1 input(s), got 0 (no 'inputs' given)",
    ),
    (
        "merge_shapes",
        _nodes_with(
            _fc("a", "x", 8), _fc("b", "x", 16), {"type": "add", "name": "add1", "inputs": ["a", "b"]}
        ),
        "add1",
        "layer 'add1' expects inputs of one shape, (8,) like input 0, got (16,) from 'b'",
    ),
    (
        "unconnected",
        _nodes_with(_fc("a", "x"), _fc("b", "x"), outputs=["a"]),
        "b",
        "Node 'b' is not connected to any network output ['a']",
    ),
    (
        "unknown_output",
        _nodes_with(_fc("a", "x"), outputs=["z"]),
        None,
        "Network output 'z' is not a node of the network",
    ),
    (
        "input_not_listed",
        _nodes_with(_fc("a", "x"), inputs=[]),
        "x",
        "Input node 'x' is missing from the network's 'inputs'",
    ),
    (
        "two_losses",
        _nodes_with(
            _fc("a", "x"),
            {"type": "squared_error", "name": "l1", "inputs": ["a"]},
            {"type": "squared_error", "name": "l2", "inputs": ["a"]},
        ),
        "l2",
        "A network can have one loss head, this one has 2",
    ),
    (
        "loss_not_last",
        _nodes_with(_fc("a", "x"), {"type": "squared_error", "name": "l1", "inputs": ["a"]}, _fc("b", "l1")),
        "l1",
        "Loss head 'l1' must be a network output, but 'b' reads it",
    ),
    (
        "int_into_dense",
        {
            "format": FORMAT,
            "nodes": [
                {"type": "input", "name": "tok", "shape": [5], "dtype": "int"},
                {"type": "flatten", "name": "f", "inputs": ["tok"]},
                {"type": "dense", "name": "fc", "inputs": ["f"], "units": 2},
            ],
        },
        "fc",
        "layer 'fc' expects float values, got integer indices from 'f' (add an Embedding layer",
    ),
    (
        "float_into_embedding",
        _nodes_with({"type": "embedding", "name": "emb", "inputs": ["x"], "input_dim": 5, "output_dim": 2}),
        "emb",
        "layer 'emb' expects integer token indices, got float values from 'x'",
    ),
    ("bad_format", {"format": "keras", "nodes": []}, None, "Unsupported network spec format 'keras'"),
    ("no_nodes", {"format": FORMAT, "nodes": []}, None, "A network spec needs a non-empty list of 'nodes'"),
    (
        "bad_init",
        _nodes_with(_fc("a", "x")) | {"init": {"*.weights": {"type": "zebra"}}},
        None,
        "Invalid 'init' rules in the network spec: Unknown initialiser type 'zebra'",
    ),
]


@pytest.mark.parametrize("spec,layer,message", [c[1:] for c in BAD_SPECS], ids=[c[0] for c in BAD_SPECS])
def test_bad_specs_name_the_layer(spec, layer, message):
    with pytest.raises(NetworkError) as info:
        Network.from_spec(spec)
    assert message in str(info.value)
    assert info.value.layer == layer
    ok, nodes = validate_spec(spec)
    assert not ok
    errors = [v["error"] for v in nodes.values() if v["error"]]
    assert any(message in e for e in errors)
    if layer is not None:
        assert message in nodes[layer]["error"]


def test_built_layer_mismatch_names_source():
    fc2 = L.Dense(10, name="fc2")
    fc2.build((256,))
    with pytest.raises(NetworkError, match="layer 'fc2' expects 256 inputs, got 784 from 'flatten1'"):
        Network(L.Input((28, 28)) + L.Flatten(name="flatten1") + fc2)


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        3,
        "spec",
        [],
        {"format": FORMAT, "nodes": [None, 5]},
        {"format": FORMAT, "nodes": [{"type": "input"}]},
        {"format": FORMAT, "nodes": [{"type": "input", "name": "x", "shape": "big"}]},
        {
            "format": FORMAT,
            "nodes": [
                {"type": "input", "name": "x", "shape": [2]},
                {"type": "dense", "name": "d", "inputs": "x"},
            ],
        },
        {"format": FORMAT, "nodes": [{"type": "input", "name": "x", "shape": [2]}], "outputs": 7},
    ],
)
def test_validate_spec_never_raises(garbage):
    ok, info = validate_spec(garbage)
    assert ok is False and isinstance(info, dict)
    assert any(v["error"] for v in info.values())


def test_validate_spec_reports_every_node():
    ok, info = validate_spec(mlp_spec())
    assert ok
    assert info["fc1"] == {
        "output_shape": [256],
        "params": 784 * 256 + 256,
        "flops": 2 * 784 * 256 + 256 + 256,
        "error": None,
    }
    assert info["loss"]["output_shape"] == [10]
    bad = mlp_spec()
    bad["nodes"][2]["units"] = 0
    ok, info = validate_spec(bad)
    assert not ok and "Invalid value for `units` in layer 'fc1'" in info["fc1"]["error"]
    assert info["fc2"]["output_shape"] is None and info["fc2"]["error"] is None  # downstream of the failure
    assert info["flatten1"]["output_shape"] == [784]
