"""Errors raised by the autodiff core. They name the op and the shapes involved."""


class ShapeError(ValueError):
    """Operands whose shapes do not fit an operation."""


class DTypeError(TypeError):
    """Operands whose dtypes do not fit an operation."""


class GraphError(RuntimeError):
    """Misuse of the recorded graph (backward twice on a freed graph, non-scalar backward, ...)."""
