"""The growing (x, y) buffers a live chart keeps its series in: numpy arrays grown by amortised
doubling, never Python lists re-converted on every frame."""

from __future__ import annotations

import numpy as np

__all__ = ["SeriesBuffer"]


class SeriesBuffer:
    """Growing (x, y) float64 buffers. ``append`` is amortised O(batch)."""

    def __init__(self, capacity: int = 256):
        self._x = np.empty(capacity)
        self._y = np.empty(capacity)
        self.size = 0

    def append(self, xs, ys) -> None:
        xs = np.asarray(xs, dtype=np.float64).ravel()
        ys = np.asarray(ys, dtype=np.float64).ravel()
        need = self.size + xs.size
        if need > self._x.size:
            capacity = max(need, 2 * self._x.size)
            self._x = np.resize(self._x, capacity)
            self._y = np.resize(self._y, capacity)
        self._x[self.size : need] = xs
        self._y[self.size : need] = ys
        self.size = need

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]
