"""Initialisers: statistics, seeding, specs, user functions and pattern assignment."""

import json

import numpy as np
import pytest

import engine
from engine import init

ALL = [
    init.Constant(0.5),
    init.Uniform(-0.2, 0.3),
    init.Gaussian(0.1, 0.02),
    init.XavierUniform(),
    init.XavierNormal(gain=2.0),
    init.HeUniform(),
    init.HeNormal(),
    init.LeCunUniform(),
    init.LeCunNormal(),
    init.Orthogonal(gain=0.5),
]


@pytest.mark.parametrize("initialiser", ALL, ids=lambda i: i.type_name)
def test_seeded_and_spec_round_trip(initialiser):
    a = initialiser((64, 32), np.random.default_rng(3))
    b = initialiser((64, 32), np.random.default_rng(3))
    assert a.dtype == np.float64 and a.shape == (64, 32)
    np.testing.assert_array_equal(a, b)
    spec = json.loads(json.dumps(initialiser.spec()))
    again = init.from_spec(spec)
    assert again == initialiser and again.spec() == spec
    np.testing.assert_array_equal(again((64, 32), np.random.default_rng(3)), a)


@pytest.mark.parametrize(
    "cls,expected_var",
    [
        (init.XavierUniform, 2 / (300 + 200)),
        (init.XavierNormal, 2 / (300 + 200)),
        (init.HeUniform, 2 / 300),
        (init.HeNormal, 2 / 300),
        (init.LeCunUniform, 1 / 300),
        (init.LeCunNormal, 1 / 300),
    ],
)
def test_variance_scaling(cls, expected_var):
    w = cls()((300, 200), np.random.default_rng(0))
    assert abs(w.mean()) < 0.01 * np.sqrt(expected_var) * 10
    assert w.var() == pytest.approx(expected_var, rel=0.03)


def test_uniform_bounds_and_fans():
    w = init.HeUniform()((8, 4, 3, 3), np.random.default_rng(0))  # conv kernel (out, in, kh, kw)
    limit = np.sqrt(6 / (4 * 9))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.9 * limit
    assert init.compute_fans((8, 4, 3, 3)) == (36, 72)
    assert init.compute_fans((5, 7)) == (5, 7)
    # explicit fans win over the shape's
    w = init.HeUniform()((10, 10), np.random.default_rng(0), fan_in=10000, fan_out=1)
    assert np.abs(w).max() <= np.sqrt(6 / 10000)


@pytest.mark.parametrize("shape", [(20, 5), (5, 20), (6, 2, 3)])
def test_orthogonal(shape):
    w = init.Orthogonal()(shape, np.random.default_rng(1)).reshape(shape[0], -1)
    small = min(w.shape)
    gram = w @ w.T if w.shape[0] == small else w.T @ w
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)


def test_aliases_and_coercion():
    assert init.GlorotUniform is init.XavierUniform and init.KaimingNormal is init.HeNormal
    assert init.from_spec({"type": "glorot_uniform"}) == init.XavierUniform()
    assert init.as_initialiser(0) == init.Constant(0.0)
    assert init.as_initialiser("he_normal") == init.HeNormal()
    assert init.as_initialiser({"type": "gaussian", "std": 1.0}) == init.Gaussian(0.0, 1.0)


def test_bad_arguments_and_specs():
    with pytest.raises(
        ValueError, match=r"Invalid value for `std` in initialiser Gaussian\. Expected a positive"
    ):
        init.Gaussian(std=-1)
    with pytest.raises(ValueError, match="Invalid value for `high`"):
        init.Uniform(1, 0)
    with pytest.raises(ValueError, match="Unknown initialiser type 'bogus'"):
        init.from_spec({"type": "bogus"})
    with pytest.raises(ValueError, match="Invalid initialiser spec"):
        init.from_spec({"type": "constant", "colour": 3})
    with pytest.raises(ValueError, match="Unknown initialiser function 'nope'"):
        init.from_spec({"type": "function", "name": "nope"})
    with pytest.raises(ValueError, match="at least 2 axes"):
        init.Orthogonal()((5,), np.random.default_rng(0))


def test_user_function_registered_and_plain():
    def ramp(shape, rng):
        return np.arange(np.prod(shape)).reshape(shape)

    plain = init.as_initialiser(ramp)
    np.testing.assert_array_equal(plain((2, 3), np.random.default_rng(0)), np.arange(6.0).reshape(2, 3))
    init.register_function("test_ramp", ramp)
    f = init.FunctionInitialiser("test_ramp")
    assert f.spec() == {"type": "function", "name": "test_ramp"}
    assert init.from_spec(f.spec())((3,), None).tolist() == [0, 1, 2]


def test_pattern_assignment_most_specific_wins():
    params = {
        name: engine.tensor(np.zeros((3, 4), np.float32), requires_grad=True)
        for name in ["fc1.weights", "fc1.bias", "conv1.weights", "conv1.bias", "conv2.bias"]
    }
    rules = {
        "conv*.bias": init.Constant(2),
        "*.*": init.Constant(1),
        "conv1.bias": init.Constant(3),
        "network.layers.fc1.weights": init.Constant(4),
    }
    used = init.initialise(params, rules, np.random.default_rng(0))
    values = {k: float(v.data[0, 0]) for k, v in params.items()}
    assert values == {"fc1.weights": 4, "fc1.bias": 1, "conv1.weights": 1, "conv1.bias": 3, "conv2.bias": 2}
    assert used["conv2.bias"] == init.Constant(2)
    assert params["fc1.weights"].data.dtype == np.float32
    assert init.specificity("conv*.bias") > init.specificity("*.bias")
    spec = json.loads(json.dumps(init.rules_to_spec(rules)))
    assert init.rules_from_spec(spec) == {k: init.as_initialiser(v) for k, v in rules.items()}


def test_defaults_used_when_no_rule_matches():
    params = {"fc1.weights": engine.tensor(np.zeros((30, 20))), "fc1.bias": engine.tensor(np.ones(20))}
    init.initialise(
        params,
        {"*.weights": init.XavierUniform()},
        np.random.default_rng(0),
        defaults={"fc1.bias": init.Constant(0.25)},
    )
    assert np.all(params["fc1.bias"].data == 0.25)
    assert params["fc1.weights"].data.std() > 0
