"""Issue 15, part 6: charts as good as TensorBoard's — smoothing with the raw values faint behind,
validation in its own colour with a legend that says so, a readable flat learning rate, PNG and CSV
export, a hover readout; the confusion matrix's readout and shares toggle."""

from __future__ import annotations

import csv

import numpy as np
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
