"""One-call checks for an op: forward against a float64 numpy reference (float64 and float32), backward
against finite differences, and optionally double backward, on a given backend.

Usage in a test::

    check_op(backend, lambda a, b: ops.add(a, b), lambda a, b: a + b, [x, y], double=True)
"""

from __future__ import annotations

import numpy as np

import engine
from engine.testing import check_double_backward, check_gradients


def as_list(out):
    return list(out) if isinstance(out, tuple | list) else [out]


def run(backend, fn, inputs, dtype=np.float64):
    """Apply ``fn`` to host ``inputs`` moved to ``backend`` (floats cast to ``dtype``); host outputs."""
    ts = []
    for x in inputs:
        x = np.asarray(x)
        if x.dtype.kind == "f":
            x = x.astype(dtype)
        ts.append(engine.Tensor(backend.from_host(x)))
    return [np.asarray(y.numpy()) for y in as_list(fn(*ts))]


def check_forward(backend, fn, ref, inputs, *, rtol=1e-7, atol=1e-10, f32=True):
    """Outputs equal the reference in float64, and float32 inputs give float32 outputs close to it."""
    inputs = [np.asarray(x) for x in inputs]
    want = [np.asarray(r, dtype=np.float64) for r in as_list(ref(*inputs))]
    got = run(backend, fn, inputs)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape, f"shape {g.shape} != reference {w.shape}"
        if g.dtype.kind == "f":
            assert g.dtype == np.float64
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
    if f32:
        for g, w in zip(run(backend, fn, inputs, np.float32), want):
            if g.dtype.kind == "f":
                assert g.dtype == np.float32, f"float32 inputs gave {g.dtype}"
            np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-5 * max(1.0, float(np.abs(w).max(initial=0))))


def check_op(
    backend,
    fn,
    ref,
    inputs,
    *,
    grad=True,
    double=False,
    no_grads=None,
    fwd_rtol=1e-7,
    fwd_atol=1e-10,
    f32=True,
    **grad_kwargs,
):
    """Forward (:func:`check_forward`), backward by finite differences, and optionally double backward.

    Integer inputs are not differentiated. ``grad_kwargs`` (eps, atol, rtol, ...) go to ``check_gradients``.
    """
    inputs = [np.asarray(x) for x in inputs]
    if ref is not None:
        check_forward(backend, fn, ref, inputs, rtol=fwd_rtol, atol=fwd_atol, f32=f32)
    if no_grads is None:
        no_grads = [x.dtype.kind != "f" for x in inputs]
    if grad:
        check_gradients(fn, inputs, no_grads=no_grads, backend=backend, **grad_kwargs)
    if double:
        if any(no_grads):
            fixed = {i: x for i, x in enumerate(inputs) if no_grads[i]}
            free = [x for i, x in enumerate(inputs) if not no_grads[i]]

            def on_free(*ts):
                it = iter(ts)
                full = [
                    engine.Tensor(backend.from_host(fixed[i])) if i in fixed else next(it)
                    for i in range(len(inputs))
                ]
                return fn(*full)

            check_double_backward(on_free, free, backend=backend, **grad_kwargs)
        else:
            check_double_backward(fn, inputs, backend=backend, **grad_kwargs)


def randn(rng, *shape, positive=False, away_from=None):
    """Random float64 data; ``positive`` makes it in [0.5, 2]; ``away_from`` keeps |x - v| >= 0.1."""
    if positive:
        return rng.uniform(0.5, 2.0, shape)
    x = rng.standard_normal(shape)
    if away_from is not None:
        near = np.abs(x - away_from) < 0.1
        x = np.where(near, x + 0.2 * np.sign(x - away_from + 1e-12), x)
    return x
