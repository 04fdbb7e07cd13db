"""Optional compiled kernels (numba) for the CNN passes numpy runs as several strided passes.

Off by default. A project's ``training.kernels`` setting (``"compiled"``; applied by
:func:`engine.run.build_run` for its run, see :mod:`engine.kernels`), ``SIGMA_KERNELS=compiled`` in the
environment or :func:`set_kernels` turns them on when numba is installed (``pip install
"sigma-studio[fast]"``); without numba the numpy code runs (the same results) and the user is told why.

Each kernel does in ONE pass over the data what the numpy code does in several:

- :func:`pair_pool`: 2x2/stride-2 max pooling, with the ReLU of ``relu_max_pool2d``;
- :func:`pair_scatter`: its backward, the ReLU mask, the winner masks and the scatter together;
- :func:`col2im_nhwc`: the stride-1 lowered convolution's col2im (each input position sums its taps).

Results are bit-identical to the numpy code: the same float operations in the same order
(``np.maximum``'s rule, the second operand at a tie of equal values and the NaN operand if any, is
kept; sums add the taps in the same order from zero). The kernels run on the calling thread only (no
numba thread pool): with two BLAS threads a numba-threaded kernel was no faster than a serial one, since
its workers meet OpenBLAS's spinning thread (bench/README.md, issue 22, fourth round). So they need no
thread budget of their own. Only host numpy arrays of float32/float64 in NCHW or channels-last memory
reach them; everything else (CuPy arrays, other dtypes, other strides) takes the numpy code.

Why not on by default: importing numba and loading its kernels adds ~105 MiB to a training process's
peak RSS (issue 22 keeps it under 150 MiB) and numba + llvmlite ~210 MB to an install; the first run
compiles for a few seconds (later runs load numba's on-disk cache).
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings

import numpy as np

__all__ = [
    "ENV",
    "NAMES",
    "INSTALL",
    "enabled",
    "available",
    "set_kernels",
    "choice",
    "using",
    "reason",
    "pair_pool",
    "pair_scatter",
    "col2im_nhwc",
]

#: Environment variable choosing the kernels: ``compiled`` (or ``numba``, the older word) or ``numpy``.
ENV = "SIGMA_KERNELS"
#: The kernels' names; ``numba`` is the older word for ``compiled`` (SIGMA_KERNELS=numba keeps working).
NAMES = ("numpy", "compiled", "numba")
#: How to get the compiled kernels.
INSTALL = 'pip install "sigma-studio[fast]"'


def _parse(name) -> bool:
    """True for the compiled kernels, False for numpy's; a ValueError naming the choices otherwise."""
    if name not in NAMES:
        raise ValueError(
            f"Invalid value for `kernels`. Expected 'compiled', 'numba' or 'numpy'. Received: {name!r}"
        )
    return name != "numpy"


def _from_environment() -> str | None:
    """The process's choice from SIGMA_KERNELS ("compiled" or "numpy"), None when it is not set."""
    text = os.environ.get(ENV, "").strip().lower()
    if not text:
        return None
    if text not in NAMES:  # a typo must not pass for a choice of numpy's kernels in silence
        warnings.warn(
            f"{ENV}={text!r} is not one of compiled, numba, numpy; it is ignored", UserWarning, stacklevel=2
        )
        return None
    return "numpy" if text == "numpy" else "compiled"


_chosen = _from_environment()  # the process's own choice (SIGMA_KERNELS, set_kernels); None: not made
_wanted = _chosen == "compiled"  # what the kernels below follow (the process's choice, or a run's)
_kernels = None  # the compiled module's namespace once built
_reason: str | None = None  # why the compiled kernels cannot run here (None: not tried yet / they can)
_lock = threading.Lock()
_DTYPES = (np.float32, np.float64)


def set_kernels(name: str) -> None:
    """Use ``"compiled"`` (if numba is installed; ``"numba"`` says the same) or ``"numpy"`` kernels from
    now on. This is the process's choice, as ``SIGMA_KERNELS`` is: it overrides a project's
    ``training.kernels`` (:mod:`engine.kernels`)."""
    global _wanted, _chosen
    _wanted = _parse(name)
    _chosen = "compiled" if _wanted else "numpy"


def choice() -> str | None:
    """The process's own choice, ``"compiled"`` or ``"numpy"`` (from ``SIGMA_KERNELS`` or
    :func:`set_kernels`), or None when neither made one."""
    return _chosen


@contextlib.contextmanager
def using(name: str):
    """Use these kernels (``"compiled"`` or ``"numpy"``) while the block runs, then the ones before.

    A run's choice (:meth:`engine.run.Run.fit`); it is not the process's choice (:func:`choice` is
    unchanged). The kernels are one switch for the whole process: two blocks overlapping on two threads
    each see the other's choice, which changes only the speed (the results are the same bits)."""
    global _wanted
    before, _wanted = _wanted, _parse(name)
    try:
        yield
    finally:
        _wanted = before


