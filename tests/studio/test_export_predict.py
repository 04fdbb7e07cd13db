"""File > Export network to ONNX… and Training > Predict on files…, through the real main window: a
digits network trained from the GUI, exported and checked in onnxruntime, predictions on PNG files
written here (a corrupt one named and skipped) saved as the same CSV ``sigma predict`` writes."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import shiboken6
from PIL import Image
from PySide6 import QtCore, QtGui, QtWidgets

from engine import checkpoint
from engine.templates import digits_project, mlp
from studio.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]
_NOTHING = "train or restore a checkpoint first"


def _digits(epochs=2):
    project = digits_project()
    project.network = mlp(64, (32,), 10)
    project.training["epochs"] = epochs
    return project


@pytest.fixture
def make_window(qtbot, build_run):
    def make(project=None, builder=build_run):
        w = MainWindow(project=project or _digits(), build_run=builder, restore_layout=False)
        qtbot.addWidget(w)
        w.show()
        return w

    return make


@pytest.fixture
def trained(make_window, qtbot):
    """A window whose digits run (2 epochs) was started from the Training menu and has finished."""
    w = make_window()
    with qtbot.waitSignal(w.bridge.sigRunFinished, timeout=120000) as finished:
        w.run_actions["start"].trigger()
    assert finished.args == ["finished"]
    return w


def _digit_pngs(folder, records=(0, 5, 42, 7)):
    from engine.data import samples

    x = np.asarray(samples.digits()["inputs"])
    paths = []
    for i in records:
        path = folder / f"digit{i}.png"
        Image.fromarray(np.round(x[i].reshape(8, 8) * 255).astype(np.uint8)).save(path)
        paths.append(path)
    return paths, x


def _engine_outputs(net, x, probabilities):
    out = net(x.astype(np.float32), training=False)
    return np.asarray((net.loss_head.predict(out) if probabilities else out).data)


# ---------------------------------------------------------------------------------------------- export
def test_export_after_training_runs_in_onnxruntime_like_the_engine(trained, qtbot, tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    actions, net = trained.project_actions, trained.bridge.trainer.network
    assert actions.export_action in trained.menu("File").actions()
    path = tmp_path / "digits.onnx"
    with qtbot.waitSignal(actions.sigExported, timeout=30000) as exported:
        assert actions.export_onnx(path, probabilities=True, check=True)
    assert exported.args == [str(path)]
    text = actions.messages[-1][1]
    assert actions.messages[-1][0] == "info" and "max abs difference" in text and "opset 17" in text
    assert "digits.onnx" in trained.banner.text()
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    _pngs, x = _digit_pngs(tmp_path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (theirs,) = session.run(None, {session.get_inputs()[0].name: x[:64].astype(np.float32)})
    np.testing.assert_allclose(theirs, _engine_outputs(net, x[:64], True), atol=1e-4)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary file left"

    # The dialog: logits this time, over the same file (replaced whole).
    assert not actions.export_onnx()
    dialog = actions.export_dialog
    assert "current run" in dialog.findChild(QtWidgets.QLabel).text()
    dialog.path.setText(str(path))
    dialog.logits.setChecked(True)
    with qtbot.waitSignal(actions.sigExported, timeout=30000):
        dialog.export_button.click()
    assert not shiboken6.isValid(dialog) or not dialog.isVisible()  # closed (and deleted)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {session.get_inputs()[0].name: x[:64].astype(np.float32)})
    np.testing.assert_allclose(logits, _engine_outputs(net, x[:64], False), atol=1e-4)


def test_export_while_training_pauses_then_resumes(window, qtbot, tmp_path):
    pytest.importorskip("onnx")
    actions, bridge = window.project_actions, window.bridge
    window.training.start()
    qtbot.waitUntil(lambda: bridge.state == "running", timeout=20000)
    states = []
    bridge.sigStateChanged.connect(states.append)
    with qtbot.waitSignal(actions.sigExported, timeout=30000):
        actions.export_onnx(tmp_path / "cat.onnx", probabilities=False, check=False)
    qtbot.waitUntil(lambda: bridge.state == "running", timeout=20000)
    assert "paused" in states and (tmp_path / "cat.onnx").is_file()
    assert "current run's network" in actions.messages[-2][1]
    with qtbot.waitSignal(bridge.sigRunFinished, timeout=30000):
        bridge.stop()


def test_nothing_trained_then_the_last_checkpoint_is_used(make_window, qtbot, tmp_path, build_run):
    w = make_window()
    actions = w.project_actions
    assert not actions.export_onnx(tmp_path / "m.onnx", check=False)
    assert _NOTHING in actions.messages[-1][1] and _NOTHING in w.banner.text()
    assert not (tmp_path / "m.onnx").exists()
    png = _digit_pngs(tmp_path, (3,))[0][0]
    assert not actions.predict_on_files([png])
    assert _NOTHING in actions.predict_dialog.problems.text()
    actions.predict_dialog.close()

    run = build_run(w.project)  # a trainer of the project, saved untrained: a checkpoint to use
    w.project.last_checkpoint = checkpoint.save(run.trainer, tmp_path / "last.h5")
    with qtbot.waitSignal(actions.sigExported, timeout=30000):
        assert actions.export_onnx(tmp_path / "m.onnx", check=False)
    assert "last checkpoint last.h5" in actions.messages[-2][1] and (tmp_path / "m.onnx").is_file()


def test_missing_onnx_package_says_what_to_install(make_window, monkeypatch, tmp_path):
    w = make_window()
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if it were not installed
    assert not w.project_actions.export_onnx(tmp_path / "m.onnx")
    level, text = w.project_actions.messages[-1]
    assert level == "error" and "pip install onnx" in text and "sigma-studio[export]" in text


def test_unexportable_layer_is_a_message_naming_it(make_window, qtbot, tmp_path):
    pytest.importorskip("onnx")
    from engine import layers as L
    from engine.layers import Layer
    from engine.network import Network
    from engine.training import Trainer

    class Mystery(Layer):  # no type_name in the class body: not registered, not exportable
        def forward(self, x, training=False):
            return x

    class Run:
        def __init__(self, project):
            mystery = Mystery(name="odd_one")
            mystery.type_name = "mystery"
            net = Network(L.Input((4,), name="x") + L.Dense(3, name="fc") + mystery + L.SquaredError())
            self.trainer = Trainer(net, optimiser={"type": "sgd", "learning_rate": 0.1}, batch_size=8)

        def fit(self):
            x = np.ones((16, 4), np.float32)
            return self.trainer.fit((x, np.zeros((16, 3), np.float32)), epochs=1)

    w = make_window(builder=Run)
    with qtbot.waitSignal(w.bridge.sigRunFinished, timeout=30000):
        w.bridge.start(w.project)
    path = tmp_path / "m.onnx"
    path.write_text("the user's own file")
    with qtbot.waitSignal(w.project_actions.sigExportFailed, timeout=30000) as failed:
        w.project_actions.export_onnx(path, check=False)
    assert "layer 'odd_one' of type 'mystery' cannot be exported" in failed.args[0]
    assert w.project_actions.messages[-1][0] == "error" and "odd_one" in w.banner.text()
    assert path.read_text() == "the user's own file"


# ---------------------------------------------------------------------------------------------- predict
def _sigma_predict(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", "predict", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _drop(widget, paths) -> None:
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QtCore.QPointF(widget.rect().center())
    buttons, mods = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier
    with warnings.catch_warnings():  # PySide marks the only QDragEnterEvent constructor deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QtGui.QDragEnterEvent(pos.toPoint(), QtCore.Qt.DropAction.CopyAction, mime, buttons, mods)
    QtWidgets.QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QtGui.QDropEvent(pos, QtCore.Qt.DropAction.CopyAction, mime, buttons, mods)
    QtWidgets.QApplication.sendEvent(widget, drop)


def test_predict_on_pngs_matches_sigma_predict_and_names_a_corrupt_file(trained, qtbot, tmp_path):
    actions = trained.project_actions
    assert actions.predict_action in trained.menu("Training").actions()
    pngs, x = _digit_pngs(tmp_path)
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # a PNG signature, then garbage
    with qtbot.waitSignal(actions.sigPredicted, timeout=30000) as predicted:
        assert actions.predict_on_files([pngs[0], corrupt, *pngs[1:3]])
    dialog = actions.predict_dialog
    result = predicted.args[0]
    assert dialog.table.rowCount() == 3 and len(result.table) == 3
    headers = [dialog.table.horizontalHeaderItem(i).text() for i in range(dialog.table.columnCount())]
    assert headers == ["", "File", "Sample", "Class", "Probability"]
    assert dialog.table.item(0, 1).text() == "digit0.png"
    assert dialog.table.item(0, 0).data(QtCore.Qt.ItemDataRole.DecorationRole) is not None  # thumbnail
    assert {dialog.table.item(i, 3).text() for i in range(3)} <= {str(k) for k in range(10)}
    assert "corrupt.png" in dialog.problems.text() and dialog.problems.isVisible()
    level, text = actions.messages[-1]
    assert level == "error" and "corrupt.png" in text and "skipped 1 file(s)" in text

    # Dropping a file adds it; everything is predicted again.
    with qtbot.waitSignal(actions.sigPredicted, timeout=30000):
        _drop(dialog, [pngs[3]])
    assert dialog.table.rowCount() == 4
    saved = tmp_path / "studio.csv"
    assert dialog.save_csv(saved)

    # The same network through the CLI, on the same files (the corrupt one left out: the CLI stops at it).
    ckpt = checkpoint.save(trained.bridge.trainer, tmp_path / "trained.h5")
    done = _sigma_predict(ckpt, *pngs[:3], pngs[3], "-o", tmp_path / "cli.csv")
    assert done.returncode == 0, done.stderr
    assert saved.read_bytes() == (tmp_path / "cli.csv").read_bytes()
    done = _sigma_predict(ckpt, pngs[0], corrupt)
    assert done.returncode == 3 and "corrupt.png" in done.stderr
    expected = _engine_outputs(trained.bridge.trainer.network, np.round(x[[0, 5, 42, 7]] * 255) / 255, True)
    assert [dialog.table.item(i, 3).text() for i in range(4)] == [str(k) for k in expected.argmax(axis=1)]
    dialog.close()


def test_predict_reports_rows_of_the_wrong_width_and_wrong_sizes(trained, qtbot, tmp_path):
    (tmp_path / "rows.csv").write_text(",".join(["0.5"] * 64) + "\n" + ",".join(["0.5"] * 63) + "\n")
    np.save(tmp_path / "small.npy", np.zeros((2, 5), np.float32))
    np.save(tmp_path / "ok.npy", np.zeros((3, 64), np.float32))
    actions = trained.project_actions
    files = [tmp_path / "rows.csv", tmp_path / "small.npy", tmp_path / "ok.npy"]
    with qtbot.waitSignal(actions.sigPredicted, timeout=30000) as predicted:
        actions.predict_on_files(files)
    problems = actions.predict_dialog.problems.text()
    assert "rows.csv, row 2: 63 values; the network takes 64" in problems
    assert "small.npy: holds an array of shape (2, 5)" in problems
    assert [o[1] for o in predicted.args[0].table.origins] == [1, 2, 3]
    actions.predict_dialog.close()


def test_predict_dialog_says_how_files_differ_from_the_training_data(trained, qtbot, tmp_path):
    """Issue 15: a photo unlike the 8x8 grey digits is converted, and the dialog and a banner say how;
    an 8x8 grey digit like the training data gets no note."""
    photo = tmp_path / "photo.jpg"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(photo)
    pngs, _x = _digit_pngs(tmp_path, records=(0,))
    actions = trained.project_actions
    with qtbot.waitSignal(actions.sigPredicted, timeout=30000) as predicted:
        actions.predict_on_files([photo, pngs[0]])
    result = predicted.args[0]
    assert result.notes == [f"{photo}: 64x48 RGB -> resized to 8x8 grey"]
    dialog = actions.predict_dialog
    assert dialog.notes.isVisible() and "photo.jpg: 64x48 RGB -> resized to 8x8 grey" in dialog.notes.text()
    assert "resized to 8x8 grey" in dialog.table.item(0, 1).toolTip()
    assert "resized" not in dialog.table.item(1, 1).toolTip()
    assert any(level == "warning" and "photo.jpg" in text for level, text in actions.messages)
    dialog.close()
