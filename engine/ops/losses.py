"""Loss functions. Softmax cross-entropy is fused (one Function, stable forward, direct backward).

Losses reduce with ``reduction="mean"`` (default), ``"sum"`` or ``"none"`` (one value per sample for
cross-entropy, one per element for the elementwise losses).
"""

from __future__ import annotations

import numpy as np

from ..autodiff.errors import DTypeError, ShapeError
from ..autodiff.function import Function
from ..autodiff.graph import composite_gradients
from ..autodiff.mode import _state as _mode_state
from ..autodiff.tensor import Tensor, as_tensor, wrap
from .activations import log_softmax, sigmoid
from .math import abs as abs_
from .math import minimum, square
from .reductions import mean as mean_
from .reductions import sum as sum_

__all__ = [
    "softmax_cross_entropy",
    "mean_squared_error",
    "binary_cross_entropy_with_logits",
    "l1_loss",
    "huber_loss",
]

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(op, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{op}: invalid value for `reduction`. Expected one of {_REDUCTIONS}. Received: {reduction!r}"
        )


def _reduce(per_element, reduction):
    if reduction == "mean":
        return mean_(per_element)
    if reduction == "sum":
        return sum_(per_element)
    return per_element


class SoftmaxCrossEntropy(Function):
    """Per-sample ``-sum_c q_c log_softmax(x)_c`` with ``q`` the (smoothed) target distribution.

    The backward pass is ``(softmax(x) - q) * g`` computed straight from the saved log-probabilities.
    When a graph of the backward is requested (double backward), the loss is recomputed with plain
    engine ops and differentiated instead, so higher derivatives are exact too.
    """

    def __init__(self, targets, smoothing, mean=False):
        super().__init__()
        self.targets = targets  # int array (N,) or float array (N, C), on the logits' device
        self.smoothing = smoothing
        # The mean over samples inside the op: three fewer graph nodes per training step than a
        # separate mean, with the same arithmetic (sum, then times 1/N in the logits' dtype).
        self.mean = mean

    def forward(self, xp, x):
        n, c = x.shape
        shifted = x - x.max(axis=1, keepdims=True)
        if self.targets.ndim == 1 and not self.smoothing:
            # Class indices without smoothing (the common case): the general formula below with its
            # factors of one left out, which changes no bit (a * 1.0 == a, a + -b == a - b).
            e = xp.exp(shifted)
            s = e.sum(axis=1)
            loss = xp.log(s)
            loss -= shifted[_rows(xp, n), self.targets]
            self.e, self.s = e, s
            if self.mean:
                return xp.asarray(loss.sum() * x.dtype.type(1.0 / n))
            return loss
        rows = xp.arange(n)
        # loss = log(sum(exp(shifted))) * sum(q) - sum(q * shifted): one exp pass, whose result is
        # kept for the backward pass (softmax = e / s).
        if self.targets.ndim == 1:
            picked = -(1 - self.smoothing) * shifted[rows, self.targets]
        else:
            q = self.targets if self.smoothing == 0 else (1 - self.smoothing) * self.targets
            picked = -(q * shifted).sum(axis=1)
        if self.smoothing:
            picked -= (self.smoothing / c) * shifted.sum(axis=1)
        e = xp.exp(shifted)  # not in place: measured ~15% slower in place with numpy 2.4 here
        s = e.sum(axis=1)
        mass = _target_mass(self.targets, self.smoothing)
        loss = xp.log(s) * mass + picked
        self.e, self.s = e, s
        loss = loss.astype(x.dtype, copy=False)
        if self.mean:
            return xp.asarray(loss.sum() * x.dtype.type(1.0 / n))
        return loss

    def backward(self, g):
        x = self.inputs[0]
        if getattr(_mode_state, "enabled", True):  # a graph of this backward is wanted: differentiate
            # the composite form

            def composite(t):
                per_sample = _cross_entropy_composite(t, self.targets, self.smoothing)
                return mean_(per_sample) if self.mean else per_sample

            return composite_gradients(composite, (x,), (g,))
        gd = g.data
        xp = np if type(gd) is np.ndarray else x.xp
        n, c = x.data.shape
        dtype = x.data.dtype
        if self.mean:
            gd = gd * dtype.type(1.0 / n)  # 0-d: every sample's weight
        sm = self.smoothing
        if self.targets.ndim == 1 and not sm:
            # As below with sum(q) = 1 and no smoothing terms; a 0-d weight broadcasts as the (N,)
            # copies of it below would, element by element, so the bits are the same.
            grad = self.e * (gd / self.s).astype(dtype, copy=False).reshape(n, 1)
            grad[_rows(xp, n), self.targets] -= gd
            return (wrap(grad),)
        if self.mean:
            gd = xp.broadcast_to(gd, (n,))
        mass = _target_mass(self.targets, self.smoothing)
        # d loss_i / d x = (softmax(x) * sum(q) - q) * g_i
        grad = self.e * (gd * mass / self.s).astype(dtype, copy=False).reshape(n, 1)
        if self.targets.ndim == 1:
            grad[xp.arange(n), self.targets] -= (1 - sm) * gd
        else:
            grad -= (self.targets if sm == 0 else (1 - sm) * self.targets) * gd.reshape(n, 1)
        if sm:
            grad -= (sm / c) * gd.reshape(n, 1)
        return (Tensor(grad),)

    def release(self):
        super().release()
        self.e = self.s = None


