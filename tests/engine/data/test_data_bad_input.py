"""Bad input from the issue: each case names the file (and row), and skip mode reports what it left out."""

from __future__ import annotations

import io
import tarfile
import threading
import zipfile

import numpy as np
import pytest
from datafiles import pattern, write_image

from engine.data import DataImportError, ImportCancelled, load


def _assert_no_partial(report, n_skipped):
    assert sum(r.action == "skipped" for r in report) == n_skipped


def test_corrupt_image(class_folder):
    root, _ = class_folder
    bad = root / "dog" / "99.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(DataImportError) as info:
        load(root)
    assert info.value.file == str(bad) and info.value.row is None and str(bad) in str(info.value)
    ds = load(root, on_error="skip")
    assert len(ds) == 9
    _assert_no_partial(ds.report, 1)
    assert ds.report[0].file == str(bad) and ds.statistics()["skipped"] == 1


def test_truncated_png_is_caught_at_decode(tmp_path):
    buf = io.BytesIO()
    from PIL import Image

    Image.fromarray(pattern(0, (64, 64))).save(buf, "PNG")
    write_image(tmp_path / "a" / "ok.png", pattern(1, (64, 64)))
    (tmp_path / "a" / "cut.png").write_bytes(buf.getvalue()[:200])
    with pytest.raises(DataImportError, match="cut.png"):
        load(tmp_path)


def test_zero_byte_file(class_folder, tmp_path):
    root, _ = class_folder
    empty = root / "cat" / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(DataImportError, match="empty") as info:
        load(root)
    assert info.value.file == str(empty)
    zero_csv = tmp_path / "zero.csv"
    zero_csv.write_bytes(b"")
    with pytest.raises(DataImportError, match=r"empty \(0 bytes\)") as info:
        load(zero_csv)
    assert info.value.file == str(zero_csv)


def test_unsupported_format(tmp_path, class_folder):
    odd = tmp_path / "model.xyz"
    odd.write_bytes(b"\x01\x02\x03")
    with pytest.raises(DataImportError, match=r"unsupported format \.xyz") as info:
        load(odd)
    assert info.value.file == str(odd)
    # Inside an image folder a stray non-image file is left out with a warning naming it.
    root, _ = class_folder
    (root / "cat" / "notes.doc").write_bytes(b"hello")
    ds = load(root)
    assert len(ds) == 9 and any(r.file.endswith("notes.doc") and r.action == "warning" for r in ds.report)


def test_csv_row_of_wrong_length(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,label\n1,2,x\n3,4,y,EXTRA\n5,6,x\n7\n")
    with pytest.raises(DataImportError) as info:
        load(path)
    assert info.value.file == str(path) and info.value.row == 3
    assert "4 fields, expected 3" in str(info.value)
    ds = load(path, on_error="skip")
    assert len(ds) == 2 and [r.row for r in ds.report] == [3, 5]


def test_unknown_class_label(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("x,label\n1,cat\n2,dog\n3,cow\n4,cat\n")
    with pytest.raises(DataImportError) as info:
        load(path, classes=["cat", "dog"])
    assert info.value.row == 4 and "'cow'" in str(info.value) and info.value.file == str(path)
    ds = load(path, classes=["cat", "dog"], on_error="skip")
    np.testing.assert_array_equal(ds["targets"], [0, 1, 0])
    assert ds.report[0].row == 4


def test_unknown_class_label_in_image_label_table(tmp_path):
    for i in range(3):
        write_image(tmp_path / f"{i}.png", pattern(i))
    (tmp_path / "labels.csv").write_text("file,label\n0.png,a\n1.png,zebra\n2.png,b\n")
    with pytest.raises(DataImportError) as info:
        load(tmp_path, classes=["a", "b"])
    assert info.value.file.endswith("labels.csv") and info.value.row == 3


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataImportError, match="empty") as info:
        load(tmp_path / "empty")
    assert info.value.file == str(tmp_path / "empty")


def test_missing_path(tmp_path):
    with pytest.raises(DataImportError, match="no such file") as info:
        load(tmp_path / "nope.csv")
    assert info.value.file.endswith("nope.csv")


def test_zip_with_parent_traversal_is_refused_and_nothing_escapes(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok/a.txt", "fine")
        zf.writestr("../../escaped.txt", "gotcha")
    with pytest.raises(DataImportError) as info:
        load(archive, cache_dir=tmp_path / "cache")
    assert info.value.file == str(archive) and "../../escaped.txt" in str(info.value)
    assert not list(tmp_path.rglob("escaped.txt"))


@pytest.mark.parametrize("name", ["/etc/evil.png", "C:/evil.png"])
def test_tar_with_absolute_path_is_refused(tmp_path, name):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        data = b"x" * 10
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    with pytest.raises(DataImportError, match="absolute path") as exc:
        load(archive)
    assert name in str(exc.value)


def test_tar_link_escaping_the_target_is_refused(tmp_path):
    archive = tmp_path / "link.tar"
    with tarfile.open(archive, "w") as tf:
        link = tarfile.TarInfo("data/passwd")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../../etc/passwd"
        tf.addfile(link)
    with pytest.raises(DataImportError, match="outside the target") as exc:
        load(archive)
    assert "data/passwd" in str(exc.value)


def test_zip_bomb_limit(tmp_path):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.csv", "1,2\n" * 100_000)
    with pytest.raises(DataImportError, match="limit"):
        load(archive, max_archive_bytes=10_000)


def test_file_vanishing_during_import(class_folder):
    root, _ = class_folder
    files = sorted(root.rglob("*.png"))
    seen = []

    def delete_next(done, total, path):
        seen.append((done, total))
        if done == 2:
            files[2].unlink()  # the file after the one just read disappears

    with pytest.raises(DataImportError, match="disappeared") as info:
        load(root, progress=delete_next)
    assert info.value.file == str(files[2])
    assert seen[0] == (1, 9)


def test_file_vanishing_is_skipped_and_reported(class_folder):
    root, _ = class_folder
    files = sorted(root.rglob("*.png"))

    def delete_next(done, total, path):
        if done == 4:
            files[4].unlink()

    ds = load(root, progress=delete_next, on_error="skip")
    assert len(ds) == 8 and ds.report[0].file == str(files[4])


def test_cancel_stops_the_import(class_folder):
    root, _ = class_folder
    cancel = threading.Event()

    def progress(done, total, path):
        if done == 3:
            cancel.set()

    with pytest.raises(ImportCancelled):
        load(root, progress=progress, cancel=cancel)


def test_cancel_during_archive_extraction_leaves_nothing_behind(tmp_path):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(20):
            zf.writestr(f"d/{i}.csv", "1,2\n")

    class SetAfterFiveLooks(threading.Event):
        # An event the GUI sets while extraction is under way: the sixth look finds it set.
        looks = 0

        def is_set(self):
            self.looks += 1
            return self.looks > 5

    cancel = SetAfterFiveLooks()
    with pytest.raises(ImportCancelled):
        load(archive, cancel=cancel, cache_dir=tmp_path / "cache")
    assert cancel.looks == 6
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_progress_reports_csv_rows(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i % 2}\n" for i in range(10_000)))
    calls = []
    load(path, progress=lambda done, total, p: calls.append((done, total)))
    assert calls[-1] == (10_000, 10_000) and all(t == 10_000 for _, t in calls)
