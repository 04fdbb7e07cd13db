"""A fixed-level image view (pyqtgraph ImageItem) with a caption.

Frames are copied before display (``ImageItem`` keeps a view of the array it is given, so a buffer
reused by the caller would tear) and drawn with fixed levels, so a frame's brightness means the same
thing from one frame to the next rather than being re-stretched every time.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from studio.widgets.live_text import live_text

__all__ = ["ImageView", "as_display_image"]


def as_display_image(array) -> np.ndarray:
    """(H, W), (H, W, 1), (H, W, 3), (C, H, W), flat square (H*W,) or per-pixel (H*W, C) data as a float32
    (H, W[, 3]) copy."""
    a = np.array(array, dtype=np.float32, copy=True)
    if a.ndim == 1:
        side = int(round(np.sqrt(a.size)))
        if side * side == a.size:
            a = a.reshape(side, side)
        elif a.size % 3 == 0 and int(round(np.sqrt(a.size // 3))) ** 2 * 3 == a.size:
            side = int(round(np.sqrt(a.size // 3)))
            a = a.reshape(side, side, 3)
        else:
            a = a.reshape(1, -1)
    if a.ndim == 2 and a.shape[1] in (1, 3) and int(round(np.sqrt(a.shape[0]))) ** 2 == a.shape[0] > 9:
        side = int(round(np.sqrt(a.shape[0])))  # (pixels, channels) from a coordinate network
        a = a.reshape(side, side, a.shape[1])
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = np.moveaxis(a, 0, -1)  # channels-first to channels-last
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    return a


class ImageView(QtWidgets.QWidget):
    """One image with a title above and a caption below.

    Parameters
    ----------
    title : str
    levels : (low, high)
        Value range mapped to black..white (fixed, see module docstring).
    """

    def __init__(self, title: str = "", levels=(0.0, 1.0), parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.levels = levels
        self.title = QtWidgets.QLabel(title)
        self.title.setProperty("role", "headline")
        self.title.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumSize(120, 120)
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.item = pg.ImageItem()
        self.view.addItem(self.item)
        self.caption = live_text(role="caption", alignment=QtCore.Qt.AlignmentFlag.AlignHCenter)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.caption)
        self.frames = 0  # how many frames were shown (tests and the bench read it)
        self._image: np.ndarray | None = None

    def set_image(self, array, caption: str | None = None) -> None:
        """Show a new frame (copied; clipped to the fixed levels)."""
        image = np.clip(as_display_image(array), *self.levels)
        self._image = image
        self.item.setImage(image, autoLevels=False, levels=self.levels)
        if self.frames == 0:
            self.view.autoRange(padding=0)
        self.frames += 1
        if caption is not None:
            self.caption.setText(caption)
            self.caption.setToolTip(caption)  # whole, where a narrow column cuts it
            self.caption.setCursorPosition(0)  # a cut caption shows its beginning, not its end

    def image(self) -> np.ndarray | None:
        """The frame shown last (a copy)."""
        return None if self._image is None else self._image.copy()
