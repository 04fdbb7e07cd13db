"""Shape operations: reshape, transpose, indexing, joining and splitting, padding, squeezing."""

from __future__ import annotations

import numpy as np

from ..autodiff.errors import ShapeError
from ..autodiff.function import Function
from ..autodiff.mode import is_grad_enabled
from ..autodiff.tensor import Tensor, wrap
from .broadcast import broadcast_to  # re-exported as a shape op

__all__ = [
    "reshape",
    "flatten",
    "transpose",
    "swapaxes",
    "getitem",
    "concat",
    "stack",
    "split",
    "pad",
    "broadcast_to",
    "squeeze",
    "expand_dims",
]


class Reshape(Function):
    def __init__(self, shape):
        super().__init__()
        self.shape = shape

    def forward(self, xp, x):
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ShapeError(
                f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into {self.shape}"
            ) from None

    def backward(self, g):
        if not is_grad_enabled():  # no graph of this backward wanted: the view without a Function
            return (wrap(g.data.reshape(self.inputs[0].shape)),)
        return (reshape(g, self.inputs[0].shape),)


class Transpose(Function):
    def __init__(self, axes):
        super().__init__()
        self.axes = axes

    def forward(self, xp, x):
        return x.transpose(self.axes)

    def backward(self, g):
        if self.axes is None:
            return (transpose(g),)
        inverse = tuple(int(i) for i in np.argsort(self.axes))
        return (transpose(g, inverse),)


class GetItem(Function):
    def __init__(self, index):
        super().__init__()
        self.index = index

    def forward(self, xp, x):
        try:
            return x[self.index]
        except IndexError as exc:
            raise ShapeError(
                f"getitem: index {self.index!r} does not fit a tensor of shape {x.shape}: {exc}"
            ) from None

    def backward(self, g):
        return (GetItemGrad(self.index, self.inputs[0].shape)(g),)


class GetItemGrad(Function):
    """Scatter-add a gradient back into the indexed positions of a zero array."""

    def __init__(self, index, shape):
        super().__init__()
        self.index, self.shape = index, shape

    def forward(self, xp, g):
        out = xp.zeros(self.shape, dtype=g.dtype)
        if _has_array_index(self.index):
            if xp is np:
                np.add.at(out, self.index, g)
            else:
                xp.add.at(out, self.index, g)
        else:
            out[self.index] = g
        return out

    def backward(self, gg):
        return (getitem(gg, self.index),)


def _has_array_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(hasattr(p, "shape") or isinstance(p, list) for p in parts)


class Concat(Function):
    def __init__(self, axis):
        super().__init__()
        self.axis = axis

    def forward(self, xp, *xs):
        ref = xs[0]
        for x in xs:
            if x.ndim != ref.ndim or any(
                a != b for d, (a, b) in enumerate(zip(x.shape, ref.shape)) if d != self.axis % ref.ndim
            ):
                shapes = ", ".join(str(tuple(t.shape)) for t in xs)
                raise ShapeError(f"concat: shapes {shapes} do not match except on axis {self.axis}")
        return xp.concatenate(xs, axis=self.axis)

    def backward(self, g):
        sizes = [x.shape[self.axis] for x in self.inputs]
        return tuple(split(g, list(np.cumsum(sizes)[:-1]), axis=self.axis)) if len(sizes) > 1 else (g,)


class Split(Function):
    def __init__(self, indices, axis):
        super().__init__()
        self.indices, self.axis = indices, axis

    def forward(self, xp, x):
        return tuple(xp.split(x, self.indices, axis=self.axis))

    def backward(self, *gs):
        x = self.inputs[0]
        pieces = []
        bounds = [0, *list(self.indices), x.shape[self.axis]]
        for g, lo, hi in zip(gs, bounds[:-1], bounds[1:]):
            if g is None:
                shape = list(x.shape)
                shape[self.axis] = hi - lo
                g = Tensor(x.xp.zeros(shape, dtype=x.dtype))
            pieces.append(g)
        return (concat(pieces, axis=self.axis),)


