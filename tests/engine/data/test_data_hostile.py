"""Issue 14's importer reproducers: each hostile or broken file ends in ``DataImportError`` naming the
file, quickly and without allocating what its header claims; skip mode leaves it out and says so."""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
import zipfile

import h5py
import numpy as np
import pytest
from datafiles import pattern, write_idx, write_image
from hostile import idx_gz_of_zeros, npy_header, npz_of_zeros, png_declaring, zip_deep

from engine.data import DataImportError, load


class _Bounded:
    """Assert a block ran within ``seconds`` and traced at most ``megabytes`` of new allocations."""

    def __init__(self, seconds: float = 5.0, megabytes: float = 64.0):
        self.seconds, self.megabytes = seconds, megabytes

    def __enter__(self):
        tracemalloc.start()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        elapsed = time.perf_counter() - self.t0
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        assert elapsed < self.seconds, f"took {elapsed:.1f} s"
        assert peak < self.megabytes, f"allocated {peak:.0f} MB"
        return False


def _refused(path, match: str | None = None, **options) -> DataImportError:
    with _Bounded(), pytest.raises(DataImportError, match=match) as info:
        load(path, **options)
    assert info.value.file is not None and str(info.value.file) in str(info.value)
    return info.value


# ----------------------------------------------------------------------------------------------- CSV
def test_csv_text_column_with_a_number_is_categorical(tmp_path):
    path = tmp_path / "pets.csv"
    path.write_text("a,label\ncat,0\ndog,1\n5,0\n")
    ds = load(path)
    assert len(ds) == 3 and ds.meta["categories"]["a"] == ["5", "cat", "dog"]
    assert np.asarray(ds["inputs"])[:, 0].tolist() == [1.0, 2.0, 0.0]
    assert np.asarray(ds["targets"]).tolist() == [0, 1, 0]


def test_csv_numeric_column_with_many_words_is_categorical(tmp_path):
    # 3 words in 10 values (30%): a text column, every value a category (was KeyError: '1').
    rows = ["1", "2", "x", "3", "y", "1", "z", "2", "3", "1"]
    path = tmp_path / "mixed.csv"
    path.write_text("v,label\n" + "".join(f"{v},{i % 2}\n" for i, v in enumerate(rows)))
    ds = load(path)
    assert len(ds) == 10 and ds.meta["categories"]["v"] == ["1", "2", "3", "x", "y", "z"]


def test_csv_numeric_column_with_few_words_reports_rows(tmp_path):
    rows = ["1.5"] * 19 + ["oops"]
    path = tmp_path / "stray.csv"
    path.write_text("v,label\n" + "".join(f"{v},{i % 2}\n" for i, v in enumerate(rows)))
    with pytest.raises(DataImportError, match="'oops' is not a number") as info:
        load(path)
    assert info.value.row == 21
    ds = load(path, on_error="skip")
    assert len(ds) == 19 and [r.row for r in ds.report] == [21]


def test_csv_latin1_after_64_kib(tmp_path):
    # ASCII for the first 64 KiB and more, then one latin-1 byte (was UnicodeDecodeError).
    path = tmp_path / "late.csv"
    rows = "".join(f"n{i},{i % 3}\n" for i in range(12000)) + "Zoë,1\n"
    assert rows.index("ë") > 1 << 16
    path.write_bytes(("name,label\n" + rows).encode("latin-1"))
    ds = load(path)
    assert ds.meta["encoding"] in ("cp1252", "latin-1") and len(ds) == 12001
    assert "Zoë" in ds.meta["categories"]["name"]


