"""Shape preprocessors: ``Permute`` (reorder record axes) and ``Resize`` (bilinear image resize)."""

from __future__ import annotations

import numpy as np

from engine.data.preprocess import Preprocessor, register_preprocessor

__all__ = ["Permute", "Resize", "bilinear_resize"]


@register_preprocessor
class Permute(Preprocessor):
    """Reorder the axes of every record, e.g. ``axes=(2, 0, 1)`` turns HWC images into CHW.

    Parameters
    ----------
    axes : tuple of int
        A permutation of the record axes (the record axis itself is not counted).
    """

    def __init__(self, axes, section: str = "inputs", seed: int = 0):
        super().__init__(section, seed)
        self.axes = tuple(int(a) for a in axes)
        if sorted(self.axes) != list(range(len(self.axes))):
            raise ValueError(
                "Invalid value for `axes`. "
                f"Expected a permutation of 0..{len(self.axes) - 1}. Received: {axes}"
            )

    @classmethod
    def _config_keys(cls):
        return ("axes",)

    def _config(self):
        return {"axes": np.array(self.axes, dtype=np.int64)}

    def apply_array(self, x, rng):
        if x.ndim != len(self.axes) + 1:
            raise ValueError(
                f"Permute{self.axes} needs records with {len(self.axes)} axes; received shape {x.shape[1:]}"
            )
        return np.ascontiguousarray(x.transpose((0, *(a + 1 for a in self.axes))))


@register_preprocessor
class Resize(Preprocessor):
    """Resize image records ``(H, W[, C])`` to ``size`` with bilinear interpolation.

    Parameters
    ----------
    size : (height, width)

    Notes
    -----
    Sampling is at pixel centres (as Pillow does) without anti-aliasing: for shrinking by more than
    2x, resize at import (``load(..., image_size=...)``), which uses Pillow's filters.
    """

    def __init__(self, size, section: str = "inputs", seed: int = 0):
        super().__init__(section, seed)
        self.size = (int(size[0]), int(size[1]))

    @classmethod
    def _config_keys(cls):
        return ("size",)

    def _config(self):
        return {"size": np.array(self.size, dtype=np.int64)}

    def apply_array(self, x, rng):
        return bilinear_resize(x.astype(np.float32, copy=False), self.size)


def bilinear_resize(x: np.ndarray, size: tuple) -> np.ndarray:
    """Resize a batch ``(B, H, W[, C])`` to ``(B, h, w[, C])`` (float32, pixel-centre bilinear)."""
    squeeze = x.ndim == 3
    if squeeze:
        x = x[..., None]
    h_in, w_in = x.shape[1:3]
    h, w = size
    ys = np.clip((np.arange(h) + 0.5) * (h_in / h) - 0.5, 0, h_in - 1)
    xs = np.clip((np.arange(w) + 0.5) * (w_in / w) - 0.5, 0, w_in - 1)
    y0, x0 = np.floor(ys).astype(np.int64), np.floor(xs).astype(np.int64)
    y1, x1 = np.minimum(y0 + 1, h_in - 1), np.minimum(x0 + 1, w_in - 1)
    wy = (ys - y0).astype(np.float32)[None, :, None, None]
    wx = (xs - x0).astype(np.float32)[None, None, :, None]
    top = x[:, y0][:, :, x0] * (1 - wx) + x[:, y0][:, :, x1] * wx
    bottom = x[:, y1][:, :, x0] * (1 - wx) + x[:, y1][:, :, x1] * wx
    out = (top * (1 - wy) + bottom * wy).astype(np.float32)
    return out[..., 0] if squeeze else out
