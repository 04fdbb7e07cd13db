"""Dataset panel: drops of real files (image folders, CSV, corrupt files, things that are not data)
import in the background and reach the project, or give a message and change nothing."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from engine.project import Project
from studio.panels.dataset import DatasetPanel


@pytest.fixture
def panel(panel_host):
    panel = DatasetPanel(panel_host)
    panel_host.setCentralWidget(panel)
    yield panel
    panel.shutdown()


def _image_folder(root, classes=("cat", "dog"), per_class=4, size=8):
    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            pixels = (rng.random((size, size, 3)) * 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / c / f"{c}{i}.png")
    return root


def _drop(panel, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(os.fspath(p)) for p in paths])
    enter = QDragEnterEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(panel, enter)
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(panel, drop)
    return enter.isAccepted(), drop.isAccepted()


def test_drop_image_folder_imports_it_into_the_project(panel, qtbot, tmp_path):
    folder = _image_folder(tmp_path / "pets")
    with qtbot.waitSignal(panel.sigImported, timeout=20000):
        accepted, dropped = _drop(panel, [folder])
        assert accepted and dropped
        assert panel.progress.isVisible() or panel.job is not None  # running in the background
    ds = panel.dataset
    assert len(ds) == 8 and ds.classes == ["cat", "dog"]
    assert panel.preview.mode == "images" and panel.preview.grid.count() == 8
    assert {panel.preview.grid.item(i).text() for i in range(8)} == {"cat", "dog"}
    assert panel.stats_view.class_counts == {"cat": 4, "dog": 4}
    ref = panel._window.project.dataset
    assert ref["source"] == os.fspath(folder) and ref["validation_split"] == pytest.approx(0.1)
    panel.test_split.setValue(20)
    panel.normalise.setCurrentIndex(1)
    assert panel._window.project.dataset["test_split"] == pytest.approx(0.2)
    assert panel._window.project.dataset["normalise"] == "minmax"
    assert "6 training" not in panel.split_note.text() and "training" in panel.split_note.text()


def test_drop_csv_shows_a_table_and_feature_ranges(panel, qtbot, tmp_path):
    csv = tmp_path / "iris.csv"
    rows = ["sepal,petal,species"] + [f"{i * 0.5},{i % 3 + 1.0},{'ab'[i % 2]}" for i in range(10)]
    csv.write_text("\n".join(rows) + "\n")
    with qtbot.waitSignal(panel.sigImported, timeout=20000):
        _drop(panel, [csv])
    assert len(panel.dataset) == 10
    assert panel.preview.mode == "table"
    headers = [
        panel.preview.table.horizontalHeaderItem(j).text() for j in range(panel.preview.table.columnCount())
    ]
    assert headers[:2] == ["sepal", "petal"]
    assert panel.stats_view.features.rowCount() == 2
    assert panel.stats_view.features.item(0, 0).text() == "sepal"
    assert panel._window.project.dataset["source"] == os.fspath(csv)


def test_corrupt_file_in_the_drop_is_reported_and_the_rest_imports(panel, qtbot, tmp_path):
    folder = _image_folder(tmp_path / "pets")
    (folder / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    with qtbot.waitSignal(panel.sigImported, timeout=20000):
        _drop(panel, [folder])
    assert len(panel.dataset) == 8
    level, text = panel.messages[-1]
    assert level == "error" and "pets/cat/broken.png" in text and "Skipped 1 bad record" in text
    assert panel.banner.text() == text
    assert panel.report_view.rowCount() >= 1
    assert any(
        "broken.png" in panel.report_view.item(r, 1).text() for r in range(panel.report_view.rowCount())
    )
    assert panel.tabs.tabText(2).startswith("Report (")


@pytest.mark.parametrize("what", ["executable", "empty_folder", "unusable_folder"])
def test_dropping_something_that_is_not_data_changes_nothing(panel, qtbot, tmp_path, what):
    panel._window.project.dataset = {"source": "sample:digits"}
    before = dict(panel._window.project.dataset)
    if what == "executable":
        target = tmp_path / "setup.exe"
        target.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(200))
        target.chmod(0o755)
    else:
        target = tmp_path / "stuff"
        target.mkdir()
        if what == "unusable_folder":
            (target / "notes.docx").write_bytes(b"PK\x03\x04 not really")
            (target / "tool.bin").write_bytes(os.urandom(64))
    with qtbot.waitSignal(panel.sigImportFailed, timeout=20000) as blocker:
        _drop(panel, [target])
    message = blocker.args[0]
    assert "Could not import" in message and os.path.basename(target) in message
    assert panel.banner.text().startswith("Could not import")
    assert panel.dataset is None
    assert panel._window.project.dataset == before


def test_cancel_keeps_the_previous_state(panel, qtbot, tmp_path):
    folder = _image_folder(tmp_path / "many", per_class=40)
    panel.import_paths([folder])
    panel.cancel_import()  # before the worker has read much: it stops at the next file
    qtbot.waitUntil(lambda: panel.job is None, timeout=20000)
    # Either it was cancelled in time (nothing changed), or it had already finished (a full import).
    if panel.dataset is None:
        assert panel.messages[-1] == ("info", "Import cancelled; nothing was changed.")
        assert panel._window.project.dataset == {}
    else:
        assert len(panel.dataset) == 80


def test_second_import_while_one_runs_is_refused_with_a_message(panel, qtbot, tmp_path):
    folder = _image_folder(tmp_path / "pets")
    with qtbot.waitSignal(panel.sigImported, timeout=20000):
        assert panel.import_paths([folder])
        assert not panel.import_paths([folder])
        assert "already running" in panel.messages[-1][1]


def test_project_reference_loads_on_demand(panel, qtbot):
    project = Project(name="digits", dataset={"source": "sample:digits", "validation_split": 0.2})
    panel._window.set_project(project)
    assert panel.validation_split.value() == 20
    assert "sample:digits" in panel.summary.text()
    with qtbot.waitSignal(panel.sigImported, timeout=20000):
        panel.reload()
    assert len(panel.dataset) == 1797 and len(panel.stats_view.class_counts) == 10


def test_through_the_main_window_drop_import_menu_and_close(qtbot, tmp_path):
    from studio.main_window import MainWindow

    window = MainWindow(project=Project(name="empty"), build_run=lambda p: None, restore_layout=False)
    qtbot.addWidget(window)
    panel = window.dataset_panel
    folder = _image_folder(tmp_path / "pets")
    with qtbot.waitSignal(panel.sigImported, timeout=20000):
        _drop(panel, [folder])
    assert window.project.dataset["source"] == os.fspath(folder)
    window.project_actions.import_action.trigger()  # File > Import data…: a non-modal dialog
    assert panel._dialog is not None and panel._dialog.isVisible()
    panel._dialog.reject()
    # A new project clears what the panel shows; closing during an import cancels it cleanly.
    window.set_project(Project(name="other"))
    assert panel.dataset is None and panel.preview.mode == "empty"
    panel.import_paths([_image_folder(tmp_path / "more", per_class=30)])
    window.close()
    assert panel.job is None or panel.job.done.is_set()


def test_images_are_fed_channels_first_and_a_project_reference_trains(qtbot, tmp_path):
    """An imported image folder becomes a project dataset that engine.run builds and trains with a CNN
    whose input shape came from the panel."""
    from engine.run import build_run
    from engine.templates import lenet
    from studio.main_window import MainWindow

    window = MainWindow(project=Project(name="pets"), build_run=lambda p: None, restore_layout=False)
    qtbot.addWidget(window)
    panel = window.dataset_panel
    panel.image_size.setCurrentText("28 × 28")
    with qtbot.waitSignal(panel.sigImported, timeout=20000):
        panel.import_paths([_image_folder(tmp_path / "pets", size=20)])
    assert window.project.dataset["options"]["layout"] == "image"
    assert panel.dataset.shape_of("inputs") == (28, 28, 3)
    assert panel.network_input_shape() == (3, 28, 28)
    window.project.network = lenet(input_shape=panel.network_input_shape(), classes=2, filters=(2, 2))
    window.project.training.update(epochs=1, batch_size=4)
    window.project.dataset["validation_split"] = 0.25
    run = build_run(window.project)
    run.fit()
    assert run.trainer.iteration > 0
    with qtbot.waitSignal(panel.sigImported, timeout=20000):  # reloading the reference leaves it as it was
        ref = dict(window.project.dataset)
        panel.reload()
    assert window.project.dataset == ref and len(panel.dataset) == 8


def test_drop_of_a_zip_archive_imports_it(panel, qtbot, tmp_path):
    import shutil

    folder = _image_folder(tmp_path / "src" / "pets", per_class=3)
    archive = shutil.make_archive(str(tmp_path / "pets"), "zip", root_dir=folder.parent)
    with qtbot.waitSignal(panel.sigImported, timeout=20000):
        _drop(panel, [archive])
    assert len(panel.dataset) == 6 and panel.dataset.classes == ["cat", "dog"]
    assert panel._window.project.dataset["source"] == archive


def test_shown_panel_previews_the_project_dataset_and_a_project_change_drops_a_running_import(
    panel, qtbot, tmp_path
):
    window = panel._window
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(panel.sigImported, timeout=20000):  # seen with a reference: previewed at once
        window.set_project(Project(name="digits", dataset={"source": "sample:digits"}))
    assert len(panel.dataset) == 1797 and "digits" in panel.summary.text()
    panel.import_paths([_image_folder(tmp_path / "many", per_class=30)])
    job = panel.job
    window.set_project(Project(name="empty"))
    assert panel.job is None and job.cancel_event.is_set()
    qtbot.waitUntil(job.done.is_set, timeout=20000)
    QApplication.processEvents()  # its signals were posted before `done`: deliver them (to be ignored)
    assert panel.dataset is None and window.project.dataset == {}


def test_picture_dropped_on_a_paint_project_becomes_the_picture_to_paint(panel, qtbot, tmp_path):
    from engine.run import build_run
    from engine.templates import cat_project

    panel._window.set_project(cat_project())
    pixels = (np.random.default_rng(0).random((300, 600, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "holiday.png")
    with qtbot.waitSignal(panel.sigImported, timeout=20000):
        assert _drop(panel, [tmp_path / "holiday.png"]) == (True, True)
    project = panel._window.project
    assert project.dataset["source"] == os.fspath(tmp_path / "holiday.png")
    assert project.dataset["validation_split"] == 0.0
    assert len(panel.dataset) == 128 * 256  # the longer side scaled to 256 pixels: one record per pixel
    assert "Painting holiday.png (256x128 pixels)" in panel.banner.text()
    run = build_run(project)  # training reads the same picture
    assert run.image_shape == (128, 256, 3) and len(run.train_data) == 128 * 256


def test_a_picture_dropped_on_a_classifier_is_an_ordinary_import(panel, qtbot, tmp_path):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "one.png")
    with qtbot.waitSignal(panel.sigImported, timeout=20000):
        _drop(panel, [tmp_path / "one.png"])
    assert len(panel.dataset) == 1 and panel._window.project.dataset["source"] == os.fspath(
        tmp_path / "one.png"
    )


def test_the_shape_the_network_sees_and_how_sources_are_named():
    from studio.panels.dataset_summary import describe, network_shape

    assert network_shape((784,), "image") == (1, 28, 28)  # flat square records become one channel
    assert network_shape((28, 28, 3), "image") == (3, 28, 28)  # channels last become channels first
    assert network_shape((3, 28, 28), "image") == (3, 28, 28)
    assert network_shape((10,), "image") == (10,) and network_shape((784,), None) == (784,)
    assert describe(None) == "nothing" and describe("sample:digits") == "sample:digits"
    assert describe([f"/data/{n}.csv" for n in "abcde"]) == "a.csv, b.csv, c.csv and 2 more"
