"""CSV/TSV import: quoting, BOM, delimiters, headers, categorical columns, missing values, roles."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data import DataImportError, load


def test_quoted_commas_bom_and_categorical_target(tmp_path):
    path = tmp_path / "pets.csv"
    text = (
        'weight,height,"name, nick",species\n'
        '4.5,30,"Tom, the cat",cat\n30,60,"Rex, good boy",dog\n5.0,28,Kit,cat\n'
    )
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    ds = load(path, inputs=["weight", "height", "name, nick"])
    assert ds.classes == ["cat", "dog"]
    np.testing.assert_array_equal(ds["targets"], [0, 1, 0])
    # The quoted name column is categorical: category indices, with the list in meta.
    assert ds.meta["categories"] == {"name, nick": ["Kit", "Rex, good boy", "Tom, the cat"]}
    np.testing.assert_allclose(ds["inputs"], [[4.5, 30, 2], [30, 60, 1], [5, 28, 0]])
    assert ds.meta["columns"]["inputs"][0] == "weight"  # BOM gone from the first name


def test_semicolon_delimiter_and_no_header_and_regression(tmp_path):
    path = tmp_path / "data.csv"
    rows = [f"{i};{i * 0.5};{i * 1.25 + 0.1}" for i in range(50)]
    path.write_text("\n".join(rows) + "\n")
    ds = load(path)
    assert ds.meta["delimiter"] == ";" and ds.classes is None
    assert ds["targets"].dtype == np.float32 and ds.shape_of("targets") == (1,)
    np.testing.assert_allclose(ds["targets"][3, 0], 3.85, rtol=1e-6)
    assert ds.shape_of("inputs") == (2,)


def test_tsv_with_column_roles_by_index_and_integer_classes(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("a\tb\tlabel\tc\n1\t2\t0\t3\n4\t5\t1\t6\n7\t8\t2\t9\n")
    ds = load(path, targets="label", inputs=[0, 3])
    assert ds.classes == ["0", "1", "2"]
    np.testing.assert_allclose(ds["inputs"], [[1, 3], [4, 6], [7, 9]])
    ds2 = load(path, targets=2, target_kind="regression")
    assert ds2["targets"].dtype == np.float32


def test_missing_values_dropped_filled_or_refused(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("x,y,label\n1,2,a\n,4,b\n5,NA,a\n7,8,b\n")
    dropped = load(path)
    assert len(dropped) == 2
    assert [(r.row, r.action) for r in dropped.report] == [(3, "skipped"), (4, "skipped")]
    filled = load(path, missing="fill")
    np.testing.assert_allclose(filled["inputs"][:, 0], [1, (1 + 5 + 7) / 3, 5, 7], rtol=1e-6)
    np.testing.assert_allclose(filled["inputs"][2, 1], (2 + 4 + 8) / 3, rtol=1e-6)
    assert len(load(path, missing="fill", fill_value=0)) == 4
    with pytest.raises(DataImportError) as info:
        load(path, missing="raise")
    assert info.value.row == 3 and "'x'" in str(info.value)


def test_stray_word_in_a_numeric_column_names_the_row(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20)) + "oops,1\n")
    with pytest.raises(DataImportError) as info:
        load(path)
    assert info.value.row == 22 and "oops" in str(info.value)
    assert len(load(path, on_error="skip")) == 20


def test_unknown_column_name_lists_the_columns(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataImportError, match=r"'zz' not found; columns are \['a', 'b'\]"):
        load(path, targets="zz")


def test_cp1252_file_is_read(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("city,temp\nZürich,1\nMálaga,2\n".encode("cp1252"))
    ds = load(path, inputs="city", targets="temp", target_kind="regression")
    assert ds.meta["categories"]["city"] == ["Málaga", "Zürich"]
