"""engine.predict on its own: files read into network inputs (images, CSV, .npy), bad files named with
their row and skipped by ``read_files``, predictions labelled and written as CSV atomically."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from engine import checkpoint
from engine import layers as L
from engine import predict as P
from engine.network import Network
from engine.training import Trainer


@pytest.fixture(scope="module")
def digits_net():
    """A small digits classifier trained for 2 epochs on 200 samples."""
    from engine.data import samples

    ds = samples.digits()
    x, y = np.asarray(ds["inputs"][:200]), np.asarray(ds["targets"][:200])
    net = Network(
        L.Input((64,), name="pixels")
        + L.Dense(16, activation="relu", name="fc1")
        + L.Dense(10, name="out")
        + L.SoftmaxCrossEntropy(name="loss")
    )
    Trainer(net, optimiser={"type": "adam", "learning_rate": 0.01}, batch_size=50).fit((x, y), epochs=2)
    return net, x


def _png(path, pixels8x8):
    Image.fromarray(np.round(pixels8x8 * 255).astype(np.uint8)).save(path)
    return path


def test_every_kind_of_file_becomes_samples_of_the_input_shape(tmp_path, digits_net):
    _net, x = digits_net
    np.save(tmp_path / "one.npy", x[0])
    np.save(tmp_path / "batch.npy", x[1:4].reshape(3, 8, 8))
    np.savetxt(tmp_path / "rows.csv", x[4:6], delimiter=",", header="h," * 63 + "h", comments="")
    np.savetxt(tmp_path / "rows.tsv", x[6:7], delimiter="\t")
    _png(tmp_path / "digit.png", x[7].reshape(8, 8))
    files = [tmp_path / n for n in ("one.npy", "batch.npy", "rows.csv", "rows.tsv", "digit.png")]
    inputs, origins = P.read_samples(files, (64,))
    assert inputs.shape == (8, 64) and inputs.dtype == np.float32
    assert [(p.rsplit("/", 1)[1], i) for p, i in origins] == [
        ("one.npy", 1),
        ("batch.npy", 1),
        ("batch.npy", 2),
        ("batch.npy", 3),
        ("rows.csv", 1),
        ("rows.csv", 2),
        ("rows.tsv", 1),
        ("digit.png", 1),
    ]
    np.testing.assert_allclose(inputs[:7], x[:7], atol=1e-5)
    np.testing.assert_allclose(inputs[7], np.round(x[7] * 255) / 255, atol=1e-6)


def test_images_take_the_layout_of_the_input(tmp_path):
    rgb = (np.arange(4 * 6 * 3).reshape(4, 6, 3) * 3).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    chw = P.read_file(tmp_path / "c.png", (3, 4, 6))
    hwc = P.read_file(tmp_path / "c.png", (4, 6, 3))
    assert chw.shape == (1, 3, 4, 6) and hwc.shape == (1, 4, 6, 3)
    np.testing.assert_allclose(chw[0], hwc[0].transpose(2, 0, 1))
    np.testing.assert_allclose(hwc[0], rgb / np.float32(255), atol=1e-6)
    resized = P.read_file(tmp_path / "c.png", (1, 8, 8))  # resized to the input, made grayscale
    assert resized.shape == (1, 1, 8, 8)
    with pytest.raises(P.PredictInputError, match=r"samples of shape \(5,\), which are not images"):
        P.read_file(tmp_path / "c.png", (5,))


@pytest.mark.parametrize(
    "name, content, message, row",
    [
        ("wide.csv", "1,2,3\n1,2,3,4\n", "wide.csv, row 2: 4 values; the network takes 3 per sample", 2),
        ("word.csv", "a,b,c\n1,2,3\n1,x,3\n", "word.csv, row 3: 'x' is not a number", 3),
        ("empty.csv", "a,b,c\n", "empty.csv: no rows of numbers", None),
        ("nan.csv", "1,nan,3\n", "nan.csv: contains NaN or infinite values", None),
        ("broken.png", b"\x89PNG\r\n\x1a\nnot really", "broken.png", None),
        ("notes.docx", "x", "cannot predict from a .docx file", None),
    ],
)
def test_bad_files_are_named_with_their_row(tmp_path, name, content, message, row):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(P.PredictInputError) as info:
        P.read_file(path, (3,) if name.endswith(".csv") else (64,))
    assert message in str(info.value) and info.value.file == str(path) and info.value.row == row


def test_wrong_array_size_and_missing_files(tmp_path):
    np.save(tmp_path / "wrong.npy", np.zeros((3, 5), np.float32))
    with pytest.raises(P.PredictInputError, match=r"wrong.npy: holds an array of shape \(3, 5\)"):
        P.read_file(tmp_path / "wrong.npy", (64,))
    with pytest.raises(P.PredictInputError, match="absent.png: file not found"):
        P.read_file(tmp_path / "absent.png", (64,))
    with pytest.raises(P.PredictInputError, match="is a folder"):
        P.read_file(tmp_path, (64,))


def test_integer_inputs_must_be_indices(tmp_path):
    (tmp_path / "ids.csv").write_text("1,2,3\n0,4,2\n")
    (tmp_path / "half.csv").write_text("1,2.5,3\n")
    got = P.read_file(tmp_path / "ids.csv", (3,), integer=True)
    assert got.dtype == np.int64 and got.tolist() == [[1, 2, 3], [0, 4, 2]]
    with pytest.raises(P.PredictInputError, match="takes indices"):
        P.read_file(tmp_path / "half.csv", (3,), integer=True)


def test_read_files_skips_bad_files_and_keeps_the_rest(tmp_path, digits_net):
    _net, x = digits_net
    good = [_png(tmp_path / f"d{i}.png", x[i].reshape(8, 8)) for i in range(3)]
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    files = [good[0], tmp_path / "corrupt.png", *good[1:]]
    inputs, origins, problems = P.read_files(files, (64,))
    assert len(inputs) == 3 and [o[0] for o in origins] == [str(g) for g in good]
    assert len(problems) == 1 and problems[0].file == str(tmp_path / "corrupt.png")
    with pytest.raises(P.PredictInputError, match="corrupt.png"):
        P.read_samples(files, (64,))


def test_predictions_are_the_networks_probabilities_with_class_names(tmp_path, digits_net):
    net, x = digits_net
    origins = [("a.csv", i + 1) for i in range(5)]
    table = P.predictions(net, x[:5], origins, batch_size=2)  # batches do not change the values
    expected = np.asarray(net.loss_head.predict(net(x[:5], training=False)).data)
    np.testing.assert_allclose(table.values, expected, atol=1e-6)
    assert table.classifier and table.class_names == [str(k) for k in range(10)]
    assert table.header[:4] == ["file", "sample", "class", "probability"] and table.header[-1] == "p_9"
    rows = list(table.rows())
    assert rows[0][:3] == ["a.csv", "1", str(int(expected[0].argmax()))]
    assert float(rows[0][3]) == pytest.approx(expected[0].max(), rel=1e-5)
    named = P.predictions(net, x[:2], origins[:2], classes=[f"digit {k}" for k in range(10)])
    assert named.header[4] == "p_digit 0" and named.best(0)[0].startswith("digit ")
    wrong_count = P.predictions(net, x[:2], origins[:2], classes=["a", "b"])  # not one per class
    assert wrong_count.class_names[1] == "1"


def test_regression_outputs_are_columns(digits_net):
    net = Network(L.Input((4,), name="x") + L.Dense(2, name="out") + L.SquaredError(name="loss"))
    table = P.predictions(net, np.ones((3, 4), np.float32), [("t.npy", i + 1) for i in range(3)])
    assert not table.classifier and table.header == ["file", "sample", "output_0", "output_1"]
    assert len(list(table.rows())[2]) == 4


def test_write_csv_is_atomic_and_matches_rows(tmp_path, digits_net):
    net, x = digits_net
    table = P.predictions(net, x[:3], [("f.npy", i + 1) for i in range(3)])
    out = tmp_path / "out.csv"
    out.write_text("previous results\n")
    P.write_csv(table, out)
    read = list(csv.reader(out.open()))
    assert read[0] == table.header and read[1:] == list(table.rows())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no temporary file left
    with pytest.raises(OSError):
        P.write_csv(table, tmp_path / "no such folder" / "x.csv")


def test_load_network_and_one_input_rule(tmp_path, digits_net):
    net, x = digits_net
    trainer = Trainer(net, optimiser={"type": "sgd", "learning_rate": 0.0}, batch_size=10)
    path = checkpoint.save(trainer, tmp_path / "c.h5")
    loaded, meta = P.load_network(path)
    assert "epoch" in meta
    np.testing.assert_array_equal(P.predict(loaded, x[:4]), P.predict(net, x[:4]))
    assert P.network_input(loaded) == ("pixels", (64,), False)
    a, b = L.Input((2,), name="a"), L.Input((2,), name="b")
    two = Network(outputs=L.Add(name="sum")([a, b]))
    with pytest.raises(P.PredictInputError, match="takes 2 inputs"):
        P.network_input(two)


def test_files_unlike_the_training_data_are_converted_and_said(tmp_path, digits_net):
    """Issue 15: each file whose shape, channels or value range differ from the training data gets one
    sentence naming the conversion applied (images), or a warning (arrays: nothing is converted)."""
    rng = np.random.default_rng(0)
    photo = tmp_path / "photo.jpg"
    Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(photo)  # 40x30 RGB
    notes = []
    counts = {"shape": [64], "min": 0.0, "max": 16.0}  # training data of 0..16 counts
    inputs, _ = P.read_samples([photo], (64,), summary=counts, notes=notes)
    assert notes == [
        f"{photo}: 40x30 RGB -> resized to 8x8 grey, values scaled 0-255 -> 0-16 like the training data"
    ]
    assert 0.0 <= inputs.min() and inputs.max() <= 16.0 and inputs.max() > 1.0
    # the same photo for training pixels in [0, 1]: only resized (the pipeline reads pixels as 0-1)
    notes = []
    P.read_samples([photo], (64,), summary={"shape": [64], "min": 0.0, "max": 1.0}, notes=notes)
    assert notes == [f"{photo}: 40x30 RGB -> resized to 8x8 grey"]
    # an 8x8 grey digit like the training data: nothing to say
    _, x = digits_net
    notes = []
    P.read_samples(
        [_png(tmp_path / "d.png", x[0].reshape(8, 8))], (64,), summary={"min": 0.0, "max": 1.0}, notes=notes
    )
    assert notes == []
    # arrays are reshaped when their size fits (said), and a range far off is warned about, unchanged
    np.save(tmp_path / "raw.npy", (x[:2] * 255).reshape(2, 8, 8))
    notes = []
    inputs, _ = P.read_samples([tmp_path / "raw.npy"], (64,), summary={"min": 0.0, "max": 1.0}, notes=notes)
    assert inputs.max() > 200  # nothing converted
    assert (
        notes[0]
        == f"{tmp_path / 'raw.npy'}: 2 sample(s) of shape (8, 8) -> reshaped to (64,) like the training data"
    )
    assert notes[1].startswith(f"{tmp_path / 'raw.npy'}: values 0 to 255, but the training data's are 0 to 1")


def test_sigma_predict_warns_on_stderr_and_checks_files_before_building_the_network(tmp_path, digits_net):
    import subprocess
    import sys

    net, x = digits_net
    trainer = Trainer(net, optimiser={"type": "sgd", "learning_rate": 0.0}, batch_size=10)
    trainer.input_summary = P.input_summary(x)
    path = checkpoint.save(trainer, tmp_path / "c.h5")
    assert checkpoint.info(path)["input_summary"] == {"shape": [64], "min": 0.0, "max": 1.0}
    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(photo)

    def sigma(*args):
        return subprocess.run(
            [sys.executable, "-m", "engine.cli", *map(str, args)], capture_output=True, text=True, timeout=120
        )

    done = sigma("predict", path, photo, "-o", tmp_path / "p.csv")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        f"warning: {photo}: 16x16 RGB -> resized to 8x8 grey",
        f"wrote 1 prediction(s) to {tmp_path / 'p.csv'}",
    ]


def test_sigma_predict_refuses_a_file_that_does_not_fit_before_building_the_network(
    tmp_path, digits_net, monkeypatch, capsys
):
    from engine.cli import commands
    from engine.cli import main as sigma_main

    net, _x = digits_net
    path = checkpoint.save(Trainer(net, optimiser="sgd", batch_size=10), tmp_path / "c.h5")
    (tmp_path / "wide.csv").write_text(",".join(["1"] * 65) + "\n")
    built = []
    monkeypatch.setattr(commands, "network_from_checkpoint", lambda p: built.append(p))
    assert sigma_main(["predict", str(path), str(tmp_path / "wide.csv")]) == 3
    assert "wide.csv, row 1: 65 values; the network takes 64" in capsys.readouterr().err
    assert built == []  # the input shape came from the stored spec; no network was built
