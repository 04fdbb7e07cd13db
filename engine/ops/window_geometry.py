"""The geometry of a 2-d window op (convolution, pooling): kernel, stride, padding, dilation, groups,
normalised from the user's arguments once per distinct arguments and kept in a bounded cache."""

from __future__ import annotations

from dataclasses import dataclass

from ..autodiff.errors import ShapeError

__all__ = ["ConvGeometry", "make_geometry", "cached", "GEOMETRIES_MAX"]


@dataclass(frozen=True)
class ConvGeometry:
    """Kernel size, stride, padding ((top, bottom), (left, right)), dilation and groups of a 2-d window op."""

    kh: int
    kw: int
    sh: int = 1
    sw: int = 1
    pads: tuple = ((0, 0), (0, 0))
    dh: int = 1
    dw: int = 1
    groups: int = 1

    def output_hw(self, h, w):
        (pt, pb), (pl, pr) = self.pads
        ho = (h + pt + pb - self.dh * (self.kh - 1) - 1) // self.sh + 1
        wo = (w + pl + pr - self.dw * (self.kw - 1) - 1) // self.sw + 1
        return ho, wo


def _pair(value, name, op):
    if isinstance(value, int):
        return value, value
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{op}: invalid value for `{name}`. Expected an int or a pair. Received: {value}")
    return value


#: Geometries already made, by their arguments and the arguments' types (so that an argument of a type
#: the checks below reject, equal to one they accept, still reaches the checks). ConvGeometry is frozen.
_GEOMETRIES: dict = {}
GEOMETRIES_MAX = 512  # emptied when full: a network has a few window ops, each seeing few input sizes


def make_geometry(op, x_hw, kernel_hw, stride=1, padding=0, dilation=1, groups=1) -> ConvGeometry:
    """Normalise window arguments (ints, pairs, ``"same"``/``"valid"`` padding) into a ConvGeometry.

    Made once per distinct arguments (every training step asks again, ~4 times for a small CNN)."""
    key = (op, x_hw, kernel_hw, stride, padding, dilation, groups)
    key += (type(stride), type(padding), type(dilation), type(groups))
    return cached(_GEOMETRIES, key, _make_geometry, op, x_hw, kernel_hw, stride, padding, dilation, groups)


def cached(cache: dict, key: tuple, make, *args):
    """``cache[key]``, or ``make(*args)`` kept there (the cache emptied when it holds
    :data:`GEOMETRIES_MAX`); not kept when the key is unhashable (a list argument). Errors are never kept."""
    try:
        geom = cache.get(key)
    except TypeError:  # an unhashable argument: no cache
        return make(*args)
    if geom is None:
        geom = make(*args)
        if len(cache) >= GEOMETRIES_MAX:
            cache.clear()
        cache[key] = geom
    return geom


def _make_geometry(op, x_hw, kernel_hw, stride, padding, dilation, groups) -> ConvGeometry:
    kh, kw = kernel_hw
    sh, sw = _pair(stride, "stride", op)
    dh, dw = _pair(dilation, "dilation", op)
    if min(sh, sw, dh, dw, kh, kw) < 1:
        raise ValueError(
            f"{op}: kernel {kernel_hw}, stride {(sh, sw)} and dilation {(dh, dw)} must be positive"
        )
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0), (0, 0))
        elif padding == "same":
            # TensorFlow's rule: output = ceil(input / stride); extra padding goes after.
            pads = []
            for size, k, s, d in ((x_hw[0], kh, sh, dh), (x_hw[1], kw, sw, dw)):
                out = -(-size // s)
                total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
                pads.append((total // 2, total - total // 2))
            pads = tuple(pads)
        else:
            raise ValueError(
                f"{op}: invalid value for `padding`. Expected an int, a pair, 'same' or 'valid'. "
                f"Received: {padding!r}"
            )
    else:
        ph, pw = _pair(padding, "padding", op)
        if min(ph, pw) < 0:
            raise ValueError(f"{op}: padding {padding} must not be negative")
        pads = ((ph, ph), (pw, pw))
    geom = ConvGeometry(kh, kw, sh, sw, pads, dh, dw, groups)
    ho, wo = geom.output_hw(*x_hw)
    if ho < 1 or wo < 1:
        raise ShapeError(
            f"{op}: input of spatial size {tuple(x_hw)} is too small for kernel {kernel_hw} "
            f"with dilation {(dh, dw)} and padding {pads}"
        )
    return geom
