"""The one shared layer test, applied to every layer (in the spirit of Keras' run_layer_test).

``run_layer_test`` checks: the output shape against ``compute_output_shape`` and the expected one, the
parameter count, the spec round trip through JSON (same spec, same outputs with the same parameters),
float64 gradients with respect to inputs and parameters by finite differences, and that one plain
gradient-descent step on the parameters (or the inputs, for layers without parameters) lowers a loss.
"""

from __future__ import annotations

import json

import numpy as np

from engine.autodiff import Tensor
from engine.layers import Layer
from engine.testing import check_gradients


def _inputs(shapes, batch, rng, int_high):
    xs = []
    for shape in shapes:
        if int_high:
            xs.append(rng.integers(0, int_high, size=(batch, *shape)))
        else:
            xs.append(rng.standard_normal((batch, *shape)))
    return xs


def _run(layer, xs, training, seed=0):
    layer.rng = np.random.default_rng(seed)  # dropout masks: the same on every evaluation
    args = [x if isinstance(x, Tensor) else Tensor(x) for x in xs]
    return layer.forward(args if layer.multi_input else args[0], training)


def run_layer_test(
    layer: Layer,
    input_shapes,
    expected_output_shape,
    expected_params: int,
    *,
    batch: int = 3,
    training: bool = False,
    int_inputs: int = 0,
    seed: int = 0,
    lr: float = 1e-2,
    grad_atol=None,
):
    """Check one layer end to end; returns the built layer.

    Parameters
    ----------
    layer : Layer
        A fresh, unbuilt layer (it is built here in float64).
    input_shapes : list of tuples
        Per-sample input shapes (several for merges and recurrent layers with initial states).
    expected_output_shape : tuple
        Per-sample output shape.
    expected_params : int
    training : bool
        Run forward in training mode.
    int_inputs : int
        When > 0, inputs are integers in [0, int_inputs) (embedding indices): not differentiated.
    """
    rng = np.random.default_rng(seed)
    shapes = [tuple(s) for s in input_shapes]
    shape_arg = shapes if layer.multi_input else shapes[0]
    # shape inference before building
    assert tuple(layer.output_shape_for(shape_arg)) == tuple(expected_output_shape)
    assert layer.param_count(shape_arg) == expected_params
    assert layer.flops(layer._normalise_shape(shape_arg)) >= 0
    layer.build(shape_arg, np.random.default_rng(seed), np.float64)
    assert layer.param_count() == expected_params
    assert all(p.requires_grad and p.dtype == np.float64 for p in layer.parameters.values())

    xs = _inputs(shapes, batch, rng, int_inputs)
    y = _run(layer, xs, training)
    assert y.shape == (batch, *expected_output_shape)
    assert y.dtype == np.float64

    # spec round trip: JSON, same spec back, same outputs with the same parameter values
    spec = json.loads(json.dumps(layer.spec()))
    assert spec["type"] == layer.type_name and spec["name"] == layer.name
    twin = Layer.from_spec(spec)
    assert type(twin) is type(layer) and twin.spec() == spec
    twin.build(shape_arg, np.random.default_rng(seed + 1), np.float64)
    for name, p in layer.parameters.items():
        twin.parameters[name].data[...] = p.data
    for name, b in layer.buffers.items():
        twin.buffers[name][...] = b
    np.testing.assert_allclose(_run(twin, xs, training).data, _run(layer, xs, training).data, rtol=1e-12)

    # float64 gradients with respect to the inputs and the parameters
    names = list(layer.parameters)
    n_in = len(xs)

    def f(*args):
        saved = dict(layer.parameters)
        layer.parameters.update(dict(zip(names, args[n_in:])))
        try:
            return _run(layer, list(args[:n_in]), training)
        finally:
            layer.parameters.clear()
            layer.parameters.update(saved)

    points = [*xs, *[p.data.copy() for p in layer.parameters.values()]]
    no_grads = [bool(int_inputs)] * n_in + [False] * len(names)
    if not all(no_grads):
        kwargs = {} if grad_atol is None else {"atol": grad_atol}
        check_gradients(f, points, no_grads=no_grads, seed=seed, **kwargs)

    # one plain gradient-descent step lowers a squared-error loss towards a random target
    target = rng.standard_normal(y.shape)
    variables = list(layer.parameters.values())
    inputs = [Tensor(x, requires_grad=not int_inputs) for x in xs]
    if not variables:
        variables = inputs

    def loss():
        out = _run(layer, inputs, training)
        return ((out - Tensor(target)) * (out - Tensor(target))).mean()

    before = loss()
    for v in variables:
        v.grad = None
    before.backward()
    assert any(v.grad is not None and np.abs(v.grad.data).sum() > 0 for v in variables)
    for v in variables:
        if v.grad is not None:
            v.data -= lr * v.grad.data
    after = loss()
    assert after.item() < before.item(), (
        f"{layer.name}: loss {before.item()} -> {after.item()} after one step"
    )
    return layer
