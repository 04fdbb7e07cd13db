"""A grid of classified samples: each input image with the predicted class and its confidence.

Green caption when the prediction is right, red when wrong, so a glance tells how the classifier does.
Tiles are created once for the grid size and their pixmaps replaced on each update.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from studio import theme
from studio.widgets.image_view import as_display_image

__all__ = ["SampleGrid"]


def _pixmap(image: np.ndarray, size: int) -> QtGui.QPixmap:
    """Greyscale or RGB float image (any range) to a square pixmap."""
    a = image.astype(np.float32)
    lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
    a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    a = np.ascontiguousarray((a * 255).astype(np.uint8))
    if a.ndim == 2:
        qimage = QtGui.QImage(
            a.data, a.shape[1], a.shape[0], a.strides[0], QtGui.QImage.Format.Format_Grayscale8
        )
    else:
        qimage = QtGui.QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QtGui.QImage.Format.Format_RGB888)
    return QtGui.QPixmap.fromImage(qimage.copy()).scaled(
        size, size, QtCore.Qt.AspectRatioMode.KeepAspectRatio, QtCore.Qt.TransformationMode.FastTransformation
    )


class SampleGrid(QtWidgets.QWidget):
    """Up to ``columns * rows`` samples with "pred (confidence)" captions."""

    def __init__(
        self, columns: int = 6, rows: int = 3, tile: int = 56, parent: QtWidgets.QWidget | None = None
    ):
        super().__init__(parent)
        self.columns, self.rows, self.tile = columns, rows, tile
        self.title = QtWidgets.QLabel(
            "Sample predictions: predicted class (confidence); green right, red wrong"
        )
        self.title.setProperty("role", "headline")
        self.accuracy_label = QtWidgets.QLabel("")
        self.accuracy_label.setProperty("role", "caption")
        grid = QtWidgets.QGridLayout()
        grid.setSpacing(4)
        self._tiles: list[tuple[QtWidgets.QLabel, QtWidgets.QLabel]] = []
        for i in range(columns * rows):
            image, caption = QtWidgets.QLabel(), QtWidgets.QLabel()
            image.setFixedSize(tile, tile)
            image.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            caption.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            caption.setProperty("role", "caption")
            cell = QtWidgets.QVBoxLayout()
            cell.setSpacing(0)
            cell.addWidget(image, 0, QtCore.Qt.AlignmentFlag.AlignCenter)
            cell.addWidget(caption)
            grid.addLayout(cell, i // columns, i % columns)
            self._tiles.append((image, caption))
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(grid)
        layout.addWidget(self.accuracy_label)
        layout.addStretch(1)
        self.updates = 0

    def set_samples(self, inputs, probabilities, targets=None, classes=None) -> None:
        """Show samples.

        Parameters
        ----------
        inputs : array (N, ...)
            One image (or flat square vector) per sample.
        probabilities : array (N, classes)
        targets : array (N,) of class indices or (N, classes) one-hot, optional
        classes : sequence of str, optional
        """
        probabilities = np.asarray(probabilities, dtype=np.float64)
        predicted = probabilities.argmax(axis=1)
        confidence = probabilities.max(axis=1)
        truth = None
        if targets is not None:
            t = np.asarray(targets)
            truth = t.argmax(axis=1) if t.ndim == 2 else t.astype(int).ravel()
        right = 0
        for i, (image_label, caption) in enumerate(self._tiles):
            if i >= len(probabilities):
                image_label.clear()
                caption.clear()
                continue
            image_label.setPixmap(_pixmap(as_display_image(inputs[i]), self.tile))
            name = str(classes[predicted[i]]) if classes is not None else str(predicted[i])
            caption.setText(f"{name} ({confidence[i]:.0%})")
            ok = truth is None or truth[i] == predicted[i]
            right += ok
            caption.setStyleSheet(f"color: {theme.OK_COLOR if ok else theme.ERROR_COLOR}")
            caption.setToolTip("right" if ok else f"wrong: the answer is {truth[i]}")
        shown = min(len(probabilities), len(self._tiles))
        if truth is not None and shown:
            self.accuracy_label.setText(f"{right} of {shown} shown samples right")
        self.updates += 1
