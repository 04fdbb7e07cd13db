"""Issue 15, part 6: charts as good as TensorBoard's — smoothing with the raw values faint behind,
validation in its own colour with a legend that says so, a readable flat learning rate, PNG and CSV
export, a hover readout; the confusion matrix's readout and shares toggle."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6 import QtGui

from studio.widgets.chart import LiveChart
from studio.widgets.confusion import ConfusionMatrixView


def _chart(qtbot, **kwargs):
    chart = LiveChart("Loss", "iteration", log_toggle=True, min_x_span=100, smoothing=True, **kwargs)
    qtbot.addWidget(chart)
    chart.resize(600, 400)
    chart.show()
    return chart


def test_smoothing_draws_an_average_over_the_faint_raw_values(qtbot):
    chart = _chart(qtbot)
    rng = np.random.default_rng(0)
    xs = np.arange(1, 301)
    ys = 2.0 * np.exp(-xs / 100) + rng.normal(0, 0.2, xs.size)
    chart.append("loss", xs[:150], ys[:150])
    chart.tools.smoothing.setValue(90)  # the slider: 0.90
    chart.append("loss", xs[150:], ys[150:])  # new points extend the average
    chart.refresh()
    ema, curve = chart._smoothed[(None, "loss")]
    sx, sy = curve.getData()
    assert len(sx) == 300 and np.std(np.diff(sy)) < 0.3 * np.std(np.diff(ys))
    assert abs(sy[0] - ys[0]) < 1e-9  # debiased: the first point is not pulled towards zero
    assert chart._curves[(None, "loss")].opts["pen"].color().alpha() == 70
    chart.tools.smoothing.setValue(0)
    assert not chart._smoothed and chart._curves[(None, "loss")].opts["pen"].color().alpha() == 255


def test_validation_has_its_own_colour_and_legend_and_a_flat_learning_rate_is_readable(qtbot):
    chart = _chart(qtbot)
    chart.append("loss", [1, 2, 3], [1.0, 0.8, 0.6])
    chart.append("val_loss", [1, 2, 3], [1.1, 0.9, 0.8])
    chart.refresh()
    legend = [label.text for _sample, label in chart.legend.items]
    assert legend == ["loss", "loss (validation)"]
    train, val = chart._curves[(None, "loss")].opts["pen"], chart._curves[(None, "val_loss")].opts["pen"]
    assert train.color().name() != val.color().name() and val.style() != train.style()
    lr = _chart(qtbot)
    lr.append("learning_rate", np.arange(1, 51), np.full(50, 0.001))
    lr.refresh()
    low, high = lr.view_box.viewRange()[1]
    assert 0.0008 <= low < 0.001 < high <= 0.0012, (low, high)


def test_export_png_and_csv_and_the_hover_readout(qtbot, tmp_path):
    chart = _chart(qtbot)
    chart.append("loss", [1, 2, 3, 4], [0.9, 0.7, 0.5, 0.4])
    chart.append("accuracy", [1, 2, 3, 4], [0.2, 0.5, 0.7, 0.8])
    chart.refresh()
    assert chart.tools.export_button.isVisible() and chart.tools.export_button.toolTip()
    chart.export_png(tmp_path / "loss.png")
    image = QtGui.QImage(str(tmp_path / "loss.png"))
    assert not image.isNull() and image.width() >= 500
    chart.export_csv(tmp_path / "loss.csv")
    rows = list(csv.reader(open(tmp_path / "loss.csv", encoding="utf-8")))
    assert rows[0] == ["run", "series", "x", "y"] and len(rows) == 9
    assert ["", "loss", "3.0", "0.5"] in rows
    assert chart.readout_at(2.9) == "iteration 3: accuracy 0.7, loss 0.5"


def test_confusion_matrix_hover_readout_and_shares_toggle(qtbot):
    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.show()
    view.set_matrix(np.array([[5, 1], [2, 8]]), ["cat", "dog"])
    assert view.cell_text(0, 1) == "true cat, predicted dog: 1 of 6 (17%)"
    assert [t.toPlainText() for t in view._texts] == ["5", "1", "2", "8"]
    view.normalised.setChecked(True)
    assert [t.toPlainText() for t in view._texts] == ["83%", "17%", "20%", "80%"]
    view.clear()
    assert view.matrix is None and not view.empty_label.isHidden()


def _feed(chart, name, xs, ys, step=50):
    for i in range(0, len(xs), step):  # as a run delivers them: a refresh after each batch
        chart.append(name, xs[i : i + step], ys[i : i + step])
        chart.refresh()


def test_the_y_range_follows_a_falling_loss_down_and_keeps_a_users_zoom(qtbot):
    """Issue 15: as a loss falls the range comes down with it (from zero once the loss is within half
    its start, so it holds from then on) and the newest values are always in view; once the user zooms
    with the wheel, new data no longer moves it; "follow" brings it back."""
    from PySide6 import QtCore, QtWidgets

    chart = _chart(qtbot)
    xs = np.arange(1, 3001, dtype=float)
    ys = 2.3 * np.exp(-xs / 150) + 0.05
    _feed(chart, "loss", xs[:20], ys[:20])
    (_, _), (y0, y1) = chart.view_box.viewRange()
    assert y0 <= ys[19] and y1 >= ys[0] and y0 > 1.0  # a loss still near its start: a close range
    seen = []
    for k in range(20, 3000, 50):
        _feed(chart, "loss", xs[k : k + 50], ys[k : k + 50])
        (x0, x1), (y0, y1) = chart.view_box.viewRange()
        last = min(k + 50, 3000) - 1
        assert y0 <= ys[last] <= y1 and x0 <= xs[last] <= x1  # the newest values are always in view
        seen.append((y0, y1))
    assert seen[-1][0] <= 0.05 and seen[-1][1] >= ys[0]  # all of the falling loss, from zero
    assert len(set(seen)) <= 4  # in steps: the axis holds for most of the run

    # a real wheel zoom on the plot: the user's range stays while data keeps coming
    view = chart.plot_widget
    centre = view.viewport().rect().center()
    wheel = QtGui.QWheelEvent(
        QtCore.QPointF(centre),
        QtCore.QPointF(view.viewport().mapToGlobal(centre)),
        QtCore.QPoint(0, 0),
        QtCore.QPoint(0, 240),
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
        QtCore.Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QtWidgets.QApplication.sendEvent(view.viewport(), wheel)
    zoomed = chart.view_box.viewRange()
    assert not chart.following and zoomed != [[x0, x1], [y0, y1]]
    chart.append("loss", [3001.0, 3002.0], [5.0, 0.01])
    chart.refresh()
    assert chart.view_box.viewRange() == zoomed
    chart.follow()
    assert chart.following and chart.view_box.viewRange()[1][0] <= 0.01


def test_the_legend_sits_where_the_data_is_not_and_stays_where_the_user_puts_it(qtbot):
    """Issue 15: a rising accuracy ends top right, where the legend starts: it moves to a free corner
    and covers no point of any curve; at the three window sizes' chart sizes alike."""
    moved = 0
    for width, height in ((380, 200), (560, 300), (700, 380)):  # the loss chart at 1024x700 .. 1920x1200
        chart = _chart(qtbot)
        chart.resize(width, height)
        qtbot.wait(20)  # the new size reaches the plot's layout
        _feed(chart, "accuracy", np.arange(1.0, 901.0), 1.0 - 0.9 * np.exp(-np.arange(1.0, 901.0) / 80))
        right = chart.view_box.viewRange()[0][1]
        xs = np.arange(1.0, np.floor(right) - 5)  # the data reaches the right edge of the x range
        chart.remove_run(None)
        _feed(chart, "accuracy", xs, 0.9 - 0.8 * np.exp(-xs / 80))
        _feed(chart, "val_accuracy", xs, 0.88 - 0.8 * np.exp(-xs / 90))
        assert chart.view_box.viewRange()[0][1] == right
        chart.legend_placer.place(force=True)
        if chart.legend_placer.covered("top right") > 0:  # where the legend starts: on the data here
            assert chart.legend_placer.corner != "top right"
            moved += 1
        assert chart.legend_placer.covered(chart.legend_placer.corner) == 0
        legend = chart.legend.sceneBoundingRect()
        plot = chart.view_box.sceneBoundingRect()
        assert plot.contains(legend)  # inside the plot, off the data
        chart.close()
    assert (
        moved >= 2
    )  # the smaller charts had data under the default place    # a legend the user dragged stays where it is
    chart.legend_placer.moved_by_user = True
    corner = chart.legend_placer.corner
    _feed(chart, "accuracy", xs + xs[-1], np.full(len(xs), 0.0))
    chart.legend_placer.place(force=True)
    assert chart.legend_placer.corner == corner


