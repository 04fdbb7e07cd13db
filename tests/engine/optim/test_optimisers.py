"""Each optimiser's first two updates against a hand computation (float64), plus clipping, decay, freezing."""

import math

import numpy as np
import pytest

from engine import tensor
from engine.optim import (
    SGD,
    AdaDelta,
    AdaGrad,
    Adam,
    Adamax,
    AdamW,
    Lion,
    Momentum,
    Nesterov,
    RMSProp,
    from_spec,
    global_norm,
)

P0 = np.array([1.0, -2.0, 0.5])
G1 = np.array([0.1, -0.3, 0.2])
G2 = np.array([-0.2, 0.4, 0.05])


def run_two(opt, p0=P0, grads=(G1, G2)):
    p = tensor(p0.copy(), requires_grad=True)
    out = []
    for g in grads:
        p.grad = tensor(g.copy())
        opt.step({"w": p})
        out.append(p.data.copy())
    return out


def hand(update, p0=P0, grads=(G1, G2)):
    """``update(p, g, t, state) -> p`` applied twice with plain numpy."""
    p, state, out = p0.copy(), {}, []
    for t, g in enumerate(grads, start=1):
        p = update(p, g, t, state)
        out.append(p.copy())
    return out


def sgd(p, g, t, s, lr=0.1):
    return p - lr * g


def momentum(p, g, t, s, lr=0.1, mu=0.9):
    s["v"] = mu * s.get("v", 0) + g
    return p - lr * s["v"]


def nesterov(p, g, t, s, lr=0.1, mu=0.9):
    s["v"] = mu * s.get("v", 0) + g
    return p - lr * (g + mu * s["v"])


def adagrad(p, g, t, s, lr=0.1, eps=1e-8):
    s["G"] = s.get("G", 0) + g * g
    return p - lr * g / (np.sqrt(s["G"]) + eps)


def rmsprop(p, g, t, s, lr=0.01, rho=0.9, eps=1e-8):
    s["v"] = rho * s.get("v", 0) + (1 - rho) * g * g
    return p - lr * g / (np.sqrt(s["v"]) + eps)


def adadelta(p, g, t, s, lr=1.0, rho=0.95, eps=1e-6):
    s["Eg"] = rho * s.get("Eg", 0) + (1 - rho) * g * g
    dx = np.sqrt(s.get("Ed", 0) + eps) / np.sqrt(s["Eg"] + eps) * g
    s["Ed"] = rho * s.get("Ed", 0) + (1 - rho) * dx * dx
    return p - lr * dx


def adam(p, g, t, s, lr=0.01, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
    p = p - lr * wd * p
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
    mhat, vhat = s["m"] / (1 - b1**t), s["v"] / (1 - b2**t)
    return p - lr * mhat / (np.sqrt(vhat) + eps)


def adamax(p, g, t, s, lr=0.01, b1=0.9, b2=0.999, eps=1e-8):
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["u"] = np.maximum(b2 * s.get("u", 0), np.abs(g))
    return p - lr / (1 - b1**t) * s["m"] / (s["u"] + eps)


def lion(p, g, t, s, lr=0.01, b1=0.9, b2=0.99, wd=0.1):
    update = np.sign(b1 * s.get("m", 0) + (1 - b1) * g)
    p = p - lr * (update + wd * p)
    s["m"] = b2 * s.get("m", 0) + (1 - b2) * g
    return p


CASES = [
    (lambda: SGD(0.1), sgd),
    (lambda: Momentum(0.1, momentum=0.9), momentum),
    (lambda: Nesterov(0.1, momentum=0.9), nesterov),
    (lambda: AdaGrad(0.1), adagrad),
    (lambda: RMSProp(0.01, rho=0.9), rmsprop),
    (lambda: AdaDelta(1.0, rho=0.95, epsilon=1e-6), adadelta),
    (lambda: Adam(0.01), adam),
    (lambda: AdamW(0.01, weight_decay=0.1), lambda p, g, t, s: adam(p, g, t, s, wd=0.1)),
    (lambda: Adamax(0.01), adamax),
    (lambda: Lion(0.01, weight_decay=0.1), lion),
]


@pytest.mark.parametrize(
    "make, reference", CASES, ids=[c[1].__name__ if hasattr(c[1], "__name__") else "?" for c in CASES]
)
def test_first_two_updates_match_hand_computation(make, reference):
    got = run_two(make())
    want = hand(reference)
    for step, (g, w) in enumerate(zip(got, want), start=1):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14, err_msg=f"update {step}")


