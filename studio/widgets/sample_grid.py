"""A grid of classified samples: each input image with the predicted class and its confidence.

Green caption when the prediction is right, red when wrong, so a glance tells how the classifier does.
The tiles are painted by one widget in one paint event: as 18 image and 18 caption labels, each update
re-laid-out and repainted 36 widgets and restyled 18 captions (~7 ms of GUI-thread time, holding the
GIL the training thread wants; see studio.pacing).
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from studio import theme
from studio.widgets.image_view import as_display_image
from studio.widgets.live_text import live_text

__all__ = ["SampleGrid"]

_GAP = 4


def _image(image: np.ndarray) -> QtGui.QImage:
    """Greyscale or RGB float image (any range, NaN ignored) to an 8-bit QImage that owns its pixels."""
    a = np.asarray(image, dtype=np.float32)
    finite = np.isfinite(a)
    if finite.any():
        lo, hi = float(a[finite].min()), float(a[finite].max())
        a = np.where(finite, (a - lo) / (hi - lo) if hi > lo else 0.0, 0.0)
    else:
        a = np.zeros_like(a)
    a = np.ascontiguousarray((a * 255).astype(np.uint8))
    fmt = QtGui.QImage.Format.Format_Grayscale8 if a.ndim == 2 else QtGui.QImage.Format.Format_RGB888
    return QtGui.QImage(a.data, a.shape[1], a.shape[0], a.strides[0], fmt).copy()


class _Tiles(QtWidgets.QWidget):
    """Paints ``columns * rows`` tiles: the image scaled into a ``tile`` square, the caption under it."""

    def __init__(self, columns: int, rows: int, tile: int, parent=None):
        super().__init__(parent)
        self.columns, self.rows, self.tile = columns, rows, tile
        self.entries: list[tuple[QtGui.QImage, str, bool, str]] = []  # image, caption, right, tooltip
        font = self.font()
        font.setPixelSize(11)
        self.setFont(font)
        self._caption_height = self.fontMetrics().height() + 2
        self._colors = {True: QtGui.QColor(theme.OK_COLOR), False: QtGui.QColor(theme.ERROR_COLOR)}
        self.max_columns, self.max_rows = columns, rows
        row = tile + self._caption_height + _GAP
        self.setMinimumWidth(min(3, columns) * (tile + _GAP * 3) + _GAP)  # never less than 3 columns
        self.setMinimumHeight(row + _GAP)  # never less than one row
        self.setMaximumHeight(rows * row + _GAP)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QtCore.QSize:  # Qt's name
        row = self.tile + self._caption_height + _GAP
        return QtCore.QSize(self.max_columns * (self.tile + _GAP * 3) + _GAP, self.max_rows * row + _GAP)

    def resizeEvent(self, event) -> None:  # Qt's name
        # As many columns and rows as the size holds (3 to 6 columns, 1 to 3 rows): a small column shows
        # fewer samples rather than setting the monitor's size or squeezing the confusion matrix out.
        size = event.size()
        self.columns = max(3, min(self.max_columns, (size.width() - _GAP) // (self.tile + _GAP * 3)))
        row = self.tile + self._caption_height + _GAP
        self.rows = max(1, min(self.max_rows, (size.height() - _GAP) // row))
        super().resizeEvent(event)

    def _cell(self, i: int) -> QtCore.QRect:
        w = self.tile + _GAP * 3
        h = self.tile + self._caption_height + _GAP
        return QtCore.QRect(_GAP + (i % self.columns) * w, _GAP + (i // self.columns) * h, w - _GAP, h - _GAP)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # Qt's name
        painter = QtGui.QPainter(self)
        for i, (image, caption, right, _tip) in enumerate(self.entries):
            cell = self._cell(i)
            if not cell.intersects(event.rect()):
                continue
            scaled = QtCore.QSize(image.width(), image.height()).scaled(
                self.tile, self.tile, QtCore.Qt.AspectRatioMode.KeepAspectRatio
            )
            target = QtCore.QRect(QtCore.QPoint(0, 0), scaled)
            target.moveCenter(QtCore.QPoint(cell.center().x(), cell.top() + self.tile // 2))
            painter.drawImage(target, image)
            painter.setPen(self._colors[right])
            text = QtCore.QRect(cell.left(), cell.top() + self.tile, cell.width(), self._caption_height)
            painter.drawText(text, QtCore.Qt.AlignmentFlag.AlignCenter, caption)
        painter.end()

    def tooltip_at(self, pos: QtCore.QPoint) -> str:
        """What the tile under ``pos`` (widget coordinates) says when hovered: right, or the answer."""
        return next((e[3] for i, e in enumerate(self.entries) if self._cell(i).contains(pos)), "")

    def event(self, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.ToolTip:
            tip = self.tooltip_at(event.pos())
            if tip:
                QtWidgets.QToolTip.showText(event.globalPos(), tip, self)
            else:
                QtWidgets.QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)


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
        self.title.setWordWrap(True)  # a narrow column wraps the title rather than widening the window
        self.accuracy_label = live_text(role="caption")  # see studio.widgets.live_text
        self.tiles = _Tiles(columns, rows, tile)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.tiles)
        layout.addWidget(self.accuracy_label)
        layout.addStretch(1)
        self.updates = 0

    def captions(self) -> list[tuple[str, bool]]:
        """What each shown tile says under its image, and whether that prediction is right."""
        return [(caption, right) for _image, caption, right, _tip in self.tiles.entries]

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
        shown = min(len(probabilities), self.tiles.columns * self.tiles.rows)  # what the size shows
        entries = []
        for i in range(shown):
            name = str(classes[predicted[i]]) if classes is not None else str(predicted[i])
            right = bool(truth is None or truth[i] == predicted[i])
            if truth is None:
                tip = ""
            else:
                answer = str(classes[truth[i]]) if classes is not None else str(truth[i])
                tip = "right" if right else f"wrong: the answer is {answer}"
            entries.append((_image(as_display_image(inputs[i])), f"{name} ({confidence[i]:.0%})", right, tip))
        self.tiles.entries = entries
        self.tiles.update()
        if truth is not None and shown:
            right = sum(e[2] for e in entries)
            text = f"{right} of {shown} shown samples right"
            if text != self.accuracy_label.text():
                self.accuracy_label.setText(text)
        self.updates += 1
