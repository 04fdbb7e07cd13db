"""The ``sigma`` command end to end, in subprocesses: exit codes, outputs, and one-line errors."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine import checkpoint
from engine import layers as L
from engine.network import Network
from engine.training import Trainer

ROOT = Path(__file__).resolve().parents[2]


def sigma(*args, cwd=None, check_one_line_error=True):
    """Run ``python -m engine.cli ARGS``; returns the CompletedProcess (text)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode not in (0, 130) and check_one_line_error:
        assert len(done.stderr.strip().splitlines()) == 1, f"not one line:\n{done.stderr}"
        assert "Traceback" not in done.stderr
    return done


def _digits_subset(n=200):
    from engine.data import samples

    ds = samples.digits()
    return np.asarray(ds["inputs"][:n]), np.asarray(ds["targets"][:n])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small classifier trained for 2 epochs on 200 digits, saved as a checkpoint."""
    folder = tmp_path_factory.mktemp("trained")
    net = Network(
        L.Input((64,), name="pixels")
        + L.Dense(16, activation="relu", name="fc1")
        + L.Dense(10, name="out")
        + L.SoftmaxCrossEntropy(name="loss")
    )
    x, y = _digits_subset()
    trainer = Trainer(
        net, optimiser={"type": "adam", "learning_rate": 0.01}, batch_size=50, metrics=["accuracy"]
    )
    trainer.fit((x, y), epochs=2)
    path = folder / "model.h5"
    checkpoint.save(trainer, path)
    return {"folder": folder, "checkpoint": path, "network": net, "inputs": x}


def _probabilities(net, x):
    out = net(x.astype(np.float32), training=False)
    return np.asarray(net.loss_head.predict(out).data)


# ---------------------------------------------------------------------------------------------- parsing
# Argument parsing runs in this process (no engine work happens before it): fast, same code path.
def test_help_lists_commands_and_exit_codes(capsys):
    from engine.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for word in ("train", "eval", "predict", "export", "info", "exit codes", "130"):
        assert word in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train"], "the following arguments are required: PROJECT"),
        (["predict", "model.h5", "x.npy", "--batch-size", "0"], "expected a number of at least 1, got 0"),
        (["train", "p.sigma", "--backend", "tpu"], "invalid choice: 'tpu'"),
        (["export", "model.h5"], "the following arguments are required: --onnx"),
    ],
)
def test_usage_errors_exit_2_in_one_line(capsys, argv, message):
    from engine.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err and f"sigma {argv[0]} --help" in err


def test_no_command_shows_help_and_exits_2(capsys):
    from engine.cli import main

    assert main([]) == 2
    assert "exit codes" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- info
def test_info_describes_the_checkpoint(trained):
    done = sigma("info", trained["checkpoint"])
    assert done.returncode == 0, done.stderr
    assert "2 epoch(s)" in done.stdout and "fc1" in done.stdout and "dense" in done.stdout
    as_json = json.loads(sigma("info", trained["checkpoint"], "--json").stdout)
    assert as_json["epoch"] == 2 and as_json["parameters"] == trained["network"].param_count()


def test_damaged_checkpoint_is_bad_input(tmp_path, trained):
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(trained["checkpoint"].read_bytes()[:2000])
    for command in (["info", damaged], ["export", damaged, "--onnx", tmp_path / "m.onnx"]):
        done = sigma(*command)
        assert done.returncode == 3
        assert str(damaged) in done.stderr
    assert not (tmp_path / "m.onnx").exists()
    done = sigma("info", tmp_path / "missing.h5")
    assert done.returncode == 3 and "missing.h5" in done.stderr


def test_info_refuses_crafted_checkpoints_in_one_line(tmp_path, trained):
    """An 8 GB unallocated dataset and parameters stored in another file (issue 14): refused, read in
    the guarded child, without allocating the declared size."""
    import shutil

    import h5py

    cases = {"huge.h5": "chunked", "external.h5": "external file"}
    for name in cases:
        shutil.copy(trained["checkpoint"], tmp_path / name)
    with h5py.File(tmp_path / "huge.h5", "r+") as f:
        del f["parameters/fc1.weights"]
        f["parameters"].create_dataset("fc1.weights", shape=(2**31, 1), dtype="f4", chunks=(2**20, 1))
    (tmp_path / "other.bin").write_bytes(b"\0" * 4096)
    with h5py.File(tmp_path / "external.h5", "r+") as f:
        shape = f["parameters/fc1.bias"].shape
        del f["parameters/fc1.bias"]
        f["parameters"].create_dataset(
            "fc1.bias", shape=shape, dtype="f4", external=[(str(tmp_path / "other.bin"), 0, 4096)]
        )
    for name, expected in cases.items():
        done = sigma("info", tmp_path / name)
        assert done.returncode == 3 and expected in done.stderr and name in done.stderr, done.stderr


# ---------------------------------------------------------------------------------------------- predict
def test_predict_reads_npy_csv_and_images_into_one_csv(tmp_path, trained):
    from PIL import Image

    x = trained["inputs"]
    np.save(tmp_path / "one.npy", x[0])
    np.save(tmp_path / "batch.npy", x[1:4].reshape(3, 8, 8))  # any shape with 64 values per sample
    np.savetxt(
        tmp_path / "rows.csv",
        x[4:6],
        delimiter=",",
        header=",".join(f"px{i}" for i in range(64)),
        comments="",
    )
    image = np.round(x[6].reshape(8, 8) * 255).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "digit.png")
    out = tmp_path / "predictions.csv"
    done = sigma(
        "predict",
        trained["checkpoint"],
        "one.npy",
        "batch.npy",
        "rows.csv",
        "digit.png",
        "-o",
        out,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open()))
    assert [(r["file"], r["sample"]) for r in rows] == [
        ("one.npy", "1"),
        ("batch.npy", "1"),
        ("batch.npy", "2"),
        ("batch.npy", "3"),
        ("rows.csv", "1"),
        ("rows.csv", "2"),
        ("digit.png", "1"),
    ]
    expected_inputs = np.concatenate([x[:6], (image.reshape(1, 64) / np.float32(255))])
    expected = _probabilities(trained["network"], expected_inputs)
    got = np.array([[float(r[f"p_{k}"]) for k in range(10)] for r in rows])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert [r["class"] for r in rows] == [str(k) for k in expected.argmax(axis=1)]


def test_predict_names_columns_after_the_classes_the_checkpoint_keeps(tmp_path, trained):
    names = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    trainer = Trainer(trained["network"], batch_size=50, class_names=names)
    checkpoint.save(trainer, tmp_path / "named.h5")
    assert checkpoint.info(tmp_path / "named.h5")["classes"] == list(names)
    np.save(tmp_path / "two.npy", trained["inputs"][:2])
    done = sigma("predict", tmp_path / "named.h5", "two.npy", "-o", tmp_path / "out.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert list(rows[0])[4:] == [f"p_{n}" for n in names]
    expected = _probabilities(trained["network"], trained["inputs"][:2]).argmax(axis=1)
    assert [r["class"] for r in rows] == [names[k] for k in expected]


def test_predict_bad_file_names_file_and_row_and_keeps_old_output(tmp_path, trained):
    (tmp_path / "bad.csv").write_text("1," * 63 + "1\n" + "1," * 62 + "oops,1\n")
    out = tmp_path / "out.csv"
    out.write_text("previous results\n")
    done = sigma("predict", trained["checkpoint"], tmp_path / "bad.csv", "-o", out)
    assert done.returncode == 3
    assert "bad.csv, row 2: 'oops' is not a number" in done.stderr
    assert out.read_text() == "previous results\n"
    np.save(tmp_path / "wrong.npy", np.zeros((3, 5), np.float32))
    done = sigma("predict", trained["checkpoint"], tmp_path / "wrong.npy")
    assert done.returncode == 3 and "wrong.npy" in done.stderr and "(3, 5)" in done.stderr
    done = sigma("predict", trained["checkpoint"], tmp_path / "absent.png")
    assert done.returncode == 3 and "absent.png: file not found" in done.stderr


# ---------------------------------------------------------------------------------------------- export
def test_export_onnx_runs_in_onnxruntime_like_the_engine(tmp_path, trained):
    ort = pytest.importorskip("onnxruntime")
    path = tmp_path / "digits.onnx"
    done = sigma("export", trained["checkpoint"], "--onnx", path, "--softmax", "--check")
    assert done.returncode == 0, done.stderr
    assert "opset 17" in done.stdout and "max abs difference" in done.stdout
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = trained["inputs"][:20].astype(np.float32)
    (got,) = session.run(None, {"pixels": x})
    np.testing.assert_allclose(got, _probabilities(trained["network"], x), atol=1e-4)


def test_export_of_an_unexportable_layer_exits_4_naming_it(tmp_path):
    net = Network(L.Input((3, 2), name="x") + L.SimpleRNN(4, activation="selu", name="odd_rnn"))
    trainer = Trainer(net, loss="mean_squared_error", batch_size=2)
    trainer.fit((np.zeros((2, 3, 2), np.float32), np.zeros((2, 4), np.float32)), epochs=1)
    checkpoint.save(trainer, tmp_path / "rnn.h5")
    done = sigma("export", tmp_path / "rnn.h5", "--onnx", tmp_path / "rnn.onnx")
    assert done.returncode == 4
    assert "odd_rnn" in done.stderr and "selu" in done.stderr
    assert not (tmp_path / "rnn.onnx").exists()


# ---------------------------------------------------------------------------------------------- train / eval
def _project(folder: Path, name="tiny.sigma", **training) -> Path:
    """The digits project with a small network, saved in ``folder``."""
    from engine.templates import digits_project, mlp

    project = digits_project()
    project.network = mlp(inputs=64, hidden=(16,), classes=10)
    project.training.update({"epochs": 1, "batch_size": 128, **training})
    return project.save(folder / name)


def test_train_resume_and_eval_end_to_end(tmp_path):
    project = _project(tmp_path)
    done = sigma("train", project, "--checkpoint-dir", tmp_path / "ckpt", "--checkpoint-min-seconds", "0")
    assert done.returncode == 0, done.stderr
    assert "epoch 1/1" in done.stdout and "val_accuracy" in done.stdout
    assert "checkpoints: every 1 epoch(s) and at the end" in done.stdout  # no floor: every due epoch
    last = tmp_path / "ckpt" / "last.h5"
    # the epoch's checkpoint is named after the project and the iteration; the last is last.h5
    assert last.exists() and len(list((tmp_path / "ckpt").glob("tiny-it0000*.h5"))) == 1

    done = sigma("train", project, "--resume", last, "--epochs", "2", "--checkpoint-dir", tmp_path / "ckpt")
    assert done.returncode == 0, done.stderr
    # The project's default floor (5 s) skips epoch 2's save; the run's end writes last.h5 all the same.
    assert "checkpoints: every 1 epoch(s) (at most one every 5 s) and at the end" in done.stdout
    assert len(list((tmp_path / "ckpt").glob("tiny-it0000*.h5"))) == 1
    assert (
        "resuming at epoch 2" in done.stdout and "epoch 2/2" in done.stdout and "epoch 1/" not in done.stdout
    )
    assert checkpoint.info(last)["epoch"] == 2
    assert checkpoint.info(last)["classes"] == [str(k) for k in range(10)]  # the dataset's, kept

    by_project = sigma("eval", project, "--checkpoint", last)
    by_checkpoint = sigma("eval", last, "--project", project)
    for done in (by_project, by_checkpoint):
        assert done.returncode == 0, done.stderr
        assert (
            "(epoch 2, iteration" in done.stdout
            and "validation (" in done.stdout
            and "accuracy" in done.stdout
        )
    assert by_project.stdout.splitlines()[-1] == by_checkpoint.stdout.splitlines()[-1]


def test_train_reports_bad_projects_in_one_line(tmp_path):
    done = sigma("train", tmp_path / "missing.sigma")
    assert done.returncode == 3 and "missing.sigma: file not found" in done.stderr

    broken = tmp_path / "broken.sigma"
    broken.write_text('{"format": "sigma.project/1",\n "name": \n')
    done = sigma("train", broken)
    assert done.returncode == 3 and "broken.sigma: not valid JSON at line 3" in done.stderr

    no_data = _project(tmp_path, "nodata.sigma")
    doc = json.loads(no_data.read_text())
    doc["dataset"]["source"] = "absent.csv"
    no_data.write_text(json.dumps(doc))
    done = sigma("train", no_data, "--no-checkpoints")
    assert done.returncode == 3 and "absent.csv" in done.stderr


def test_incompatible_checkpoint_is_refused(tmp_path, trained):
    from engine.runs import list_runs

    project = _project(tmp_path)
    done = sigma("train", project, "--resume", trained["checkpoint"], "--no-checkpoints")
    assert done.returncode == 3
    assert "model.h5: the checkpoint does not fit this project: architecture differs" in done.stderr
    assert list_runs(project) == []  # the refused start left no empty run behind

    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(Path(trained["checkpoint"]).read_bytes()[:4000])  # truncated
    done = sigma("train", project, "--resume", damaged, "--no-checkpoints")
    assert done.returncode == 3 and "damaged.h5" in done.stderr
    assert list_runs(project) == []


def test_training_failure_exits_1_with_the_guard_message(tmp_path):
    project = _project(tmp_path, optimiser={"type": "sgd", "learning_rate": 1e30})
    done = sigma("train", project, "--no-checkpoints")
    assert done.returncode == 1
    assert "the loss became nan" in done.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is a POSIX signal")
def test_ctrl_c_stops_cleanly_and_saves_a_final_checkpoint(tmp_path):
    project = _project(tmp_path, epochs=10_000)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "train",
            str(project),
            "--checkpoint-dir",
            str(tmp_path / "ckpt"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # A suite started from a non-interactive shell (nohup, a background job) ignores SIGINT, and a
        # Python started with SIGINT ignored keeps ignoring it: the child gets Ctrl-C as a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        for line in child.stdout:  # wait for proof that training runs, then interrupt
            if line.startswith("epoch 1/"):
                child.send_signal(signal.SIGINT)
                break
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, err
    assert "stopping after this iteration" in err and "Traceback" not in err
    assert "interrupted at epoch" in out
    info = checkpoint.info(tmp_path / "ckpt" / "last.h5")
    assert 1 <= info["epoch"] < 10_000


def test_new_writes_a_template_project_and_never_overwrites(tmp_path, capsys):
    from engine.cli import main
    from engine.project import Project

    target = tmp_path / "digits.sigma"
    assert main(["new", str(target)]) == 0
    project = Project.load(target)
    assert project.dataset["source"] == "sample:digits"
    before = target.read_text()
    assert main(["new", str(target), "--template", "cat"]) == 3
    assert "already exists" in capsys.readouterr().err
    assert target.read_text() == before
    assert main(["new", str(tmp_path / "x.sigma"), "--template", "nope"]) == 2


def test_progress_bar_and_epoch_lines_from_events():
    import io

    from engine.cli.progress import ConsoleProgress
    from engine.events import CheckpointSaved, EpochMetrics, EventBus, IterationMetrics, LogMessage

    bus, out, err = EventBus(), io.StringIO(), io.StringIO()
    with ConsoleProgress(bus, epochs=3, out=out, err=err, bar=True, max_rate=1e9):
        bus.emit(
            IterationMetrics(epoch=0, iteration=5, metrics={"loss": 0.5}, total_iterations=30, eta_seconds=75)
        )
        bus.emit(CheckpointSaved(path="c.h5", reason="periodic"))
        bus.emit(
            EpochMetrics(
                epoch=1,
                iteration=10,
                metrics={"loss": 0.25, "accuracy": 0.9, "val_loss": 0.3, "val_top5_accuracy": 1.0},
            )
        )
        bus.emit(LogMessage(level="warning", message="slow data"))
    assert "epoch 1/3  [####....................] 5/30  loss 0.5000  eta 1:15" in err.getvalue()
    assert "warning: slow data" in err.getvalue()
    assert (
        out.getvalue()
        .splitlines()[0]
        .startswith("epoch 1/3  loss 0.2500  accuracy 0.9000  val_loss 0.3000  (")
    )
    assert "c.h5" not in out.getvalue()  # periodic checkpoints are announced once, by the header
    assert len(bus) == 0  # unsubscribed on exit