def test_coupled_weight_decay_adds_to_gradient():
    got = run_two(SGD(0.1, weight_decay=0.5))
    want = hand(lambda p, g, t, s: p - 0.1 * (g + 0.5 * p))
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)


def test_clip_by_value_and_by_global_norm():
    got = run_two(SGD(1.0, clip_value=0.15))
    want = hand(lambda p, g, t, s: p - np.clip(g, -0.15, 0.15))
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)

    a = tensor(np.array([3.0, 0.0]), requires_grad=True)
    b = tensor(np.array([[4.0]]), requires_grad=True)
    a.grad, b.grad = tensor(np.array([3.0, 0.0])), tensor(np.array([[4.0]]))
    assert global_norm([a.grad.data, b.grad.data]) == pytest.approx(5.0)
    SGD(1.0, clip_norm=1.0).step({"a": a, "b": b})
    np.testing.assert_allclose(a.data, [3.0 - 0.6, 0.0], rtol=1e-9)
    np.testing.assert_allclose(b.data, [[4.0 - 0.8]], rtol=1e-9)


def test_gradients_are_never_modified_and_frozen_parameters_stay():
    w = tensor(np.ones(3), requires_grad=True)
    frozen = tensor(np.ones(3), requires_grad=True)
    shared = tensor(np.full(3, 0.5))
    w.grad = frozen.grad = shared  # the same gradient array may feed two parameters
    opt = Adam(0.1, weight_decay=0.1, clip_value=0.2, frozen=["conv*.*"])
    opt.step({"fc.weights": w, "conv1.weights": frozen})
    np.testing.assert_array_equal(shared.data, np.full(3, 0.5))
    np.testing.assert_array_equal(frozen.data, np.ones(3))
    assert not np.array_equal(w.data, np.ones(3))
    assert opt.is_frozen("conv1.bias") and not opt.is_frozen("fc.bias")
    assert Adam(frozen=["network.layers.fc*.bias"]).is_frozen("fc2.bias")


def test_float32_updates_stay_float32_and_in_place():
    p = tensor(np.ones((4, 3), np.float32), requires_grad=True)
    p.grad = tensor(np.full((4, 3), 0.1, np.float32))
    before = p.data
    for opt in (
        SGD(0.1),
        Momentum(0.1),
        Nesterov(0.1),
        AdaGrad(),
        RMSProp(),
        AdaDelta(),
        Adam(),
        AdamW(),
        Adamax(),
        Lion(),
    ):
        opt.step({"w": p})
        opt.step({"w": p})
        assert p.data is before and p.data.dtype == np.float32
        assert all(a.dtype == np.float32 for a in opt.state["w"].values())


def test_state_dict_round_trip_continues_identically():
    a, b = Adam(0.01), Adam(0.01)
    pa = tensor(P0.copy(), requires_grad=True)
    pa.grad = tensor(G1.copy())
    a.step({"w": pa})
    state = a.state_dict()
    assert set(state) >= {"iterations", "learning_rate", "state"} and state["iterations"] == 1
    pb = tensor(pa.data.copy(), requires_grad=True)
    b.load_state_dict(state, like={"w": pb})
    pa.grad = pb.grad = tensor(G2.copy())
    a.step({"w": pa})
    b.step({"w": pb})
    np.testing.assert_array_equal(pa.data, pb.data)
    with pytest.raises(ValueError, match="shape"):
        Adam().load_state_dict(state, like={"w": tensor(np.ones(5))})
    with pytest.raises(ValueError, match="Adam"):
        SGD().load_state_dict(state)


def test_from_spec_and_argument_errors():
    opt = from_spec({"type": "adam", "learning_rate": 0.003, "beta1": 0.8})
    assert isinstance(opt, Adam) and opt.learning_rate == 0.003 and opt.beta1 == 0.8
    with pytest.raises(ValueError, match="optimiser type 'adamm'"):
        from_spec("adamm")
    with pytest.raises(ValueError, match="`learning_rate`"):
        SGD(-1.0)
    with pytest.raises(ValueError, match="`momentum`"):
        Momentum(0.1, momentum=1.5)
    assert math.isclose(from_spec("sgd").learning_rate, 0.01)
