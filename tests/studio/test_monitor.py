"""The live monitor: the cat learns on screen; every view of the monitor draws real engine events."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

from engine import events as ev
from studio.bridge import RunInfo


def test_cat_learns_on_screen_from_the_start_button(qtbot, window):
    monitor = window.monitor
    qtbot.mouseClick(window.training.buttons["start"], QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: monitor.samples.prediction.frames >= 1, timeout=30000)
    first_image = monitor.samples.prediction.image()
    first_error = monitor.samples.last_error
    # Train until the painting's error has clearly fallen (bounded by the timeout, never a sleep).
    qtbot.waitUntil(
        lambda: monitor.samples.last_error is not None and monitor.samples.last_error < 0.8 * first_error,
        timeout=60000,
    )
    window.bridge.stop()
    qtbot.waitUntil(lambda: not window.bridge.busy, timeout=10000)
    assert monitor.loss_chart.point_count("loss") >= 5
    xs, ys = monitor.loss_chart.series("loss")
    assert np.all(np.diff(xs) > 0) and np.all(np.isfinite(ys))
    assert monitor.lr_chart.point_count("learning_rate") == monitor.loss_chart.point_count("loss")
    assert monitor.samples.original.frames == 1  # the original is drawn once per run
    last_image = monitor.samples.prediction.image()
    assert last_image.shape == first_image.shape and last_image.shape[-1] == 3
    assert np.abs(last_image - first_image).mean() > 1e-3, "the painting did not change"
    quality = monitor.samples.error_chart.series("psnr")[1]  # image tasks chart PSNR, in dB
    assert quality[-1] > quality[0] and monitor.samples.last_psnr == quality[-1]
    assert "PSNR" in monitor.samples.prediction.caption.text()
    assert "State: stopped" in window.status_state.text()


def _feed(window, *events):
    bridge = window.bridge
    for event in events:
        bridge.post(event)
    bridge.flush()


def test_classifier_views_confusion_histograms_and_log(qtbot, window):
    monitor = window.monitor
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(10), size=12)
    targets = probs.argmax(axis=1)
    targets[:3] = (targets[:3] + 1) % 10  # three wrong
    matrix = rng.integers(0, 20, size=(10, 10))
    counts, edges = np.histogram(rng.normal(size=500), bins=20)
    _feed(
        window,
        ev.SamplePredictions(
            kind="classification",
            inputs=rng.random((12, 8, 8)),
            predictions=probs,
            targets=targets,
            classes=tuple(str(i) for i in range(10)),
            error=0.25,
        ),
        ev.ConfusionMatrix(matrix=matrix, classes=tuple(str(i) for i in range(10))),
        ev.ParameterHistograms(
            weights={"fc1.weights": (counts, edges)}, gradients={"fc1.weights": (counts, edges)}
        ),
        ev.LogMessage(level="warning", message="learning rate reduced to 0.001"),
    )
    assert monitor.samples.grid.isVisibleTo(window) and monitor.confusion.isVisibleTo(window)
    grid = monitor.samples.grid
    shown = min(12, grid.tiles.columns * grid.tiles.rows)  # as many as the grid's size holds (issue 15)
    right = sum(ok for _caption, ok in grid.captions())
    assert grid.accuracy_label.text().startswith(f"{right} of {shown}") and shown >= 3
    np.testing.assert_array_equal(monitor.confusion.matrix, matrix)
    assert monitor.histograms.choice.currentText() == "fc1.weights"
    assert ("warning", "learning rate reduced to 0.001") in monitor.log.lines
    # The headline epoch chart keeps to loss and one metric; every metric is in its own tab.
    _feed(
        window,
        ev.EpochMetrics(
            epoch=1,
            metrics={
                "loss": 0.5,
                "accuracy": 0.8,
                "val_loss": 0.6,
                "val_accuracy": 0.7,
                "val_top5_accuracy": 0.99,
            },
        ),
    )
    assert window.monitor.epoch_chart.series_names() == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert "val_top5_accuracy" in window.monitor.metrics_chart.series_names()


def test_runs_overlaid_for_comparison_and_log_scale(qtbot, window):
    monitor = window.monitor
    for run in (1, 2):
        monitor._on_run_started(RunInfo(run, f"run {run}", "cat"))
        monitor.loss_chart.append("loss", [1, 2, 3], [1.0 / run, 0.5 / run, 0.25 / run], run=run)
        monitor._on_run_finished("stopped")  # stops the redraw timer and draws
    assert monitor.runs.count() == 2
    assert monitor.loss_chart.point_count("loss") == 6
    older = monitor.runs.item(1)  # newest first
    older.setCheckState(QtCore.Qt.CheckState.Unchecked)
    assert not monitor.loss_chart._curves[(1, "loss")].isVisible()
    assert monitor.loss_chart._curves[(2, "loss")].isVisible()
    monitor.loss_chart.log_box.setChecked(True)
    assert monitor.loss_chart.plot_item.ctrl.logYCheck.isChecked()


def test_charts_keep_long_runs_cheap(qtbot, window):
    chart = window.monitor.loss_chart
    xs = np.arange(200_000)
    chart.append("loss", xs, 1.0 / (1 + xs))
    chart.refresh()
    curve = next(iter(chart._curves.values()))
    assert curve.opts["autoDownsample"] and curve.opts["clipToView"]
    assert chart.point_count("loss") == 200_000


def test_chart_ranges_follow_the_data_in_steps_until_the_user_zooms(qtbot):
    from studio.widgets.chart import LiveChart

    chart = LiveChart("loss", log_toggle=True)
    qtbot.addWidget(chart)
    chart.append("loss", np.arange(10), np.linspace(2.0, 1.0, 10))
    chart.refresh()  # out of sight: nothing drawn yet, the points wait
    assert chart._dirty and chart._curves[(None, "loss")].xData is None
    chart.show()  # shown: what arrived meanwhile is drawn
    qtbot.waitExposed(chart)
    assert not chart._dirty and len(chart._curves[(None, "loss")].xData) == 10
    (x0, x1), (y0, y1) = chart.view_box.viewRange()
    assert x0 <= 0 and x1 >= 9 and y0 <= 1.0 and y1 >= 2.0  # everything shown
    # A few more points inside the range: the ranges (and the cached axes) stay as they were.
    chart.append("loss", np.arange(10, 13), [1.0, 0.99, 0.98])
    chart.refresh()
    assert chart.view_box.viewRange() == [[x0, x1], [y0, y1]]
    # Data past the right edge or below the bottom moves the range, in one step with room ahead.
    chart.append("loss", np.arange(13, 40), np.linspace(0.9, 0.2, 27))
    chart.refresh()
    (nx0, nx1), (ny0, ny1) = chart.view_box.viewRange()
    assert nx1 >= 39 + 0.3 * 39 and ny0 <= 0.2 and ny1 >= 2.0
    # A zoom by hand holds until the auto-range button.
    chart.view_box.scaleBy((0.5, 0.5))
    chart.view_box.sigRangeChangedManually.emit(chart.view_box.state["mouseEnabled"])
    zoomed = chart.view_box.viewRange()
    chart.append("loss", np.arange(40, 200), np.linspace(0.2, 0.01, 160))
    chart.refresh()
    assert chart.view_box.viewRange() == zoomed and not chart.following
    chart.plot_item.autoBtn.clicked.emit(chart.plot_item.autoBtn)  # the plot's "A" button
    (fx0, fx1), (fy0, fy1) = chart.view_box.viewRange()
    assert chart.following and fx1 >= 199 and fy0 <= 0.01
    # On a log axis the range is in decades.
    chart.set_log_y(True)
    (_, _), (ly0, ly1) = chart.view_box.viewRange()
    assert ly0 <= np.log10(0.01) and ly1 >= np.log10(2.0) and ly1 < 1.0
    chart.hide()


def test_a_constant_series_does_not_move_the_range_at_every_redraw(qtbot):
    from studio.widgets.chart import LiveChart

    chart = LiveChart("learning rate", min_x_span=100)
    qtbot.addWidget(chart)
    chart.show()
    qtbot.waitExposed(chart)
    moves, x_moves = [], []
    chart.view_box.sigYRangeChanged.connect(lambda *_: moves.append(1))
    chart.view_box.sigXRangeChanged.connect(lambda *_: x_moves.append(1))
    for i in range(20):  # a learning rate that stays at 0.01: the range is set once, then holds
        chart.append("learning_rate", [i], [0.01])
        chart.refresh()
    assert len(moves) == 1, f"{len(moves)} y range changes for a constant series"
    assert len(x_moves) == 1, "the x axis starts 100 iterations wide: 20 points do not move it"
    assert chart.view_box.viewRange()[0][1] >= 100
    (_, _), (y0, y1) = chart.view_box.viewRange()
    assert y0 < 0.01 < y1
    chart.hide()


def test_histograms_out_of_sight_are_drawn_when_their_tab_is_shown(qtbot, window):
    monitor = window.monitor
    counts, edges = np.histogram(np.random.default_rng(2).normal(size=300), bins=12)
    _feed(
        window,
        ev.ParameterHistograms(
            weights={"fc1.weights": (counts, edges)}, gradients={"fc1.weights": (counts, edges)}
        ),
    )
    view = monitor.histograms
    assert not view.isVisible() and view.weights_curve.yData is None  # another tab is current: not drawn
    assert view.choice.currentText() == "fc1.weights"  # but the choice is there already
    monitor.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.weights_curve.yData is not None, timeout=5000)
    np.testing.assert_array_equal(view.weights_curve.yData, counts)


def test_a_falling_loss_is_shown_from_zero_once_it_has_halved_and_the_axis_then_holds(qtbot):
    from studio.widgets.chart import LiveChart

    chart = LiveChart("loss", min_x_span=1000)
    qtbot.addWidget(chart)
    chart.show()
    qtbot.waitExposed(chart)
    chart.append("loss", np.arange(50), np.linspace(2.0, 0.9, 50))  # below half its maximum
    chart.refresh()
    (_, _), (y0, y1) = chart.view_box.viewRange()
    assert -0.1 < y0 <= 0.0 and y1 >= 2.0  # from zero, the zero line just visible
    moves = []
    chart.view_box.sigYRangeChanged.connect(lambda *_: moves.append(1))
    for start in range(50, 500, 10):  # the loss keeps falling towards zero: the axis does not move
        xs = np.arange(start, start + 10)
        chart.append("loss", xs, 0.9 * np.exp(-(xs - 50) / 150.0))
        chart.refresh()
    assert moves == []
    chart.hide()


def test_text_example_writes_text_live_in_the_monitor(qtbot, window):
    from engine import templates

    project = templates.text_project()
    # The example's own data and hooks, a smaller model so that epochs take a moment here.
    vocabulary = project.network["nodes"][1]["input_dim"]
    project.network = templates.char_model(32, vocabulary, 8, 16)
    project.training.update(batch_size=256, epochs=30)  # stopped after two texts
    window.set_project(project)
    text = window.monitor.samples.text
    qtbot.mouseClick(window.training.buttons["start"], QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(text.samples) >= 2, timeout=120000)  # a new text after every epoch
    window.bridge.stop()
    qtbot.waitUntil(lambda: not window.bridge.busy, timeout=10000)
    assert window.monitor.samples.stack.currentWidget() is text and text.isVisibleTo(window)
    from engine.data import samples

    newest = text.latest()
    assert len(newest) == 160 and set(newest) <= set(samples.verse().vocabulary)
    shown = text.toPlainText()
    assert newest.strip().splitlines()[0] in shown
    assert shown.count("written after epoch") == len(text.samples)
    assert "THE GETTYSBURG ADDRES" in shown  # the prompt: the corpus's first characters


def test_texts_from_epochs_faster_than_the_redraw_are_all_kept(qtbot, window):
    # Three epochs' texts in one delivery (a fast run): the paced view draws once, but keeps all three.
    for epoch in (1, 2, 3):
        window.bridge.post(
            ev.SamplePredictions(
                kind="text",
                epoch=epoch,
                iteration=10 * epoch,
                inputs="Four score",
                predictions=f" text {epoch}",
            )
        )
    window.bridge.flush()
    text = window.monitor.samples.text
    qtbot.waitUntil(lambda: len(text.samples) == 3, timeout=5000)
    window.monitor.samples.flush()
    assert [epoch for epoch, *_ in text.samples] == [3, 2, 1]
    shown = text.toPlainText()
    assert shown.count("written after epoch") == 3 and " text 1" in shown and " text 3" in shown
