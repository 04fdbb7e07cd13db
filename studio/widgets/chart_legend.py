"""Keep a chart's legend off its data: it sits in the corner of the plot where it covers the fewest
points of the shown curves, moves there again as the data moves, and stays wherever the user drags it.

The legend is compact and semi-transparent; which corner is free is counted on the curves as drawn
(each resampled at a few hundred x positions, so a line between two far-apart epoch points counts too),
at most once a second, so it costs a fraction of a millisecond per refresh.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["LegendPlacer", "CORNERS"]

# (name, anchor): the legend's corner and the plot's corner it is pinned to, in preference order.
CORNERS = (
    ("top right", (1, 0)),
    ("top left", (0, 0)),
    ("bottom right", (1, 1)),
    ("bottom left", (0, 1)),
)
_MARGIN = 10  # pixels between the legend and the plot's edge
_SAMPLES = 400  # x positions per curve at which it is checked
_EVERY_S = 1.0


class LegendPlacer:
    """Places ``chart.legend`` (a pyqtgraph ``LegendItem`` on ``chart.view_box``) where the data is not.

    Attributes
    ----------
    corner : str or None
        The corner the legend is in now (``"top right"``...), None before the first placement.
    moved_by_user : bool
        The user dragged the legend: it stays there (until :meth:`reset`).
    """

    def __init__(self, chart):
        self.chart = chart
        self.legend = chart.legend
        self.corner: str | None = None
        self.moved_by_user = False
        self._placed_at = -1e9
        drag = self.legend.mouseDragEvent

        def dragged(event):  # the user's place wins from then on
            self.moved_by_user = True
            drag(event)

        self.legend.mouseDragEvent = dragged

    def reset(self) -> None:
        """Let the legend move to the free corner again (the chart's "follow the data" button)."""
        self.moved_by_user = False
        self.place(force=True)

    def _points(self) -> tuple[np.ndarray, np.ndarray]:
        """The shown curves as scene coordinates (resampled), as two flat arrays."""
        chart, box = self.chart, self.chart.view_box
        (vx0, vx1), (vy0, vy1) = box.viewRange()
        rect = box.sceneBoundingRect()
        if vx1 <= vx0 or vy1 <= vy0 or rect.width() <= 0:
            return np.empty(0), np.empty(0)
        log_y = chart.plot_item.ctrl.logYCheck.isChecked()
        xs, ys = [], []
        for key, curve in chart._curves.items():
            buf = chart._buffers.get(key)
            if buf is None or buf.size == 0 or not curve.isVisible():
                continue
            x, y = buf.x, buf.y
            if log_y:
                keep = y > 0
                x, y = x[keep], np.log10(y[keep])
            keep = np.isfinite(y)
            x, y = x[keep], y[keep]
            if x.size == 0:
                continue
            grid = np.linspace(x[0], x[-1], _SAMPLES) if x.size > 1 else x
            xs.append(grid)
            ys.append(np.interp(grid, x, y) if x.size > 1 else y)
        if not xs:
            return np.empty(0), np.empty(0)
        x, y = np.concatenate(xs), np.concatenate(ys)
        sx = rect.left() + (x - vx0) / (vx1 - vx0) * rect.width()
        sy = rect.top() + (vy1 - y) / (vy1 - vy0) * rect.height()
        return sx, sy

    def covered(self, corner: str) -> int:
        """How many sampled curve points the legend would cover in ``corner``."""
        sx, sy = self._points()
        left, top, right, bottom = self._rect(dict(CORNERS)[corner])
        return int(np.count_nonzero((sx >= left) & (sx <= right) & (sy >= top) & (sy <= bottom)))

    def _rect(self, anchor) -> tuple[float, float, float, float]:
        rect = self.chart.view_box.sceneBoundingRect()
        size = self.legend.boundingRect()
        w, h = size.width(), size.height()
        left = rect.left() + _MARGIN if anchor[0] == 0 else rect.right() - _MARGIN - w
        top = rect.top() + _MARGIN if anchor[1] == 0 else rect.bottom() - _MARGIN - h
        return left, top, left + w, top + h

    def place(self, force: bool = False) -> None:
        """Move the legend to the corner covering the fewest points (the first such in CORNERS)."""
        if self.moved_by_user or not self.legend.items:
            return
        now = time.monotonic()
        if not force and now - self._placed_at < _EVERY_S:
            return
        self._placed_at = now
        sx, sy = self._points()
        best, fewest = CORNERS[0], None
        for name, anchor in CORNERS:
            left, top, right, bottom = self._rect(anchor)
            count = int(np.count_nonzero((sx >= left) & (sx <= right) & (sy >= top) & (sy <= bottom)))
            if fewest is None or count < fewest:
                best, fewest = (name, anchor), count
        name, anchor = best
        if name != self.corner:
            offset = (_MARGIN if anchor[0] == 0 else -_MARGIN, _MARGIN if anchor[1] == 0 else -_MARGIN)
            self.legend.anchor(itemPos=anchor, parentPos=anchor, offset=offset)
            self.corner = name
