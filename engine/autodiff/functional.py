"""Functional automatic differentiation: ``grad(f)`` and ``value_and_grad(f)`` (as Sigma.Core had
through DiffSharp). Nest them for higher derivatives: ``grad(grad(f))``."""

from __future__ import annotations

import functools

from .errors import GraphError
from .graph import gradients
from .tensor import Tensor, tensor

__all__ = ["grad", "value_and_grad"]


def _prepare(args, argnums):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    args = list(args)
    nested = False
    for i in nums:
        if i >= len(args) or i < -len(args):
            raise IndexError(f"argnums={argnums} but the function was called with {len(args)} argument(s)")
        a = args[i]
        if isinstance(a, Tensor) and a.requires_grad:
            # Already part of an outer differentiation: keep the graph connected.
            nested = True
        else:
            data = a.data if isinstance(a, Tensor) else a
            args[i] = tensor(data, requires_grad=True)
    return args, nums, nested


def value_and_grad(f, argnums=0):
    """Wrap ``f`` so that it returns ``(f(*args), df/dargs[argnums])``.

    ``f`` must return a scalar tensor. ``argnums`` is an int (one gradient) or a tuple of ints (a tuple
    of gradients, in that order). Arguments may be arrays, numbers or tensors; the gradients are tensors
    with the arguments' shapes.
    """

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        args, nums, nested = _prepare(args, argnums)
        value = f(*args, **kwargs)
        if not isinstance(value, Tensor):
            raise GraphError(
                f"value_and_grad: {getattr(f, '__name__', 'f')} must return a Tensor, "
                f"got {type(value).__name__}"
            )
        if value.data.size != 1:
            raise GraphError(
                f"value_and_grad: {getattr(f, '__name__', 'f')} must return a scalar, got shape {value.shape}"
            )
        grads = gradients([value], [args[i] for i in nums], create_graph=nested)
        if isinstance(argnums, int):
            return value, grads[0]
        return value, tuple(grads)

    return wrapped


def grad(f, argnums=0):
    """Wrap ``f`` so that it returns the gradient of its scalar result with respect to ``args[argnums]``."""
    vg = value_and_grad(f, argnums)

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        return vg(*args, **kwargs)[1]

    return wrapped