def test_csv_float32_overflow_is_reported(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("x,y\n1.0,2.0\n1e39,3.0\n2.0,4.0\n")
    with pytest.raises(DataImportError, match="beyond float32") as info:
        load(path, target_kind="regression")
    assert info.value.row == 3
    ds = load(path, target_kind="regression", on_error="skip")
    assert len(ds) == 2 and ds.report[0].row == 3 and "float32" in ds.report[0].reason


def test_csv_label_column_anywhere(tmp_path):
    path = tmp_path / "first.csv"
    path.write_text("label,a,b\nx,1,2\ny,3,4\nx,5,6\n")
    ds = load(path)
    assert ds.classes == ["x", "y"] and ds.meta["columns"]["inputs"] == ["a", "b"]
    ds = load(path, targets=0)
    assert ds.classes == ["x", "y"]


# -------------------------------------------------------------------------------------------- images
def test_png_declaring_20000_squared_is_refused_and_skipped(tmp_path):
    bomb = png_declaring(tmp_path / "imgs" / "bomb.png", 20000, 20000, rows_written=1)
    for i in range(3):
        write_image(tmp_path / "imgs" / f"ok{i}.png", pattern(i))
    err = _refused(bomb, "megapixels")
    assert err.file == str(bomb)
    with _Bounded():
        ds = load(tmp_path / "imgs", on_error="skip")
    assert len(ds) == 3 and [r.file for r in ds.report if r.action == "skipped"] == [str(bomb)]


def test_png_of_zeros_13000_squared_is_refused_before_decoding(tmp_path):
    bomb = png_declaring(tmp_path / "zeros.png", 13000, 13000)
    assert bomb.stat().st_size < 1 << 20
    _refused(bomb, "13000x13000")


# ------------------------------------------------------------------------------------ arrays and HDF5
def test_hdf5_declared_huge_never_written(tmp_path):
    path = tmp_path / "ghost.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", shape=(10**11, 4), dtype="f4", chunks=(1024, 4))
    cache = tmp_path / "cache"
    cache.mkdir()
    _refused(path, "declares", cache_dir=cache)
    assert not os.listdir(cache)
    # Within the budgets, but far more than the file stores: refused as never written.
    with h5py.File(path, "w") as f:
        f.create_dataset("x", shape=(10**7, 4), dtype="f4", chunks=(1024, 4))
    _refused(path, "never written")


def test_npz_of_zeros_is_refused(tmp_path):
    path = npz_of_zeros(tmp_path / "zeros.npz", (1 << 25,))  # 256 MiB declared
    assert path.stat().st_size < 2 << 20
    _refused(path, "expansion")


def test_npz_members_stream_within_the_budget(tmp_path):
    x = np.arange(40000 * 8, dtype=np.float64).reshape(40000, 8) % 97
    y = np.arange(40000) % 3
    path = tmp_path / "data.npz"
    np.savez_compressed(path, x=x, y=y)
    ds = load(path, memory_budget=1 << 20, cache_dir=tmp_path)
    assert np.array_equal(np.asarray(ds["inputs"][:]), x.astype(np.float32))
    assert np.array_equal(np.asarray(ds["targets"][:]), y)


def test_gzipped_idx_of_zeros_is_refused(tmp_path):
    path = idx_gz_of_zeros(tmp_path / "train-images-idx3-ubyte.gz", (200000, 28, 28))
    assert path.stat().st_size < 1 << 20
    _refused(path, "expansion")


@pytest.mark.parametrize("fmt", ["npy", "npz", "h5"])
def test_scalar_arrays(tmp_path, fmt):
    path = tmp_path / f"scalar.{fmt}"
    if fmt == "npy":
        np.save(path, np.float64(3.0))
    elif fmt == "npz":
        np.savez(path, x=np.float64(3.0))
    else:
        with h5py.File(path, "w") as f:
            f["x"] = 3.0
    _refused(path, "scalar")


def test_hdf5_empty_and_structured(tmp_path):
    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=h5py.Empty("f4"))
    _refused(path, "empty")
    path = tmp_path / "compound.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros(4, dtype=[("a", "f4"), ("b", "i4")])
    _refused(path, "dtype")


def test_structured_npy_and_npz(tmp_path):
    rec = np.zeros(4, dtype=[("a", "f4"), ("b", "i4")])
    np.save(tmp_path / "s.npy", rec)
    _refused(tmp_path / "s.npy", "dtype")
    np.savez(tmp_path / "s.npz", x=rec)
    _refused(tmp_path / "s.npz", "dtype")


def test_hdf5_external_storage_is_refused(tmp_path):
    raw = tmp_path / "outside.bin"
    raw.write_bytes(np.ones(16, dtype="<f4").tobytes())
    path = tmp_path / "ext.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", shape=(4, 4), dtype="<f4", external=[(str(raw), 0, 64)])
    _refused(path, "external")


