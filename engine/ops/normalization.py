"""Batch normalisation and layer normalisation.

Both are fused Functions: the forward keeps ``xhat`` and ``1/std``, the first-order backward is the
closed form on arrays. When a graph of the backward is requested (double backward) the gradient is taken
through an engine-op version of the same formula instead (see ``composite_gradients``).
"""

from __future__ import annotations

from ..autodiff.errors import ShapeError
from ..autodiff.function import Function
from ..autodiff.graph import composite_gradients
from ..autodiff.mode import is_grad_enabled
from ..autodiff.tensor import Tensor, as_tensor
from .math import sqrt
from .reductions import _normalize_axes, mean
from .shape import reshape

__all__ = ["batch_norm", "layer_norm"]


def _param_shape(x_shape, axes):
    """Shape that broadcasts a per-feature parameter against x: 1 on the reduced axes."""
    return tuple(1 if i in axes else s for i, s in enumerate(x_shape))


class _Normalize(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, statistics over ``axes`` (batch statistics)."""

    def __init__(self, axes, eps):
        super().__init__()
        self.axes, self.eps = axes, eps

    def forward(self, xp, x, gamma, beta):
        mu = x.mean(axis=self.axes, keepdims=True)
        xc = x - mu
        v = (xc * xc).mean(axis=self.axes, keepdims=True)
        self.inv_std = 1.0 / xp.sqrt(v + x.dtype.type(self.eps))
        self.batch_mean, self.batch_var = mu, v
        xc *= self.inv_std
        self.xhat = xc
        pshape = self.shape_params(x.shape)
        return xc * gamma.reshape(pshape) + beta.reshape(pshape)

    def shape_params(self, x_shape):
        """Shape of gamma and beta as they broadcast against x."""
        raise NotImplementedError

    def backward(self, g):
        x, gamma, beta = self.inputs
        if is_grad_enabled():  # a graph of this backward is wanted: differentiate the composite form
            return composite_gradients(self._composite, self.inputs, (g,))
        gd = g.data
        pshape = self.shape_params(x.shape)
        param_axes = tuple(i for i, s in enumerate(pshape) if s == 1)  # where gamma is broadcast
        gbeta = gd.sum(axis=param_axes).reshape(beta.shape) if beta.requires_grad else None
        ggamma = (gd * self.xhat).sum(axis=param_axes).reshape(gamma.shape) if gamma.requires_grad else None
        gx = None
        if x.requires_grad:
            # dx = (g*gamma - mean(g*gamma) - xhat * mean(g*gamma*xhat)) / std, means over the stats axes.
            gh = gd * gamma.data.reshape(pshape)
            gx = gh - gh.mean(axis=self.axes, keepdims=True)
            gx -= self.xhat * (gh * self.xhat).mean(axis=self.axes, keepdims=True)
            gx *= self.inv_std
            gx = Tensor(gx)
        return (
            gx,
            None if ggamma is None else Tensor(ggamma),
            None if gbeta is None else Tensor(gbeta),
        )

    def release(self):
        super().release()
        self.xhat = self.inv_std = None

    def _composite(self, x, gamma, beta):
        pshape = self.shape_params(x.shape)
        mu = mean(x, axis=self.axes, keepdims=True)
        xc = x - mu
        v = mean(xc * xc, axis=self.axes, keepdims=True)
        return xc / sqrt(v + self.eps) * reshape(gamma, pshape) + reshape(beta, pshape)


class BatchNormTrain(_Normalize):
    def shape_params(self, x_shape):
        return _param_shape(x_shape, self.axes)


class LayerNormFn(_Normalize):
    def shape_params(self, x_shape):
        return tuple(s if i in self.axes else 1 for i, s in enumerate(x_shape))


def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Batch normalisation over the batch (and spatial) axes, per channel.

    Parameters
    ----------
    x : Tensor, shape (N, C) or (N, C, H, W)
    gamma, beta : Tensor, shape (C,)
        Scale and shift.
    running_mean, running_var : array, shape (C,)
        Updated IN PLACE in training mode: ``r = (1 - momentum) r + momentum * batch_stat`` (the variance
        with Bessel's correction, as PyTorch); used instead of batch statistics in inference.
    training : bool
    momentum, eps : float

    Returns
    -------
    Tensor, the shape of ``x``.
    """
    x = as_tensor(x)
    if x.ndim not in (2, 4):
        raise ShapeError(f"batch_norm: expected input (N, C) or (N, C, H, W), got shape {x.shape}")
    c = x.shape[1]
    gamma, beta = as_tensor(gamma, like=x), as_tensor(beta, like=x)
    rm = running_mean.data if isinstance(running_mean, Tensor) else running_mean
    rv = running_var.data if isinstance(running_var, Tensor) else running_var
    for name, t in (("gamma", gamma), ("beta", beta), ("running_mean", rm), ("running_var", rv)):
        if tuple(t.shape) != (c,):
            raise ShapeError(
                f"batch_norm: {name} must have shape ({c},) for input {x.shape}, got {tuple(t.shape)}"
            )
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    pshape = _param_shape(x.shape, axes)
    if training:
        n = x.size // c
        if n < 2:
            raise ShapeError(
                f"batch_norm: training needs more than one value per channel, got input {x.shape}"
            )
        fn = BatchNormTrain(axes, eps)
        y = fn(x, gamma, beta)
        bm, bv = fn.batch_mean.reshape(c), fn.batch_var.reshape(c)
        rm *= 1 - momentum
        rm += momentum * bm.astype(rm.dtype, copy=False)
        rv *= 1 - momentum
        rv += (momentum * n / (n - 1)) * bv.astype(rv.dtype, copy=False)
        fn.batch_mean = fn.batch_var = None
        return y
    # Inference: a fixed affine map per channel, built from differentiable ops on gamma and beta.
    xp = x.xp
    inv = Tensor((1.0 / xp.sqrt(rv.astype(x.dtype) + x.dtype.type(eps))).reshape(pshape))
    mu = Tensor(rm.astype(x.dtype).reshape(pshape))
    return (x - mu) * inv * reshape(gamma, pshape) + reshape(beta, pshape)


def layer_norm(x, gamma, beta, axes=-1, eps=1e-5):
    """Layer normalisation: statistics over ``axes`` of each sample (no running statistics).

    Parameters
    ----------
    x : Tensor, shape (N, ...)
    gamma, beta : Tensor
        Shape of x over ``axes`` (e.g. (D,) for ``axes=-1`` on (N, T, D)).
    axes : int or tuple of int
        The normalised axes; must be the trailing ones.
    """
    x = as_tensor(x)
    axes = _normalize_axes(axes, x.ndim, "layer_norm")
    if 0 in axes and x.ndim > 1:
        raise ShapeError(f"layer_norm: axes {axes} include the batch axis of input {x.shape}")
    want = tuple(x.shape[a] for a in axes)
    gamma, beta = as_tensor(gamma, like=x), as_tensor(beta, like=x)
    if gamma.shape != want or beta.shape != want:
        raise ShapeError(
            f"layer_norm: gamma and beta must have shape {want} for input {x.shape} over axes {axes}, "
            f"got {gamma.shape} and {beta.shape}"
        )
    return LayerNormFn(axes, eps)(x, gamma, beta)
