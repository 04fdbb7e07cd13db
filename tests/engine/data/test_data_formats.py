"""IDX (gzipped or not), NumPy, HDF5, text, archives and several sources at once."""

from __future__ import annotations

import tarfile
import zipfile

import h5py
import numpy as np
import pytest
from datafiles import pattern, write_idx, write_image

from engine.data import DataImportError, detect_format, load


@pytest.fixture
def mnist_like(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=50).astype(np.uint8)
    labels[:10] = np.arange(10)
    folder = tmp_path / "mnist"
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels)
    write_idx(folder / "t10k-images-idx3-ubyte", images[:7], gz=False)
    write_idx(folder / "t10k-labels-idx1-ubyte", labels[:7], gz=False)
    return folder, images, labels


def test_idx_pair_gzipped(mnist_like):
    folder, images, labels = mnist_like
    ds = load([folder / "train-images-idx3-ubyte.gz", folder / "train-labels-idx1-ubyte.gz"])
    assert ds.shape_of("inputs") == (28, 28, 1) and ds.classes == [str(i) for i in range(10)]
    np.testing.assert_allclose(ds["inputs"][..., 0], images / 255, atol=1e-6)
    np.testing.assert_array_equal(ds["targets"], labels)


def test_idx_folder_pairs_train_first_then_test(mnist_like):
    folder, images, labels = mnist_like
    ds = load(folder)
    assert len(ds) == 57
    np.testing.assert_array_equal(ds["targets"][50:], labels[:7])
    assert ds.meta["files"][0].startswith("train-images")


def test_idx_other_dtypes_and_truncation(tmp_path):
    values = np.arange(12, dtype=np.float32).reshape(3, 4) / 3
    path = write_idx(tmp_path / "x.idx", values.astype(">f4"), gz=False)
    assert detect_format(path) == "idx"
    np.testing.assert_allclose(load(path)["inputs"], values, rtol=1e-6)
    short = tmp_path / "short-images-idx3-ubyte"
    short.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(DataImportError):
        load(short)
    cut = write_idx(tmp_path / "cut-idx2-ubyte", np.zeros((10, 5), np.uint8), gz=False)
    cut.write_bytes(cut.read_bytes()[:-12])
    with pytest.raises(DataImportError, match="truncated: header says 10 records, found 7") as info:
        load(cut)
    assert info.value.file == str(cut)


def test_idx_label_count_mismatch(tmp_path):
    write_idx(tmp_path / "a-images-idx3-ubyte.gz", np.zeros((5, 2, 2), np.uint8))
    write_idx(tmp_path / "a-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(DataImportError, match="4 labels for 5 images"):
        load(tmp_path)


def test_npy_npz_and_hdf5(tmp_path):
    x = np.random.default_rng(1).normal(size=(20, 3)).astype(np.float64)
    y = np.arange(20) % 3
    np.save(tmp_path / "x.npy", x)
    assert load(tmp_path / "x.npy").section_names == ["inputs"]
    np.savez_compressed(tmp_path / "d.npz", features=x, labels=y)
    ds = load(tmp_path / "d.npz")
    assert ds["inputs"].dtype == np.float32 and ds.classes == ["0", "1", "2"]
    np.testing.assert_allclose(ds["inputs"], x, rtol=1e-6)
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["group/x"] = x
        f["group/y"] = y.astype(np.float32) * 0.5
    ds = load(tmp_path / "d.h5", inputs="group/x", targets="group/y")
    assert ds.classes is None and ds["targets"].dtype == np.float32
    with pytest.raises(DataImportError, match="name it with inputs="):
        np.savez(tmp_path / "two.npz", a=x, b=x)
        load(tmp_path / "two.npz")


def test_text_file_as_character_windows(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_bytes("\ufeffab\r\nba abba\n".encode())
    ds = load(path, sequence_length=4, stride=2)
    assert ds.vocabulary == ["\n", " ", "a", "b"] and ds.classes == ds.vocabulary
    text = "ab\nba abba\n"
    vocab = ds.vocabulary
    decoded = "".join(vocab[int(i)] for i in ds["inputs"][0])
    assert decoded == text[:4]
    assert "".join(vocab[int(i)] for i in ds["targets"][0]) == text[1:5]
    assert len(ds) == (len(text) - 5) // 2 + 1


def test_non_utf8_text_names_the_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"line one\nline \xff two\n" + b"x" * 100)
    with pytest.raises(DataImportError) as info:
        load(path)
    assert info.value.row == 2


def test_zip_and_tar_gz_of_a_class_folder(tmp_path, class_folder):
    root, _ = class_folder
    direct = load(root)
    zpath = tmp_path / "pets.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(root.rglob("*.png")):
            zf.write(f, f.relative_to(root.parent).as_posix())
    tpath = tmp_path / "pets.tar.gz"
    with tarfile.open(tpath, "w:gz") as tf:
        tf.add(root, arcname="pets")
    for archive in (zpath, tpath):
        ds = load(archive, cache_dir=tmp_path / "cache")
        assert ds.classes == direct.classes
        np.testing.assert_array_equal(ds["inputs"], direct["inputs"])
        assert ds.fingerprint() == direct.fingerprint()
    assert not any((tmp_path / "cache").iterdir())  # extracted files are cleaned up


def test_tar_internal_symlink_is_copied_not_linked(tmp_path):
    src = tmp_path / "src"
    write_image(src / "a" / "0.png", pattern(0))
    (src / "b").mkdir()
    (src / "b" / "0.png").symlink_to("../a/0.png")
    tpath = tmp_path / "l.tar"
    with tarfile.open(tpath, "w") as tf:
        tf.add(src, arcname="root")
    ds = load(tpath)
    np.testing.assert_array_equal(ds["inputs"][0], ds["inputs"][1])


def test_several_sources_are_concatenated_with_merged_classes(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x,label\n1,cat\n2,dog\n")
    b.write_text("x,label\n3,bird\n4,cat\n")
    ds = load([a, b])
    assert ds.classes == ["bird", "cat", "dog"]
    np.testing.assert_array_equal(ds["targets"], [1, 2, 0, 1])
    np.testing.assert_allclose(ds["inputs"][:, 0], [1, 2, 3, 4])
    c = tmp_path / "c.csv"
    c.write_text("x,y,label\n1,2,cat\n")
    with pytest.raises(DataImportError, match="records are"):
        load([a, c])


def test_array_files_without_targets_and_csv_auto_target_skips_inputs(tmp_path):
    x = np.ones((4, 2))
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(4))
    assert load(tmp_path / "d.npz", targets=None).section_names == ["inputs"]
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n1,2,x\n3,4,y\n")
    ds = load(path, inputs=["a", "c"])  # the target is the last column not used as an input
    assert ds.meta["columns"] == {"inputs": ["a", "c"], "targets": ["b"]}
    assert load(path, targets=None, inputs=["a", "b"]).section_names == ["inputs"]


def test_folder_ignores_unsupported_files_with_a_warning(mnist_like):
    folder, _, _ = mnist_like
    (folder / "LICENSE").write_bytes(b"\x01\x02 not data")
    ds = load(folder)
    assert len(ds) == 57
    assert any(r.file.endswith("LICENSE") and r.action == "warning" for r in ds.report)
