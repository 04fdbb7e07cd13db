"""Automatic differentiation: tensors, functions, the backward walk and the functional API."""

from .errors import DTypeError, GraphError, ShapeError
from .function import Function
from .functional import grad, value_and_grad
from .graph import backward, gradients
from .mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor, as_tensor, tensor

__all__ = [
    "Tensor",
    "tensor",
    "as_tensor",
    "Function",
    "backward",
    "gradients",
    "grad",
    "value_and_grad",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "ShapeError",
    "DTypeError",
    "GraphError",
]
