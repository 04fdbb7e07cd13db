"""Views that show only the latest state (status bar, ETA, sample predictions) draw a few times a second,
and the last value always shows once the run pauses or ends."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from engine import events as ev
from studio.pacing import Paced


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_paced_shows_the_newest_value_at_the_rate_and_flush_shows_what_was_held():
    clock, shown = _Clock(), []
    paced = Paced(shown.append, rate_hz=5.0, clock=clock)
    paced.push(1)  # the first value shows at once
    clock.now += 0.05
    paced.push(2)
    clock.now += 0.05
    paced.push(3)  # replaces 2: only the newest is ever shown
    assert shown == [1] and paced.holding
    clock.now += 0.11  # 0.21 s after the last shown value
    paced.push(4)
    assert shown == [1, 4] and not paced.holding
    clock.now += 0.01
    paced.push(5)
    paced.flush()
    paced.flush()  # nothing more held: no second call
    assert shown == [1, 4, 5] and paced.shown == 3
    paced.push(6)
    paced.poll()  # held, and not yet due
    assert shown == [1, 4, 5]
    clock.now += 0.2
    paced.poll()  # due: a tick of the bridge's timer shows it without a new value
    assert shown == [1, 4, 5, 6] and not paced.holding
    paced.push(6)
    paced.drop()  # a new run: the old run's held value is forgotten, the next push shows at once
    paced.flush()
    paced.push(7)
    assert shown == [1, 4, 5, 6, 7]


def test_paced_refuses_a_rate_that_is_not_positive():
    with pytest.raises(ValueError, match="rate_hz must be > 0, got 0"):
        Paced(print, rate_hz=0)


def test_a_real_run_updates_the_status_at_a_few_hertz_and_ends_on_its_last_iteration(qtbot, window):
    delivered = []
    window.bridge.sigIterationMetrics.connect(lambda events: delivered.append(events[-1].iteration))
    start = time.monotonic()
    window.bridge.start(window.project)
    qtbot.waitUntil(lambda: len(delivered) >= 12, timeout=60000)
    window.bridge.pause()
    qtbot.waitUntil(lambda: window.bridge.state == "paused", timeout=10000)
    elapsed = time.monotonic() - start
    # Paused: the status bar, the ETA line's bar and the predictions show the last delivered state.
    assert window.status_progress.text().endswith(f"iteration {delivered[-1]}")
    assert window.training.progress.value() == delivered[-1]
    assert window.training.eta.text() == "Paused"
    assert not window.status_line.pacer.holding
    assert window.status_line.pacer.shown <= 5 * elapsed + 2  # at most 5 a second (+ first and flush)
    window.bridge.stop()
    qtbot.waitUntil(lambda: not window.bridge.busy, timeout=10000)
    assert window.status_progress.text().endswith(f"iteration {delivered[-1]}")


def test_sample_grid_paints_every_tile_with_a_coloured_caption_and_a_tooltip(qtbot, window):
    monitor = window.monitor
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(3), size=8)
    predicted = probs.argmax(axis=1)
    targets = predicted.copy()
    targets[[2, 5]] = (targets[[2, 5]] + 1) % 3
    images = np.zeros((8, 10, 10))
    images[:, 2:8, 2:8] = 1.0  # a bright square in every tile
    images[3, 0, 0] = np.nan  # a NaN pixel is drawn black, not an error
    window.bridge.post(
        ev.SamplePredictions(
            kind="classification",
            inputs=images,
            predictions=probs,
            targets=targets,
            classes=("cat", "dog", "bird"),
        )
    )
    window.bridge.flush()
    grid = monitor.samples.grid
    qtbot.waitUntil(lambda: grid.isVisible(), timeout=5000)
    captions = grid.captions()
    names = ("cat", "dog", "bird")
    assert [c for c, _ in captions] == [f"{names[p]} ({probs[i].max():.0%})" for i, p in enumerate(predicted)]
    assert [ok for _, ok in captions] == [i not in (2, 5) for i in range(8)]
    assert grid.accuracy_label.text() == "6 of 8 shown samples right"

    picture = grid.tiles.grab().toImage()
    for i in range(8):
        cell = grid.tiles._cell(i)
        centre = QtCore.QPoint(cell.center().x(), cell.top() + grid.tile // 2)
        assert QtGui.QColor(picture.pixel(centre)).lightness() > 200, f"tile {i} has no image"
    # What hovering says (asked directly: a real tooltip is a top-level widget Qt creates and deletes on
    # its own, which the leak check would then wrap in Python and outlive).
    assert grid.tiles.tooltip_at(grid.tiles._cell(2).center()) == f"wrong: the answer is {names[targets[2]]}"
    assert grid.tiles.tooltip_at(grid.tiles._cell(0).center()) == "right"
    assert grid.tiles.tooltip_at(QtCore.QPoint(-5, -5)) == ""


def test_a_pacer_does_not_keep_its_view_alive():
    import gc
    import weakref

    class View:
        def __init__(self):
            self.seen = []
            self.pacer = Paced(self.show)

        def show(self, value):
            self.seen.append(value)

    view = View()
    view.pacer.push(1)
    assert view.seen == [1]
    gone = weakref.ref(view)
    pacer = view.pacer
    gc.disable()  # freed by reference counting alone, not by the cycle collector
    try:
        del view
        assert gone() is None
    finally:
        gc.enable()
    pacer.push(2)  # the view is gone: nothing to show, no error
    pacer.flush()
    assert pacer.shown == 1
