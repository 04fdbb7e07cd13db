"""One class per differentiable operation."""

from __future__ import annotations

import weakref

import numpy as np

from ..backend import get_array_module
from .errors import DTypeError, GraphError, ShapeError
from .mode import _state as _mode_state
from .tensor import Tensor, as_array, wrap

_new = object.__new__

__all__ = ["Function"]


class Function:
    """Base of every operation.

    Subclasses implement ``forward(xp, *arrays)`` on raw arrays (numpy or cupy, via ``xp``) and
    ``backward(*grad_outputs)`` on tensors, written with engine ops so that the backward pass is itself
    differentiable (gradients of gradients). ``backward`` returns one gradient (a Tensor, or ``None``
    for no gradient) per input. Set ``retain_outputs = True`` when backward needs the outputs; read
    them with :meth:`output`. Gradients of ``None`` outputs arrive as ``None``.
    """

    retain_outputs = False
    #: Inputs may have different floating dtypes only when an op says so (e.g. astype).
    check_dtypes = True

    def __init__(self):
        self.inputs: tuple[Tensor, ...] | None = None
        self.generation = 0
        self._outputs = ()
        self._output_data = None

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    # ------------------------------------------------------------------ apply
    def __call__(self, *inputs):
        # Fast paths below matter: this runs once per op, thousands of times per training step.
        tensors = inputs
        for x in inputs:
            if type(x) is not Tensor:
                tensors = _as_tensors(inputs)
                break
        arrays = [t.data for t in tensors]
        if self.check_dtypes and len(arrays) > 1:
            first = arrays[0].dtype
            for a in arrays:
                if a.dtype != first:
                    self._check_dtypes(tensors)
                    break
        if not arrays:
            xp = None
        elif type(arrays[0]) is np.ndarray:
            xp = np
        else:
            xp = get_array_module(arrays[0])
        try:
            outputs = self.forward(xp, *arrays)
        except ShapeError:
            raise
        except ValueError as exc:  # numpy's broadcasting and shape errors do not say which op failed
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
            raise ShapeError(f"{self.name}: {exc} (operand shapes {shapes})") from exc
        record = False
        if getattr(_mode_state, "enabled", True):  # is_grad_enabled(), inlined
            for t in tensors:
                if t.requires_grad:
                    record = True
                    break
        if record:
            self.inputs = tensors
            generation = 0
            for t in tensors:
                if t.generation > generation:
                    generation = t.generation
            self.generation = generation
        if not isinstance(outputs, tuple):  # one output (nearly every op): no tuples of results
            if type(outputs) is np.ndarray:  # wrap(outputs), inlined
                r = _new(Tensor)
                r.data = outputs
                r.grad = r.creator = r.name = None
                r.requires_grad = r._retain = False
                r.generation = 0
            else:
                r = wrap(outputs)
            if record:
                if r.data.dtype.kind == "f":
                    r.requires_grad = True
                    r.creator = self
                    r.generation = generation + 1
                self._outputs = (weakref.ref(r),)
            if self.retain_outputs:
                self._output_data = (outputs,)
            return r
        results = tuple([wrap(y) for y in outputs])
        if record:
            for r in results:
                if r.data.dtype.kind == "f":
                    r.requires_grad = True
                    r.creator = self
                    r.generation = generation + 1
            self._outputs = tuple([weakref.ref(r) for r in results])
        if self.retain_outputs:
            self._output_data = outputs
        return results

    def _check_dtypes(self, tensors):
        first = tensors[0].data.dtype
        for t in tensors:
            if t.data.dtype != first:
                break
        else:
            return
        float_dtypes = {t.data.dtype for t in tensors if t.data.dtype.kind == "f"}
        if len(float_dtypes) > 1:
            shapes = ", ".join(f"{t.data.dtype}{tuple(t.shape)}" for t in tensors)
            raise DTypeError(
                f"{self.name}: operands have different floating dtypes ({shapes}); cast one with .astype()"
            )

    def output(self, index: int = 0) -> Tensor:
        """The ``index``-th output as a tensor inside the graph (for ops with ``retain_outputs``).

        When the caller has dropped the output tensor, a new one with the same data and this function as
        its creator is made, so gradients of gradients still flow through it.
        """
        ref = self._outputs[index]() if self._outputs else None
        if ref is not None:
            return ref
        if self._output_data is None:
            raise GraphError(f"{self.name}: output {index} was not retained for backward")
        out = Tensor(self._output_data[index], requires_grad=self.inputs is not None)
        if self.inputs is not None:
            out.creator = self
            out.generation = self.generation + 1
        return out

    def release(self) -> None:
        """Drop references to inputs and retained outputs (after a backward pass that frees the graph)."""
        self.inputs = None
        self._output_data = None

    # ------------------------------------------------------------------ to implement
    def forward(self, xp, *arrays):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def backward(self, *grad_outputs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no gradient")


def _as_tensors(inputs) -> tuple[Tensor, ...]:
    """Turn the inputs into tensors; numbers take the dtype and device of the first tensor input."""
    for x in inputs:
        if type(x) is not Tensor:
            break
    else:  # all tensors already (most calls)
        return tuple(inputs)
    like = next((x for x in inputs if isinstance(x, Tensor)), None)
    if like is None:
        return tuple(x if isinstance(x, Tensor) else Tensor(_plain_array(x)) for x in inputs)
    return tuple(x if isinstance(x, Tensor) else Tensor(as_array(x, like=like.data)) for x in inputs)


def _plain_array(x):
    import numpy as np

    if hasattr(x, "dtype") and hasattr(x, "shape"):
        return x
    a = np.asarray(x)
    if a.dtype.kind == "f":
        a = a.astype(np.float32)
    elif a.dtype.kind not in "biu":
        raise DTypeError(f"cannot make a tensor from {type(x).__name__} of dtype {a.dtype}")
    return a