def test_damaged_npy_header(tmp_path):
    path = tmp_path / "bad.npy"
    head = npy_header((3, 2)).replace(b"'shape': (3, 2)", b"'shape': (3, \"")
    path.write_bytes(head + bytes(48))
    _refused(path, "damaged .npy header")
    path.write_bytes(npy_header((10**6, 10)) + bytes(80))  # declares more than it holds
    _refused(path, "truncated")


def test_bad_idx_headers(tmp_path):
    good = write_idx(tmp_path / "a-images-idx3-ubyte", np.zeros((4, 3, 3), np.uint8), gz=False)
    data = good.read_bytes()
    bad = tmp_path / "b-images-idx3-ubyte"
    bad.write_bytes(data[:4] + (0).to_bytes(4, "big") + data[8:])  # fine: zero records
    bad.write_bytes(data[:8] + (0).to_bytes(4, "big") + data[12:])  # a zero-sized record
    _refused(bad, "empty record shape")
    bad.write_bytes(data[:4] + (10**9).to_bytes(4, "big") + data[8:])
    _refused(bad, "truncated")
    bad.write_bytes(data[:3] + b"\x09" + data[4:])
    _refused(bad)


def test_truncated_gz(tmp_path):
    full = write_idx(tmp_path / "t-images-idx3-ubyte.gz", pattern(0, (50, 28, 28)))
    cut = tmp_path / "u-images-idx3-ubyte.gz"
    cut.write_bytes(full.read_bytes()[:-200])
    _refused(cut)
    tgz = tmp_path / "data.tar.gz"
    tgz.write_bytes(full.read_bytes()[:40])
    _refused(tgz)


def test_zip_entry_under_1000_folders(tmp_path):
    _refused(zip_deep(tmp_path / "deep.zip", 1000), "folders deep")
    ds = load(zip_deep(tmp_path / "ok.zip", 20, b"a,label\n1,x\n2,y\n"))
    assert len(ds) == 2


def test_archive_in_archive_in_archive(tmp_path):
    inner = zip_deep(tmp_path / "l0.zip", 1, b"a,label\n1,x\n2,y\n")
    for level in range(1, 5):
        outer = tmp_path / f"l{level}.zip"
        with zipfile.ZipFile(outer, "w") as zf:
            zf.write(inner, inner.name)
        inner = outer
    assert len(load(tmp_path / "l2.zip")) == 2
    _refused(inner, "nested")


# ------------------------------------------------------------------------------- devices and FIFOs
def test_devices_fifos_and_folders_are_not_read(tmp_path):
    _refused("/dev/zero", "device")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    done = threading.Event()
    result = {}

    def run():
        try:
            load(fifo)
        except DataImportError as exc:
            result["error"] = exc
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(5), "load() blocked on a FIFO"
    assert "FIFO" in str(result["error"])
    # Inside a folder of images, a FIFO named like an image is not a file: never opened.
    write_image(tmp_path / "imgs" / "a.png", pattern(0))
    os.mkfifo(tmp_path / "imgs" / "b.png")
    with _Bounded():
        assert len(load(tmp_path / "imgs")) == 1


def test_skip_mode_leaves_out_a_bad_file_among_sources(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("a,label\n1,x\n2,y\n")
    bomb = npz_of_zeros(tmp_path / "zeros.npz", (9 << 20,))
    with pytest.raises(DataImportError, match="expansion"):
        load([good, bomb])
    ds = load([good, bomb], on_error="skip")
    assert len(ds) == 2 and [r.file for r in ds.report if r.action == "skipped"] == [str(bomb)]


def test_hdf5_variable_length_labels_are_refused_with_the_fix(tmp_path):
    # One flipped bit (byte 2089 of this layout) in the global heap made reading them hang forever.
    path = tmp_path / "vlen.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(40, dtype="f4").reshape(10, 4)
        f["y"] = ["cat", "dog"] * 5
    _refused(path, "fixed-length strings")
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(40, dtype="f4").reshape(10, 4)
        f["y"] = np.array(["cat", "dog"] * 5, dtype="S")
    assert load(path).classes == ["cat", "dog"]