#: ``arange(n)`` by batch size, host only, for picking each row's target class (never written to).
_ROWS: dict = {}


def _rows(xp, n):
    """``xp.arange(n)``, cached on the host (a training run sees one or two batch sizes)."""
    if xp is not np:
        return xp.arange(n)
    rows = _ROWS.get(n)
    if rows is None:
        if len(_ROWS) > 64:
            _ROWS.clear()
        rows = _ROWS[n] = np.arange(n)
        rows.flags.writeable = False
    return rows


def _target_mass(targets, smoothing):
    """Total probability mass of the smoothed targets per sample (1 for class indices)."""
    return 1.0 if targets.ndim == 1 else (1 - smoothing) * targets.sum(axis=1) + smoothing


def _cross_entropy_composite(x, targets, smoothing):
    n, c = x.shape
    logp = log_softmax(x, axis=1)
    xp = x.xp
    if targets.ndim == 1:
        q = xp.zeros((n, c), dtype=x.dtype)
        q[xp.arange(n), targets] = 1
    else:
        q = targets.astype(x.dtype, copy=False)
    if smoothing:
        q = (1 - smoothing) * q + smoothing / c
    return -sum_(logp * Tensor(q), axis=1)


def _check_class_indices(op, t, n, c, logits_shape):
    """Integer targets have shape (n,) and lie in [0, c): a clear error instead of a wrong gradient.

    Host (numpy) labels, the CPU backend's and any batch not yet uploaded, are checked with min/max
    (microseconds, no device involved). Device labels are checked with one fused comparison, so one
    device-to-host sync per call rather than two; min and max are read only to word the error.
    """
    if t.shape != (n,):
        raise ShapeError(
            f"{op}: integer targets must have shape ({n},) for logits of shape {logits_shape}, got {t.shape}"
        )
    if not n:
        return
    if isinstance(t, np.ndarray):
        if t.dtype.kind == "i" and t.dtype.isnative:
            # One pass instead of min and max: read as unsigned, a negative index is larger than any
            # class count.
            bad = int(t.view(np.dtype(f"u{t.dtype.itemsize}")).max()) >= c
        else:
            bad = int(t.min()) < 0 or int(t.max()) >= c
    else:
        bad = bool(((t < 0) | (t >= c)).any())
    if bad:
        raise ValueError(
            f"{op}: class index out of range: targets span [{int(t.min())}, {int(t.max())}] "
            f"but logits of shape {logits_shape} have {c} classes"
        )


def softmax_cross_entropy(logits, targets, label_smoothing=0.0, reduction="mean"):
    """Cross-entropy between ``softmax(logits)`` and the targets, fused and numerically stable.

    Parameters
    ----------
    logits : Tensor, shape (N, C)
    targets : array-like or Tensor
        Integer class indices of shape (N,) in ``[0, C)``, or probabilities / one-hot rows of shape (N, C).
    label_smoothing : float in [0, 1)
        Mixes the target distribution with the uniform one: ``q = (1 - s) q + s / C``.
    reduction : {"mean", "sum", "none"}
        Mean over samples, sum, or the (N,) per-sample losses.

    Returns
    -------
    Tensor: a scalar, or shape (N,) for ``reduction="none"``.
    """
    op = "softmax_cross_entropy"
    _check_reduction(op, reduction)
    logits = as_tensor(logits)
    if logits.ndim != 2:
        raise ShapeError(f"{op}: logits must have shape (N, C), got {logits.shape}")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(
            f"{op}: invalid value for `label_smoothing`. Expected 0 <= s < 1. Received: {label_smoothing}"
        )
    n, c = logits.shape
    t = targets.data if isinstance(targets, Tensor) else targets
    xp = logits.xp
    if not hasattr(t, "dtype"):
        t = np.asarray(t)  # lists and scalars: checked on the host like any host batch
    if t.dtype.kind in "iub":
        _check_class_indices(op, t, n, c, logits.shape)
    t = xp.asarray(t)
    if t.dtype.kind in "iub":
        t = t.astype(xp.int64, copy=False)
    elif t.dtype.kind == "f":
        if t.shape != (n, c):
            raise ShapeError(
                f"{op}: probability targets must have the logits' shape {logits.shape}, got {t.shape}"
            )
        t = t.astype(logits.dtype, copy=False)
    else:
        raise DTypeError(f"{op}: targets of dtype {t.dtype} are neither class indices nor probabilities")
    if reduction == "mean" and n:
        return SoftmaxCrossEntropy(t, float(label_smoothing), mean=True)(logits)
    per_sample = SoftmaxCrossEntropy(t, float(label_smoothing))(logits)
    return _reduce(per_sample, reduction)