def test_a_hidden_run_leaves_the_legend_and_comes_back_to_it(qtbot):
    chart = _chart(qtbot)
    chart.set_current_run(1)
    chart.append("loss", [1, 2, 3], [1.0, 0.8, 0.6], run=1)
    chart.set_current_run(2)
    chart.append("loss", [1, 2, 3], [1.1, 0.7, 0.5], run=2)
    chart.refresh()

    def names():
        return [label.text for _, label in chart.legend.items]

    assert names() == ["loss (run 1)", "loss"]
    chart.set_run_visible(1, False)
    assert names() == ["loss"] and not chart._curves[(1, "loss")].isVisible()
    chart.set_run_visible(1, True)
    assert sorted(names()) == ["loss", "loss (run 1)"] and chart._curves[(1, "loss")].isVisible()


def test_confusion_matrix_class_names_thin_out_rather_than_overlap_in_a_small_view(qtbot):
    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    view.resize(700, 600)
    view.show()
    view.set_matrix(np.eye(10, dtype=int) * 5)
    qtbot.wait(50)

    def shown(axis):
        return [name for _, name in view.item.getAxis(axis)._tickLevels[0]]

    assert shown("bottom") == [str(i) for i in range(10)]
    view.resize(200, 170)
    qtbot.waitUntil(lambda: len(shown("left")) < 10, timeout=2000)
    assert shown("left")[0] == "0" and len(shown("left")) >= 3
    view.resize(700, 600)
    qtbot.waitUntil(lambda: len(shown("left")) == 10, timeout=2000)


