"""Property test: for random graph specs, validate_spec and Network agree, and valid specs round-trip."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.network import FORMAT, Network, NetworkError, validate_spec


@st.composite
def graph_specs(draw):
    width = draw(st.integers(1, 4))
    nodes = [{"type": "input", "name": "x", "shape": [width], "dtype": "float"}]
    for i in range(draw(st.integers(1, 6))):
        names = [n["name"] for n in nodes]
        kind = draw(st.sampled_from(["dense", "add", "concatenate", "multiply", "layer_norm"]))
        name = f"n{i}"
        if kind == "dense":
            node = {
                "type": "dense",
                "name": name,
                "inputs": [draw(st.sampled_from(names))],
                "units": draw(st.integers(1, 4)),
                "activation": draw(st.sampled_from([None, "relu", "tanh"])),
                "use_bias": draw(st.booleans()),
            }
        elif kind == "layer_norm":
            node = {
                "type": "layer_norm",
                "name": name,
                "inputs": [draw(st.sampled_from(names))],
                "epsilon": 1e-5,
            }
        else:
            srcs = draw(st.lists(st.sampled_from(names), min_size=2, max_size=3))
            node = {"type": kind, "name": name, "inputs": srcs}
            if kind == "concatenate":
                node["axis"] = -1
        nodes.append(node)
    return {"format": FORMAT, "nodes": nodes, "inputs": ["x"], "outputs": [nodes[-1]["name"]]}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph_specs())
def test_validator_and_network_agree(spec):
    ok, info = validate_spec(spec)
    try:
        net = Network.from_spec(spec, dtype="float64")
    except NetworkError as exc:
        assert not ok
        assert any(v["error"] and str(exc) in v["error"] for v in info.values())
        return
    assert ok, info
    assert net.to_spec() == spec
    out = net(np.ones((2, *spec["nodes"][0]["shape"])))
    name = spec["outputs"][0]
    assert out.shape == (2, *info[name]["output_shape"])
    assert net.param_count() == sum(v["params"] for v in info.values())