def _pair(op, pred, target):
    pred = as_tensor(pred)
    target = as_tensor(target, like=pred)
    if pred.shape != target.shape:
        raise ShapeError(
            f"{op}: predictions of shape {pred.shape} and targets of shape {target.shape} differ"
        )
    if target.dtype != pred.dtype:
        if target.requires_grad:
            raise DTypeError(
                f"{op}: predictions are {pred.dtype} but targets that require gradients are {target.dtype}"
            )
        target = Tensor(target.data.astype(pred.dtype))  # constant labels: cast them (ints, float64 data)
    return pred, target


class SquaredErrorTotal(Function):
    """``sum((pred - target) ** 2)`` over all elements, times ``1 / size`` for the mean, as one node.

    The same arithmetic as the composite ``mean(square(pred - target))`` (a float32 sum, then times
    ``1/size`` in the predictions' dtype; backward ``(g / size) * (2 d)``), so the same bits, without
    its five forward and nine backward graph nodes. A graph of the backward (double backward) is
    made from the composite form.
    """

    def __init__(self, mean: bool):
        super().__init__()
        self.mean = mean
        self.d = None

    def forward(self, xp, pred, target):
        d = pred - target
        self.d = d
        total = (d * d).sum(axis=tuple(range(d.ndim)))
        if self.mean:
            total = total * pred.dtype.type(1.0 / d.size)
        return xp.asarray(total)

    def backward(self, g):
        pred, target = self.inputs
        if getattr(_mode_state, "enabled", True):  # a graph of this backward is wanted
            return composite_gradients(self._composite, self.inputs, (g,))
        gd = g.data
        if self.mean:
            gd = gd * as_tensor(1.0 / self.d.size, like=pred).data  # the composite's Mul backward
        gp = gd * (2.0 * self.d)  # PowConst(2)'s backward, with the sum's gradient broadcast
        return (wrap(gp) if pred.requires_grad else None, wrap(-gp) if target.requires_grad else None)

    def _composite(self, pred, target):
        squared = square(pred - target)
        return mean_(squared) if self.mean else sum_(squared)

    def release(self):
        super().release()
        self.d = None


def mean_squared_error(pred, target, reduction="mean"):
    """``(pred - target) ** 2`` reduced; shapes must match exactly."""
    _check_reduction("mean_squared_error", reduction)
    pred, target = _pair("mean_squared_error", pred, target)
    if reduction != "none" and pred.ndim and pred.size:
        return SquaredErrorTotal(reduction == "mean")(pred, target)
    return _reduce(square(pred - target), reduction)


class BCEWithLogits(Function):
    """``max(x, 0) - x t + log(1 + exp(-|x|))`` per element: stable for any logit."""

    def forward(self, xp, x, t):
        return xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, g):
        x, t = self.inputs
        gx = g * (sigmoid(x) - t) if x.requires_grad else None
        gt = -g * x if t.requires_grad else None
        return gx, gt


def binary_cross_entropy_with_logits(logits, targets, reduction="mean"):
    """Binary cross-entropy of ``sigmoid(logits)`` against targets in [0, 1], computed from the logits
    (no overflow for large magnitudes). Shapes must match exactly."""
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    logits, targets = _pair("binary_cross_entropy_with_logits", logits, targets)
    return _reduce(BCEWithLogits()(logits, targets), reduction)


def l1_loss(pred, target, reduction="mean"):
    """``|pred - target|`` reduced; the gradient at 0 is 0."""
    _check_reduction("l1_loss", reduction)
    pred, target = _pair("l1_loss", pred, target)
    return _reduce(abs_(pred - target), reduction)


def huber_loss(pred, target, delta=1.0, reduction="mean"):
    """Huber loss of ``d = pred - target``.

    ``d^2 / 2`` where ``|d| <= delta``, else ``delta (|d| - delta / 2)``.
    """
    _check_reduction("huber_loss", reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: invalid value for `delta`. Expected > 0. Received: {delta}")
    pred, target = _pair("huber_loss", pred, target)
    d = pred - target
    a = abs_(d)
    # min(|d|, delta) gives both branches with one expression and a gradient that is right everywhere.
    m = minimum(a, float(delta))
    per = 0.5 * square(m) + delta * (a - m)
    return _reduce(per, reduction)
