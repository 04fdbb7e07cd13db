"""Each learning-rate schedule's values over a run."""

import math

import pytest

from engine.optim import (
    CosineDecay,
    ExponentialDecay,
    OneCycle,
    ReduceOnPlateau,
    StepDecay,
    schedule_from_spec,
)


def test_step_decay():
    s = StepDecay(step_size=3, gamma=0.5, initial=1.0)
    assert [s(t) for t in range(7)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]


def test_exponential_decay():
    s = ExponentialDecay(gamma=0.9, initial=2.0)
    assert [s(t) for t in range(4)] == pytest.approx([2.0, 1.8, 1.62, 1.458])


def test_cosine_with_warmup():
    s = CosineDecay(total_steps=10, warmup_steps=2, minimum=0.0, initial=1.0)
    values = [s(t) for t in range(12)]
    assert values[:2] == pytest.approx([0.5, 1.0])
    assert values[2] == pytest.approx(1.0)
    assert values[6] == pytest.approx(0.5)  # half way through the 8 annealing steps
    assert values[10] == pytest.approx(0.0, abs=1e-12) and values[11] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in zip(values[2:], values[3:]))


def test_one_cycle_matches_the_published_shape():
    s = OneCycle(total_steps=100, pct_start=0.3, div_factor=25, final_div_factor=1e4, initial=1.0)
    values = [s(t) for t in range(100)]
    assert values[0] == pytest.approx(1 / 25)
    assert max(values) == pytest.approx(1.0) and values.index(max(values)) == 29
    assert values[-1] == pytest.approx(1 / 25 / 1e4)
    assert all(a <= b for a, b in zip(values[:29], values[1:30]))
    assert all(a >= b for a, b in zip(values[29:], values[30:]))


def test_reduce_on_plateau_counts_patience_and_cooldown():
    s = ReduceOnPlateau(factor=0.5, patience=2, cooldown=1, initial=1.0)
    s.bind(1.0)
    seen = [s.update(v) for v in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.8]]
    # improvements at 0,1; bad at 2,3,4 -> reduce at the third bad one; cooldown eats one; bad 6,7,8 -> reduce
    assert seen == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25]
    state = s.state_dict()
    other = ReduceOnPlateau(factor=0.5, patience=2, cooldown=1)
    other.load_state_dict(state)
    assert other(0) == 0.25 and other.best == pytest.approx(0.8) and other.bad_updates == 0


def test_unbound_initial_uses_the_optimiser_rate_and_specs():
    s = schedule_from_spec({"type": "cosine", "total_steps": 4})
    with pytest.raises(ValueError, match="initial"):
        s(0)
    s.bind(0.1)
    assert s(0) == pytest.approx(0.1) and math.isclose(s(4), 0.0, abs_tol=1e-12)
    with pytest.raises(ValueError, match="schedule type 'linear'"):
        schedule_from_spec({"type": "linear"})
