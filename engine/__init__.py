"""Sigma Studio's engine: autodiff, layers, networks, data, training. Never imports Qt.

The names below are the public contract that scripts rely on.
"""

from . import backend, ops
from .autodiff import Tensor, enable_grad, grad, gradients, no_grad, tensor, value_and_grad

__version__ = "0.1.0"

__all__ = [
    "Tensor",
    "tensor",
    "grad",
    "value_and_grad",
    "no_grad",
    "enable_grad",
    "gradients",
    "ops",
    "backend",
    "__version__",
]