def test_ranges_hold_while_the_data_stays_inside_and_step_ahead_when_it_leaves():
    from studio.widgets.chart_ranges import data_bounds, stepped_ranges
    from studio.widgets.series_buffer import SeriesBuffer

    view = ((0.0, 100.0), (-0.05, 2.2))
    # A falling loss inside the view: nothing moves (the cached axes stay valid).
    assert stepped_ranges((0.0, 50.0, 0.2, 2.0), view, 100.0, log_y=False) == (None, None)
    # Past the right edge: the x span doubles; over the top: room to travel on, from zero.
    x_range, y_range = stepped_ranges((0.0, 120.0, 0.2, 3.0), view, 100.0, log_y=False)
    assert x_range == (0.0, 240.0)
    assert y_range == pytest.approx((-0.06, 3.99))
    # A flat series gets a band around its value at its own scale; on a log axis nothing is from zero.
    assert stepped_ranges((0.0, 10.0, 0.5, 0.5), view, 1.0, False, force=True)[1] == pytest.approx(
        (0.45, 0.55)
    )
    assert stepped_ranges((0.0, 10.0, -1.0, 0.0), view, 1.0, True, force=True)[1] == pytest.approx(
        (-1.08, 0.08)
    )

    shown, hidden = SeriesBuffer(), SeriesBuffer()
    shown.append([1, 2, 3], [0.0, 10.0, np.nan])
    hidden.append([0, 50], [-5.0, 50.0])
    buffers = {("run 1", "loss"): shown, ("run 0", "loss"): hidden}
    assert data_bounds(buffers, {"run 0"}, log_y=False) == (1.0, 3.0, 0.0, 10.0)
    assert data_bounds(buffers, {"run 0"}, log_y=True) == (1.0, 3.0, 1.0, 1.0)  # log10(10); 0 left out
    assert data_bounds(buffers, {"run 0", "run 1"}, log_y=False) is None
