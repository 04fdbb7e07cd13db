"""Image augmentation on batches ``(B, H, W[, C])``: flips, padded random crops, small rotations, noise.

Every draw comes from the generator the caller passes (the iterator derives it from
``(seed, epoch, batch index)``), so augmented batches are reproducible and resumable. Each record gets
its own draw; the work is vectorised over the batch.
"""

from __future__ import annotations

import numpy as np

from engine.data.preprocess import Preprocessor, register_preprocessor

__all__ = ["Flip", "RandomCrop", "Rotate", "Noise"]


def _as_images(x: np.ndarray):
    """View ``(B, H, W)`` as ``(B, H, W, 1)``; return the view and whether to squeeze back."""
    if x.ndim == 3:
        return x[..., None], True
    if x.ndim != 4:
        raise ValueError(
            f"image augmentation needs records of shape (H, W) or (H, W, C); received {x.shape[1:]}"
        )
    return x, False


@register_preprocessor
class Flip(Preprocessor):
    """Mirror each image with probability ``p``.

    Parameters
    ----------
    horizontal, vertical : bool
        Which flips may happen (each drawn independently).
    p : float
        Probability of each enabled flip.
    """

    def __init__(
        self,
        horizontal: bool = True,
        vertical: bool = False,
        p: float = 0.5,
        section: str = "inputs",
        seed: int = 0,
    ):
        super().__init__(section, seed)
        self.horizontal, self.vertical, self.p = bool(horizontal), bool(vertical), float(p)

    @classmethod
    def _config_keys(cls):
        return ("horizontal", "vertical", "p")

    def _config(self):
        return {"horizontal": int(self.horizontal), "vertical": int(self.vertical), "p": self.p}

    def apply_array(self, x, rng):
        images, squeeze = _as_images(x)
        out = images.copy()
        n = len(out)
        if self.horizontal:
            mask = rng.random(n) < self.p
            out[mask] = out[mask][:, :, ::-1]
        if self.vertical:
            mask = rng.random(n) < self.p
            out[mask] = out[mask][:, ::-1]
        return out[..., 0] if squeeze else out


@register_preprocessor
class RandomCrop(Preprocessor):
    """Pad each image with zeros by ``padding`` pixels, then cut a random window of the original size.

    Parameters
    ----------
    padding : int
    """

    def __init__(self, padding: int = 4, section: str = "inputs", seed: int = 0):
        super().__init__(section, seed)
        self.padding = int(padding)

    @classmethod
    def _config_keys(cls):
        return ("padding",)

    def _config(self):
        return {"padding": self.padding}

    def apply_array(self, x, rng):
        images, squeeze = _as_images(x)
        p = self.padding
        b, h, w, _ = images.shape
        padded = np.pad(images, ((0, 0), (p, p), (p, p), (0, 0)))
        dy = rng.integers(0, 2 * p + 1, size=b)
        dx = rng.integers(0, 2 * p + 1, size=b)
        rows = (dy[:, None] + np.arange(h)[None, :])[:, :, None]
        cols = (dx[:, None] + np.arange(w)[None, :])[:, None, :]
        out = padded[np.arange(b)[:, None, None], rows, cols]
        return out[..., 0] if squeeze else out


@register_preprocessor
class Rotate(Preprocessor):
    """Rotate each image about its centre by a random angle in ``[-degrees, degrees]`` (bilinear, zero fill).

    Parameters
    ----------
    degrees : float
        Largest rotation; meant for small angles (a few to ~30 degrees).
    """

    def __init__(self, degrees: float = 10.0, section: str = "inputs", seed: int = 0):
        super().__init__(section, seed)
        self.degrees = float(degrees)

    @classmethod
    def _config_keys(cls):
        return ("degrees",)

    def _config(self):
        return {"degrees": self.degrees}

    def apply_array(self, x, rng):
        images, squeeze = _as_images(x.astype(np.float32, copy=False))
        b, h, w, c = images.shape
        theta = np.deg2rad(rng.uniform(-self.degrees, self.degrees, size=b))
        cy, cx = (h - 1) / 2, (w - 1) / 2
        yy, xx = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
        cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
        # Inverse mapping: where in the source each output pixel comes from.
        src_y = cos * yy[None] - sin * xx[None] + cy
        src_x = sin * yy[None] + cos * xx[None] + cx
        y0, x0 = np.floor(src_y).astype(np.int64), np.floor(src_x).astype(np.int64)
        fy, fx = (src_y - y0).astype(np.float32)[..., None], (src_x - x0).astype(np.float32)[..., None]
        padded = np.pad(images, ((0, 0), (1, 2), (1, 2), (0, 0)))
        bi = np.arange(b)[:, None, None]

        def at(yi, xi):
            # Coordinates outside the image land in the zero border of `padded`.
            yi = np.clip(yi + 1, 0, h + 2)
            xi = np.clip(xi + 1, 0, w + 2)
            return padded[bi, yi, xi]

        out = (at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx) * (1 - fy) + (
            at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
        ) * fy
        out = out.astype(np.float32)
        return out[..., 0] if squeeze else out


@register_preprocessor
class Noise(Preprocessor):
    """Add Gaussian noise with standard deviation ``std``, optionally clipped to ``[low, high]``.

    Parameters
    ----------
    std : float
    clip : (float, float) or None
        Range to clip to after adding noise; ``(0, 1)`` by default, for images in [0, 1].
    """

    def __init__(self, std: float = 0.05, clip=(0.0, 1.0), section: str = "inputs", seed: int = 0):
        super().__init__(section, seed)
        self.std = float(std)
        self.clip = None if clip is None else (float(clip[0]), float(clip[1]))

    @classmethod
    def _config_keys(cls):
        return ("std", "clip")

    def _config(self):
        return {"std": self.std, **({"clip": np.array(self.clip)} if self.clip is not None else {})}

    @classmethod
    def from_state(cls, state):
        obj = super().from_state(state)
        if "clip" not in state:
            obj.clip = None
        return obj

    def apply_array(self, x, rng):
        out = x.astype(np.float32) + rng.normal(0.0, self.std, size=x.shape).astype(np.float32)
        if self.clip is not None:
            np.clip(out, self.clip[0], self.clip[1], out=out)
        return out
