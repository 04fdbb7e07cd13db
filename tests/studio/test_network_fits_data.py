"""Issue 15, part 4: after an import the network is checked against the data; the mismatch is shown in
the builder and the training panel with one fix for both, Start is refused until it fits, and the
fixed network trains."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6 import QtCore

from engine.templates import digits_project
from studio.main_window import MainWindow


def _three_class_folder(root):
    rng = np.random.default_rng(0)
    for c in ("circle", "square", "triangle"):
        (root / c).mkdir(parents=True)
        for i in range(8):
            Image.fromarray((rng.random((8, 8, 3)) * 255).astype(np.uint8)).save(root / c / f"{c}{i}.png")
    return root


def test_a_three_class_folder_into_the_digits_project_is_fitted_in_one_click_and_trains(
    qtbot, tmp_path, build_run
):
    project = digits_project()
    project.training.update(epochs=1, batch_size=8)
    w = MainWindow(project=project, build_run=build_run, restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    # Shown, the dataset panel loads the project's own data (the digits): the network fits it.
    qtbot.waitUntil(
        lambda: w.dataset_panel.dataset is not None and w.dataset_panel.job is None, timeout=30000
    )
    assert w.data_fit.refresh().fits
    with qtbot.waitSignal(w.dataset_panel.sigImported, timeout=30000):
        w.dataset_panel.import_paths([_three_class_folder(tmp_path / "shapes")])
    report = w.data_fit.report
    assert not report.fits and report.fixable
    assert "3 classes (circle, square, triangle)" in report.message
    training_notice = w.training.findChild(QtCore.QObject, "fit-notice")
    builder_notice = w.network_panel.findChild(QtCore.QObject, "fit-notice")
    for notice in (training_notice, builder_notice):
        assert not notice.isHidden() and notice.label.text() == report.message
        assert "set the outputs to 3 classes" in notice.button.text()
    # Start is refused with the same words, and nothing runs.
    assert not w.training.start()
    assert report.message in w.training.message.text() and not w.bridge.busy
    # One click fixes both the input shape and the outputs.
    qtbot.mouseClick(builder_notice.button, QtCore.Qt.MouseButton.LeftButton)
    assert w.data_fit.report.fits and training_notice.isHidden() and builder_notice.isHidden()
    logits = next(n for n in w.project.network["nodes"] if n["name"] == "logits")
    assert logits["units"] == 3
    assert w.network_panel.scene.node("logits").output_shape == [3]
    assert "fitted to the data" in w.banner.text()
    with qtbot.waitSignal(w.bridge.sigRunFinished, timeout=60000) as finished:
        assert w.training.start()
    assert finished.args == ["finished"], w.banner.text()


def test_a_template_inserted_after_an_import_adapts_to_the_data(qtbot, tmp_path):
    w = MainWindow(project=digits_project(), build_run=lambda p: None, restore_layout=False)
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.dataset_panel.sigImported, timeout=30000):
        w.dataset_panel.import_paths([_three_class_folder(tmp_path / "shapes")])
    assert w.network_panel.load_template("mlp")
    w.network_panel.flush()
    assert w.data_fit.refresh().fits, w.data_fit.report.message