class Pad(Function):
    def __init__(self, pad_width, value):
        super().__init__()
        self.pad_width, self.value = pad_width, value

    def forward(self, xp, x):
        return xp.pad(x, self.pad_width, mode="constant", constant_values=self.value)

    def backward(self, g):
        index = tuple(slice(lo, g.shape[i] - hi) for i, (lo, hi) in enumerate(self.pad_width))
        return (getitem(g, index),)


# ---------------------------------------------------------------------- functional wrappers
def reshape(x, shape):
    """Same data, new shape (one dimension may be -1)."""
    shape = (shape,) if isinstance(shape, int | np.integer) else tuple(int(s) for s in shape)
    if x.shape == shape:
        return x
    return Reshape(shape)(x)


def flatten(x, start_axis=1):
    """Merge all axes from ``start_axis`` on into one: (N, a, b, ...) -> (N, a*b*...)."""
    return reshape(x, x.shape[:start_axis] + (-1,))


def transpose(x, axes=None):
    """Permute axes (reverse them when ``axes`` is None)."""
    if axes is not None:
        axes = tuple(int(a) for a in axes)
        if sorted(a % x.ndim for a in axes) != list(range(x.ndim)):
            raise ShapeError(
                f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}"
            )
        axes = tuple(a % x.ndim for a in axes)
    return Transpose(axes)(x)


def swapaxes(x, a, b):
    """Exchange two axes."""
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, axes)


def getitem(x, index):
    """Basic and advanced indexing as numpy (slices, ints, integer arrays, boolean masks)."""
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        index = np.asarray(index)
    if isinstance(x, Tensor) and not isinstance(
        x.data, np.ndarray
    ):  # index arrays must live on the tensor's device
        xp = x.xp
        if hasattr(index, "shape"):
            index = xp.asarray(index)
        elif isinstance(index, tuple):
            index = tuple(xp.asarray(i) if hasattr(i, "shape") else i for i in index)
    return GetItem(index)(x)


def concat(xs, axis=0):
    """Join tensors along an existing axis."""
    xs = list(xs)
    if not xs:
        raise ShapeError("concat: needs at least one tensor")
    if len(xs) == 1:
        return xs[0] if isinstance(xs[0], Tensor) else Tensor(xs[0])
    return Concat(axis)(*xs)


def stack(xs, axis=0):
    """Join tensors of equal shape along a new axis."""
    xs = list(xs)
    shapes = {tuple(x.shape) for x in xs}
    if len(shapes) != 1:
        raise ShapeError(f"stack: tensors must share one shape, got {sorted(shapes)}")
    return concat([expand_dims(x, axis) for x in xs], axis=axis)


def split(x, indices_or_sections, axis=0):
    """Split along ``axis`` into equal sections (an int) or at the given indices (a list)."""
    n = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ShapeError(
                f"split: axis {axis} of length {n} does not divide into {indices_or_sections} parts"
            )
        step = n // indices_or_sections
        indices = [step * i for i in range(1, indices_or_sections)]
    else:
        indices = [int(i) for i in indices_or_sections]
    out = Split(indices, axis)(x)
    return list(out) if isinstance(out, tuple) else [out]


def pad(x, pad_width, value=0.0):
    """Pad with a constant. ``pad_width`` is ((before, after), ...) per axis, or one int for all."""
    if isinstance(pad_width, int):
        pad_width = [(pad_width, pad_width)] * x.ndim
    pad_width = tuple((int(a), int(b)) for a, b in pad_width)
    if len(pad_width) != x.ndim or any(a < 0 or b < 0 for a, b in pad_width):
        raise ShapeError(f"pad: pad_width {pad_width} does not fit a tensor of shape {x.shape}")
    return Pad(pad_width, value)(x)


def squeeze(x, axis=None):
    """Remove axes of length one (all of them, or those named)."""
    if axis is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        axes = {a % x.ndim for a in axes}
        for a in axes:
            if x.shape[a] != 1:
                raise ShapeError(f"squeeze: axis {a} of shape {x.shape} has length {x.shape[a]}, not 1")
        shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
    return reshape(x, shape)


def expand_dims(x, axis):
    """Insert an axis of length one at ``axis``."""
    ndim = x.ndim + 1
    axis = axis % ndim
    shape = list(x.shape)
    shape.insert(axis, 1)
    return reshape(x, shape)
