"""Cost before training: the memory estimate per layer, and the largest batch that fits a budget."""

import copy
import tracemalloc

import numpy as np
import pytest

from engine import templates
from engine.estimate import FIXED_WORKSET, estimate_cost, largest_batch, measure_peak, memory_budget
from engine.hooks import FunctionHook, TimeStep
from engine.network import Network
from engine.run import build_run


def _cnn_project(batch=64):
    project = next(e for e in templates.EXAMPLES if e.key == "digits-cnn").make()
    project.training["batch_size"] = batch
    return project


def test_the_estimate_counts_each_part_from_shape_inference():
    net = Network.from_spec(templates.digits_project().network)  # 64-128-64-10, loss head
    params = net.param_count()
    adam = estimate_cost(net, 100, "adam")
    sgd = estimate_cost(net, 100, {"type": "sgd", "learning_rate": 0.1})
    assert adam.parameters_bytes == adam.gradients_bytes == 4 * params
    assert adam.optimiser_bytes == 2 * 4 * params and sgd.optimiser_bytes == 0
    assert adam.batch_bytes == 100 * 64 * 4
    by_layer = {layer.name: layer for layer in adam.layers}
    assert by_layer["fc1"].forward_bytes == 100 * 2 * 128 * 4  # pre-activation and activation
    assert by_layer["logits"].forward_bytes == 100 * 10 * 4
    assert adam.forward_bytes == sum(layer.forward_bytes for layer in adam.layers)
    double = estimate_cost(net, 200, "adam")
    assert double.forward_bytes == 2 * adam.forward_bytes  # activations scale with the batch
    timed = estimate_cost(net, 100, "adam", samples_per_epoch=1000, flops_rate=1e9)
    assert timed.seconds_per_epoch == pytest.approx(3 * net.flops() * 1000 / 1e9)
    assert "to train" in timed.lines()[0] and "per epoch" in timed.lines()[-1]
    with pytest.raises(ValueError, match="batch_size"):
        estimate_cost(net, 0)


def test_the_estimate_follows_the_measured_step_of_a_cnn():
    project = _cnn_project()
    for batch in (32, 256):
        run = build_run(copy.deepcopy(project), record=False)
        estimate = estimate_cost(run.trainer.network, batch, run.trainer.optimiser)
        measured = measure_peak(run, batch)
        assert 0.75 < estimate.total_bytes / measured < 1.25


def test_the_batch_finder_answer_trains_under_the_budget(tmp_path):
    project = _cnn_project()
    budget = 12 * 2**20

    def make(batch):
        p = copy.deepcopy(project)
        p.training["batch_size"] = batch
        return build_run(p, record=False)

    batch, probes = largest_batch(make, budget)
    assert batch > 16 and len(probes) <= 8
    assert all(peak <= budget for b, peak in probes if b <= batch)
    assert measure_peak(make(int(batch * 1.3)), int(batch * 1.3)) > budget  # not far below the largest

    run = make(batch)  # a real fit at that batch stays under the budget
    tracemalloc.start()
    peaks = []
    run.trainer.add_hook(
        FunctionHook(lambda t: peaks.append(tracemalloc.get_traced_memory()[1]), TimeStep(5))
    )
    try:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        run.fit(epochs=1, max_iterations=15)
    finally:
        tracemalloc.stop()
    assert peaks and max(peaks) - start + FIXED_WORKSET <= budget
    assert memory_budget() > 0


def test_a_budget_below_one_sample_gives_zero():
    project = _cnn_project()
    assert largest_batch(lambda b: build_run(copy.deepcopy(project), record=False), 1024)[0] == 0
    assert np.isfinite(estimate_cost(Network.from_spec(project.network), 1).total_bytes)
