"""Gradient checking against central finite differences.

The analytic gradient of ``L(x) = sum(f(x) * gy)`` is compared with a numerical directional derivative
along random directions ``d``: ``(L(x + eps d) - L(x - eps d)) / 2 eps`` must equal ``sum_i <dL/dx_i, d_i>``.
A random direction tests every element at once with one pair of evaluations. Points where the function
has a kink (relu at 0, max at a tie, abs at 0) are dodged: when the eps and 2*eps estimates disagree the
point is shifted slightly and tried again.
"""

from __future__ import annotations

import numpy as np

from ..autodiff.graph import gradients
from ..autodiff.tensor import Tensor

__all__ = ["check_gradients", "check_double_backward", "numerical_grad", "GradientCheckError"]

#: (atol, rtol) per dtype used when none are given.
TOLERANCES = {
    np.dtype(np.float64): (1e-6, 1e-5),
    np.dtype(np.float32): (1e-2, 5e-2),
    np.dtype(np.float16): (1e-1, 2e-1),
}


class GradientCheckError(AssertionError):
    """The analytic gradient disagrees with finite differences."""


def _as_outputs(y):
    return list(y) if isinstance(y, tuple | list) else [y]


def _device(backend):
    """A function that moves a host array onto ``backend`` (identity for None / the CPU)."""
    if backend is None:
        return lambda a: a
    from ..backend import get_backend

    return get_backend(backend).from_host


def _loss(f, xs, gys, params=()):
    outs = _as_outputs(f(*xs))
    total = 0.0
    for y, gy in zip(outs, gys):
        if gy is None:
            continue
        total += float((np.asarray(y.numpy(), dtype=np.float64) * gy).sum())
    return total


def numerical_grad(f, inputs, grad_outputs=None, eps=1e-6):
    """Element-by-element central differences of ``sum(f(*inputs) * grad_outputs)``.

    Slow (two evaluations per element): meant for small arrays and for showing where a check failed.
    Returns one float64 array per input.
    """
    xs = [np.array(x, dtype=np.float64) for x in inputs]
    if grad_outputs is None:
        grad_outputs = [np.ones(y.shape) for y in _as_outputs(f(*[Tensor(x) for x in xs]))]
    result = []
    for x in xs:
        g = np.zeros_like(x)
        flat, gflat = x.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            hi = _loss(f, [Tensor(v) for v in xs], grad_outputs)
            flat[i] = old - eps
            lo = _loss(f, [Tensor(v) for v in xs], grad_outputs)
            flat[i] = old
            gflat[i] = (hi - lo) / (2 * eps)
        result.append(g)
    return result


def check_gradients(
    f,
    inputs,
    grad_outputs=None,
    *,
    eps: float = 1e-5,
    atol: float | None = None,
    rtol: float | None = None,
    directions: int = 3,
    seed: int = 0,
    dodge_kinks: bool = True,
    no_grads=None,
    backend=None,
):
    """Check the gradients of ``f`` with respect to ``inputs`` by central differences.

    Parameters
    ----------
    f : callable
        Takes one tensor per input and returns a tensor or a tuple of tensors.
    inputs : sequence of array-like
        Points at which to check (made float64 copies unless listed in ``no_grads``).
    grad_outputs : sequence of arrays, optional
        Weights for each output; random by default.
    eps : float
        Finite-difference step.
    atol, rtol : float, optional
        Tolerances; defaults from :data:`TOLERANCES` for float64.
    directions : int
        Number of random directions tried.
    dodge_kinks : bool
        Shift the point slightly when the function is not smooth around it.
    no_grads : sequence of bool, optional
        True for inputs that are not differentiated (integer indices, masks).
    backend : Backend or str, optional
        Run ``f`` on this backend's device (inputs are copied there; the check itself runs on the host).

    Raises
    ------
    GradientCheckError
        With the analytic and numerical directional derivatives and the worst element.
    """
    rng = np.random.default_rng(seed)
    no_grads = list(no_grads) if no_grads is not None else [False] * len(inputs)
    xs = [np.asarray(x) if ng else np.array(x, dtype=np.float64) for x, ng in zip(inputs, no_grads)]
    d_atol, d_rtol = TOLERANCES[np.dtype(np.float64)]
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol

    dev = _device(backend)
    probe = _as_outputs(f(*[Tensor(dev(x)) for x in xs]))
    if grad_outputs is None:
        grad_outputs = [rng.standard_normal(y.shape) if y.dtype.kind == "f" else None for y in probe]
    grad_outputs = [None if g is None else np.asarray(g, dtype=np.float64) for g in grad_outputs]

    for attempt in range(6 if dodge_kinks else 1):
        analytic = _analytic(f, xs, grad_outputs, no_grads, dev)
        ok = True
        for _ in range(directions):
            ds = [None if ng else rng.standard_normal(x.shape) for x, ng in zip(xs, no_grads)]
            num1 = _directional(f, xs, ds, grad_outputs, eps, dev)
            if dodge_kinks:
                num2 = _directional(f, xs, ds, grad_outputs, 2 * eps, dev)
                if abs(num1 - num2) > 10 * (atol + rtol * abs(num1)) and attempt < 5:
                    ok = False
                    break
            ana = sum(float((g * d).sum()) for g, d in zip(analytic, ds) if d is not None)
            if abs(ana - num1) > atol + rtol * abs(num1):
                raise GradientCheckError(_report(f, xs, grad_outputs, analytic, no_grads, ana, num1))
        if ok:
            return
        # Not smooth here: move a little and try again.
        xs = [x if ng else x + rng.standard_normal(x.shape) * 1e-3 for x, ng in zip(xs, no_grads)]
    raise GradientCheckError("check_gradients: could not find a smooth point after 6 tries")


