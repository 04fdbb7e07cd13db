"""Testing helpers that users can apply to their own ops and layers."""

from .gradient_check import GradientCheckError, check_double_backward, check_gradients, numerical_grad

__all__ = ["check_gradients", "check_double_backward", "numerical_grad", "GradientCheckError"]
