"""How a live chart's ranges follow its data: in steps rather than pyqtgraph's autorange on every
redraw, so most redraws keep the ranges (and the cached axes) unchanged.

Re-rendering an axis costs ~7 ms of GUI-thread time against ~1 ms for a redraw that keeps it, so a range
moves only when the data leaves it (then with room to travel on: a falling loss crosses the bottom edge a
few times per run, not at every redraw) or fills less than a third of it. The x axis doubles its span
when the data reaches its end.
"""

from __future__ import annotations

import numpy as np

__all__ = ["data_bounds", "stepped_ranges"]


def data_bounds(buffers: dict, hidden_runs, log_y: bool):
    """(x0, x1, y0, y1) over the shown series, in view coordinates (log10 on a log axis), or None.

    ``buffers`` maps ``(run, name)`` to a :class:`~studio.widgets.series_buffer.SeriesBuffer`; series of
    ``hidden_runs`` are left out, and so are non-finite values (and values <= 0 on a log axis).
    """
    xs, ys = [], []
    for key, buf in buffers.items():
        if buf.size == 0 or key[0] in hidden_runs:
            continue
        y = buf.y
        if log_y:
            y = np.log10(y[y > 0])
        y = y[np.isfinite(y)]
        if y.size:
            xs += [buf.x[0], buf.x[-1]]
            ys += [float(y.min()), float(y.max())]
    if not xs:
        return None
    return min(xs), max(xs), min(ys), max(ys)


def stepped_ranges(bounds, view_range, min_x_span: float, log_y: bool, force: bool = False):
    """The x and y ranges to show data ``bounds`` (from :func:`data_bounds`) in a view now showing
    ``view_range`` (``((x0, x1), (y0, y1))``, pyqtgraph's ``viewRange()``).

    Returns ``(x_range, y_range)``, each ``(low, high)`` or None where the view's range holds; ``force``
    fits both to the data now. The x range is set with 2 % padding, the y range as it is.
    """
    x0, x1, y0, y1 = bounds
    (vx0, vx1), (vy0, vy1) = view_range
    x_range = y_range = None
    if force or x0 < vx0 or x1 > vx1 or x0 > vx0 + 0.25 * (vx1 - vx0):
        span = max(2.0 * (x1 - x0), min_x_span, 1.0)  # a run of n points moves it ~log2(n) times
        x_range = (x0, x0 + span)
    # Non-negative data that has come within half its maximum of zero (a falling loss, an accuracy)
    # is shown from zero: the axis then holds for the rest of the run instead of moving each time
    # the loss reaches a new low.
    from_zero = not log_y and 0.0 <= y0 <= 0.5 * y1
    y_low = 0.0 if from_zero else y0
    y_span = y1 - y_low
    view_span = vy1 - vy0
    if force or y0 < vy0 or y1 > vy1 or y_span < view_span / 3:
        # A flat series (a constant learning rate) gets a band around its value, at its own scale.
        pad = 0.08 * y_span if y_span > 0 else (abs(y1) * 0.1 if y1 != 0 else 0.5)
        low, high = y_low - (0.25 * pad if from_zero else pad), y1 + pad
        if not force:  # room to travel on the side the data left by
            if y0 < vy0 and not from_zero:
                low -= 0.25 * y_span
            if y1 > vy1:
                high += 0.25 * y_span
        if force or not (np.isclose(low, vy0) and np.isclose(high, vy1)):
            y_range = (low, high)
    return x_range, y_range