def _analytic(f, xs, gys, no_grads, dev=lambda a: a):
    ts = [Tensor(dev(x), requires_grad=not ng) for x, ng in zip(xs, no_grads)]
    outs = _as_outputs(f(*ts))
    pairs = [(y, Tensor(dev(gy))) for y, gy in zip(outs, gys) if gy is not None and y.requires_grad]
    targets = [t for t, ng in zip(ts, no_grads) if not ng]
    if not pairs:
        return [np.zeros_like(x, dtype=np.float64) if not ng else None for x, ng in zip(xs, no_grads)]
    gs = gradients([p[0] for p in pairs], targets, [p[1] for p in pairs])
    it = iter(gs)
    return [None if ng else np.asarray(next(it).numpy(), dtype=np.float64) for ng in no_grads]


def _directional(f, xs, ds, gys, eps, dev=lambda a: a):
    plus = [x if d is None else x + eps * d for x, d in zip(xs, ds)]
    minus = [x if d is None else x - eps * d for x, d in zip(xs, ds)]
    lo = _loss(f, [Tensor(dev(v)) for v in minus], gys)
    return (_loss(f, [Tensor(dev(v)) for v in plus], gys) - lo) / (2 * eps)


def _report(f, xs, gys, analytic, no_grads, ana, num):
    lines = [f"gradient check failed: analytic directional derivative {ana:.8g} != numerical {num:.8g}"]
    small = all(x.size <= 64 for x in xs)
    if small:
        numeric = numerical_grad(lambda *a: f(*a), [x for x in xs], gys) if not any(no_grads) else None
        if numeric is not None:
            for i, (a, n) in enumerate(zip(analytic, numeric)):
                if a is None:
                    continue
                err = np.abs(a - n)
                j = np.unravel_index(np.argmax(err), err.shape) if err.size else ()
                lines.append(
                    f"  input {i} shape {xs[i].shape}: worst element {j} "
                    f"analytic {a[j]:.6g} numerical {n[j]:.6g}"
                )
    return "\n".join(lines)


def check_double_backward(f, inputs, grad_outputs=None, *, seed: int = 0, backend=None, **kwargs):
    """Check second-order gradients: the gradient function ``(x, gy) -> d<f(x), gy>/dx`` is itself
    checked by finite differences with respect to ``x`` and ``gy``."""
    rng = np.random.default_rng(seed)
    xs = [np.array(x, dtype=np.float64) for x in inputs]
    outs = _as_outputs(f(*[Tensor(_device(backend)(x)) for x in xs]))
    if grad_outputs is None:
        grad_outputs = [rng.standard_normal(y.shape) for y in outs]
    n = len(xs)

    def first_order(*args):
        x_ts, gy_ts = args[:n], args[n:]
        # Finite differences call this with plain tensors; the inner gradient still needs a graph.
        x_ts = [t if t.requires_grad else Tensor(t.data, requires_grad=True) for t in x_ts]
        ys = _as_outputs(f(*x_ts))
        return tuple(gradients(list(ys), list(x_ts), list(gy_ts), create_graph=True))

    check_gradients(
        first_order,
        [*xs, *[np.asarray(g, dtype=np.float64) for g in grad_outputs]],
        seed=seed,
        backend=backend,
        **kwargs,
    )