def reason() -> str | None:
    """Why the compiled kernels cannot run here ("numba cannot be imported (...)"), once something asked
    for them; else None."""
    return _reason


def _load(warn: bool = True):
    """The kernel namespace, compiled (or loaded from numba's cache) on first use; None without numba.

    The first failure warns when ``warn`` (a kernel called with the compiled kernels asked for: a
    script's SIGMA_KERNELS or set_kernels); :func:`available` does not warn (its caller tells the user)."""
    global _kernels, _reason
    with _lock:
        if _kernels is None and _reason is None:
            try:
                from . import compiled_kernels  # imports numba
            except ImportError as exc:
                _reason = f"numba cannot be imported ({exc})"
                if warn:
                    warnings.warn(
                        f"compiled kernels asked for but {_reason}: using numpy's kernels (the same "
                        f"results); to get them: {INSTALL}",
                        UserWarning,
                        stacklevel=3,
                    )
            else:
                _kernels = compiled_kernels
        return _kernels


def available() -> bool:
    """Whether the compiled kernels can run here (imports numba the first time: ~105 MiB, ~0.3 s).
    When not, :func:`reason` says why."""
    return _load(warn=False) is not None


def enabled() -> bool:
    """Whether the compiled kernels are asked for and available."""
    return _wanted and _load() is not None


def _host(*arrays) -> bool:
    return (
        all(type(a) is np.ndarray and a.dtype.type in _DTYPES for a in arrays)
        and len({a.dtype for a in arrays}) == 1
    )


def _channels_last(a):
    """``a`` (N, C, H, W) viewed (N, H, W, C) when that view is C-contiguous, else None."""
    v = a.transpose(0, 2, 3, 1)
    return v if v.flags.c_contiguous else None


def pair_pool(x, relu: bool):
    """2x2/stride-2 max pooling of ``x`` (N, C, H, W) (then ReLU when ``relu``), in x's memory order.

    Returns None when the kernels are off or ``x`` is not a host float array in NCHW or channels-last
    memory (the caller then runs the numpy code)."""
    if not (_wanted and _host(x)) or _load() is None:
        return None
    n, c, h, w = x.shape
    ho, wo = h // 2, w // 2
    if x.flags.c_contiguous:
        out = np.empty((n, c, ho, wo), dtype=x.dtype)
        _kernels.pair_pool_nchw(x, out, relu)
        return out
    xl = _channels_last(x)
    if xl is None:
        return None
    out = np.empty((n, ho, wo, c), dtype=x.dtype)
    _kernels.pair_pool_nhwc(xl, out, relu)
    return out.transpose(0, 3, 1, 2)


def pair_scatter(g, x, y):
    """The backward of :func:`pair_pool`: each window's ``g`` (masked by ``y > 0`` when ``y`` is given)
    at the window's first maximum of ``x`` (row-major order), zeros elsewhere; (N, C, H, W) in x's
    memory order. ``g`` and ``y`` have the pooled shape. None when the kernels cannot run."""
    arrays = (g, x) if y is None else (g, x, y)
    if not (_wanted and _host(*arrays)) or _load() is None:
        return None
    if x.flags.c_contiguous:
        order, kernel = None, _kernels.pair_scatter_nchw
    elif _channels_last(x) is not None:
        order, kernel = (0, 2, 3, 1), _kernels.pair_scatter_nhwc
    else:
        return None

    def arranged(a):  # in the kernel's loop order, C-contiguous (a quarter-size copy if it is not)
        return np.ascontiguousarray(a if order is None else a.transpose(order))

    xa = arranged(x)
    ga = arranged(g)
    ya = ga if y is None else arranged(y)
    out = np.empty_like(xa)
    kernel(ga, xa, ya, y is not None, out)
    return out if order is None else out.transpose(0, 3, 1, 2)


def col2im_nhwc(taps, pads, dilation, hw):
    """dx (N, H, W, C): each input position's sum of the kernel taps that read it, in tap order.

    ``taps`` (kh, kw, N, Ho, Wo, C) are a stride-1 convolution's per-tap input gradients, ``pads`` its
    (top, left) padding, ``dilation`` (dh, dw) and ``hw`` the input's (H, W). None when the kernels
    cannot run."""
    if not (_wanted and _host(taps) and taps.flags.c_contiguous) or _load() is None:
        return None
    kh, kw, n, ho, wo, c = taps.shape
    dx = np.empty((n, hw[0], hw[1], c), dtype=taps.dtype)
    _kernels.col2im_nhwc(taps, pads[0], pads[1], dilation[0], dilation[1], dx)
    return dx
