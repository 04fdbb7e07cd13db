"""The differentiable array: data, gradient and the function that created it."""

from __future__ import annotations

import numpy as np

from ..backend import get_array_module, to_host
from .errors import DTypeError

__all__ = ["Tensor", "tensor", "as_tensor", "as_array"]


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Parameters
    ----------
    data : numpy.ndarray or cupy.ndarray
        The values. Kept as given (no copy); floating dtypes are required for gradients.
    requires_grad : bool
        Whether gradients are computed for this tensor when ``backward`` runs.
    name : str, optional
        A label used in error messages and by the parameter registry.

    Attributes
    ----------
    grad : Tensor or None
        The accumulated gradient after ``backward`` (same shape and dtype as ``data``).
    creator : Function or None
        The operation that produced this tensor (``None`` for leaves).
    """

    __slots__ = ("data", "grad", "creator", "requires_grad", "name", "generation", "_retain", "__weakref__")
    __array_priority__ = 200  # numpy scalars and arrays defer to our operators

    def __init__(self, data, requires_grad: bool = False, name: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        if isinstance(data, np.generic) or not hasattr(data, "shape"):
            data = np.asarray(data)  # numpy returns scalars from 0-d arithmetic
        if requires_grad and data.dtype.kind != "f":
            raise DTypeError(
                f"Tensor{' ' + repr(name) if name else ''} of dtype {data.dtype} "
                f"with shape {tuple(data.shape)} "
                "cannot require gradients: only floating-point tensors can"
            )
        self.data = data
        self.grad: Tensor | None = None
        self.creator = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self.generation = 0
        self._retain = False

    # ------------------------------------------------------------------ array-like facts
    @property
    def shape(self) -> tuple[int, ...]:
        shape = self.data.shape
        return shape if type(shape) is tuple else tuple(shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return int(self.data.size)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def xp(self):
        """The array module (numpy or cupy) that owns this tensor's data."""
        return get_array_module(self.data)

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __repr__(self) -> str:
        body = np.array2string(np.asarray(self.numpy()), precision=4, threshold=20, separator=", ")
        extra = ", requires_grad=True" if self.requires_grad else ""
        label = f", name={self.name!r}" if self.name else ""
        return f"tensor({body}, dtype={self.dtype}{extra}{label})"

    # ------------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The values as a numpy array on the host (a copy for device data, the array itself on the CPU)."""
        return to_host(self.data)

    def item(self) -> float:
        """The single value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.reshape(()).item()

    def detach(self) -> Tensor:
        """A new leaf tensor sharing this tensor's data, cut from the graph."""
        return Tensor(self.data, requires_grad=False, name=self.name)

    def retain_grad(self) -> Tensor:
        """Keep the gradient of this non-leaf tensor in ``.grad`` after ``backward``."""
        self._retain = True
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    # Operators (``+``, ``@``, ``[]``...), ``backward`` and the method forms of common ops (``sum``,
    # ``reshape``...) are attached from outside, by :mod:`engine.autodiff.graph` and
    # :mod:`engine.ops.tensor_methods`, as Chainer does: the core class never imports the ops built on it.

    # Comparisons give plain boolean tensors (no gradient), as numpy would.
    def _compare(self, other, fn):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(fn(self.data, other))

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    __hash__ = object.__hash__


_new = object.__new__


def wrap(data) -> Tensor:
    """A tensor of ``data`` exactly as ``Tensor(data)`` makes it, faster (an op's results, the backward
    walk's gradients): ``Tensor.__init__``'s checks only matter for arguments that are not arrays."""
    if type(data) is not np.ndarray:
        return Tensor(data)
    t = _new(Tensor)
    t.data = data
    t.grad = t.creator = t.name = None
    t.requires_grad = t._retain = False
    t.generation = 0
    return t


def tensor(data, requires_grad: bool = False, dtype=None, backend=None, name: str | None = None) -> Tensor:
    """Make a tensor from an array, a nested list or a number.

    Python numbers and lists of floats become float32 (the compute default); arrays keep their dtype
    unless ``dtype`` is given. ``backend`` (a :class:`~engine.backend.Backend` or its name) moves host
    data to that device.
    """
    if isinstance(data, Tensor):
        data = data.data
    if not hasattr(data, "dtype") or isinstance(data, np.generic):
        array = np.asarray(data)
        if dtype is None and array.dtype.kind == "f" and not isinstance(data, np.generic):
            array = array.astype(np.float32)
        data = array
    if backend is not None and isinstance(data, np.ndarray):
        from ..backend import get_backend

        data = get_backend(backend).from_host(data)
    if dtype is not None and data.dtype != np.dtype(dtype):
        data = data.astype(dtype)
    return Tensor(data, requires_grad=requires_grad, name=name)


def as_array(value, like=None, xp=None):
    """The array behind ``value``: a tensor's data, or a number/array cast to ``like``'s dtype."""
    if isinstance(value, Tensor):
        return value.data
    if like is not None:
        xp = get_array_module(like)
        if isinstance(value, int | float | bool) or (isinstance(value, np.generic)):
            dtype = like.dtype if like.dtype.kind == "f" else np.asarray(value).dtype
            return xp.asarray(value, dtype=dtype)
        return xp.asarray(value)
    return (xp or np).asarray(value)


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """``value`` as a tensor; numbers take ``like``'s dtype and device (constants never require grad)."""
    if isinstance(value, Tensor):
        return value
    if like is not None:
        return Tensor(as_array(value, like=like.data))
    if isinstance(value, int | float):
        return Tensor(np.asarray(value, dtype=np.float32 if isinstance(value, float) else None))
    return Tensor(value)
