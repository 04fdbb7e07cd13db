"""Shape ops: forward vs numpy, gradients, double backward (all linear, so double backward is exact)."""

import numpy as np
import pytest
from op_check import check_op, randn

import engine
from engine import ops
from engine.autodiff import ShapeError

X = randn(np.random.default_rng(0), 2, 3, 4)

CASES = {
    "reshape": (lambda t: ops.reshape(t, (4, -1)), lambda a: a.reshape(4, -1)),
    "reshape_method": (lambda t: t.reshape(6, 4), lambda a: a.reshape(6, 4)),
    "flatten": (ops.flatten, lambda a: a.reshape(2, -1)),
    "transpose": (ops.transpose, lambda a: a.transpose()),
    "permute": (lambda t: ops.transpose(t, (1, 2, 0)), lambda a: a.transpose(1, 2, 0)),
    "T": (lambda t: t.T, lambda a: a.T),
    "swapaxes": (lambda t: ops.swapaxes(t, 0, 2), lambda a: a.swapaxes(0, 2)),
    "slice": (lambda t: t[:, 1:, ::2], lambda a: a[:, 1:, ::2]),
    "int_index": (lambda t: t[1, :, -1], lambda a: a[1, :, -1]),
    "int_array_repeats": (lambda t: ops.getitem(t, np.array([1, 1, 0])), lambda a: a[np.array([1, 1, 0])]),
    "fancy_pair": (
        lambda t: t[np.array([0, 1, 1]), :, np.array([3, 0, 3])],
        lambda a: a[[0, 1, 1], :, [3, 0, 3]],
    ),
    "bool_mask": (lambda t: t[X > 0], lambda a: a[X > 0]),
    "pad": (lambda t: ops.pad(t, ((0, 1), (2, 0), (1, 1))), lambda a: np.pad(a, ((0, 1), (2, 0), (1, 1)))),
    "pad_value": (lambda t: ops.pad(t, 1, value=2.5), lambda a: np.pad(a, 1, constant_values=2.5)),
    "squeeze": (lambda t: ops.squeeze(ops.reshape(t, (2, 1, 12, 1))), lambda a: a.reshape(2, 12)),
    "squeeze_axis": (lambda t: ops.squeeze(ops.reshape(t, (2, 1, 12, 1)), 1), lambda a: a.reshape(2, 12, 1)),
    "expand_dims": (lambda t: ops.expand_dims(t, -1), lambda a: a[..., None]),
    "broadcast_to": (lambda t: ops.broadcast_to(t, (5, 2, 3, 4)), lambda a: np.broadcast_to(a, (5, 2, 3, 4))),
    "split_equal": (lambda t: tuple(ops.split(t, 2, axis=2)), lambda a: tuple(np.split(a, 2, axis=2))),
    "split_indices": (
        lambda t: tuple(ops.split(t, [1, 2], axis=1)),
        lambda a: tuple(np.split(a, [1, 2], axis=1)),
    ),
    "split_one_used": (lambda t: ops.split(t, 3, axis=1)[1], lambda a: np.split(a, 3, axis=1)[1]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_shape_op(backend, name):
    op, ref = CASES[name]
    check_op(backend, op, ref, [X], double=True)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat_and_stack(backend, axis):
    rng = np.random.default_rng(1)
    shapes = [(2, 3, 4)] * 3
    if axis != 0:
        shapes = [list(s) for s in shapes]
        for i, s in enumerate(shapes):
            s[axis] = i + 1
    xs = [randn(rng, *s) for s in shapes]
    check_op(
        backend,
        lambda *ts: ops.concat(ts, axis=axis),
        lambda *a: np.concatenate(a, axis=axis),
        xs,
        double=True,
    )
    same = [randn(rng, 2, 3) for _ in range(3)]
    check_op(
        backend, lambda *ts: ops.stack(ts, axis=axis), lambda *a: np.stack(a, axis=axis), same, double=True
    )


def test_zero_dim_getitem_and_reshape(backend):
    x = np.array(1.5)
    check_op(backend, lambda t: ops.reshape(t, (1, 1)), lambda a: a.reshape(1, 1), [x], double=True)
    v = randn(np.random.default_rng(2), 4)
    check_op(backend, lambda t: t[2], lambda a: a[2], [v], double=True)


def test_errors_name_the_op_and_shapes():
    t = engine.tensor(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\).*\(4,\)"):
        ops.reshape(t, (4,))
    with pytest.raises(ShapeError, match=r"concat: shapes \(2, 3\), \(3, 3\)"):
        ops.concat([t, engine.tensor(np.ones((3, 3)))], axis=1)
    with pytest.raises(ShapeError, match="stack"):
        ops.stack([t, engine.tensor(np.ones((3, 3)))])
    with pytest.raises(ShapeError, match="split: axis 1 of length 3"):
        ops.split(t, 2, axis=1)
    with pytest.raises(ShapeError, match="transpose"):
        ops.transpose(t, (0, 0))
    with pytest.raises(ShapeError, match="squeeze"):
        ops.squeeze(t, 0)
    with pytest.raises(ShapeError, match="getitem"):
        t[5]
    with pytest.raises(ShapeError, match="pad"):
        ops.pad(t, ((1, 1),))
