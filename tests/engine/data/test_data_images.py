"""Image folders through Pillow: class subfolders, label CSVs, formats, sizes and colour."""

from __future__ import annotations

import numpy as np
import pytest
from datafiles import pattern, write_image
from PIL import Image

from engine.data import DataImportError, load


def test_class_folder_reads_pixels_labels_and_classes(class_folder):
    root, pixels = class_folder
    ds = load(root)
    assert ds.classes == ["cat", "dog", "fish"]
    assert len(ds) == 9 and ds.section_names == ["inputs", "targets"]
    assert ds.shape_of("inputs") == (8, 8, 1) and ds["inputs"].dtype == np.float32
    assert ds["targets"].dtype == np.int64
    np.testing.assert_array_equal(ds["targets"], [0, 0, 0, 0, 1, 1, 1, 2, 2])
    np.testing.assert_allclose(ds["inputs"][5, ..., 0], pixels[("dog", 1)] / 255, atol=1e-6)
    assert ds.meta["files"][5].replace("\\", "/") == "dog/01.png"
    assert ds.statistics()["image_sizes"] == {"8x8": 9}


def test_jpeg_bmp_gif_rgb_and_natural_order(tmp_path):
    root = tmp_path / "imgs"
    a = pattern(1, (6, 5), rgb=True)
    write_image(root / "a" / "img10.bmp", a)
    write_image(root / "a" / "img2.jpg", np.full((6, 5, 3), 200, np.uint8))
    frames = [Image.fromarray(np.full((6, 5), v, np.uint8)).convert("P") for v in (30, 220)]
    (root / "b").mkdir()
    frames[0].save(root / "b" / "anim.gif", save_all=True, append_images=frames[1:])
    ds = load(root)
    assert ds.shape_of("inputs") == (6, 5, 3)
    assert ds.meta["files"][0].endswith("img2.jpg")  # natural order: img2 before img10
    np.testing.assert_allclose(ds["inputs"][0], 200 / 255, atol=4 / 255)  # JPEG is lossy
    np.testing.assert_allclose(ds["inputs"][1], a / 255, atol=1e-6)  # BMP is exact
    np.testing.assert_allclose(ds["inputs"][2], 30 / 255, atol=2 / 255)  # the first GIF frame


def test_mixed_sizes_resize_to_most_common_with_a_warning(tmp_path):
    root = tmp_path / "mixed"
    for i in range(3):
        write_image(root / "x" / f"{i}.png", pattern(i, (10, 12)))
    write_image(root / "y" / "big.png", pattern(9, (40, 30)))
    ds = load(root)
    assert ds.shape_of("inputs") == (10, 12, 1)
    assert ds.meta["image_sizes"] == {"10x12": 3, "40x30": 1}
    assert any("resized" in r.reason and r.action == "warning" for r in ds.report)


@pytest.mark.parametrize("resize", ["stretch", "fit", "crop"])
def test_explicit_size_and_colour(tmp_path, resize):
    root = tmp_path / "c"
    write_image(root / "k" / "0.png", pattern(0, (20, 10)))
    ds = load(root, image_size=(16, 16), color="rgb", resize=resize)
    assert ds.shape_of("inputs") == (16, 16, 3)
    x = ds["inputs"][0]
    np.testing.assert_allclose(x[..., 0], x[..., 2])  # grey promoted to RGB
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_transparent_png_is_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:2, ..., 3] = 255  # top half opaque red, bottom half transparent
    path = tmp_path / "t.png"
    Image.fromarray(rgba, "RGBA").save(path)
    x = load(path)["inputs"][0]
    np.testing.assert_allclose(x[0, 0], [1, 0, 0])
    np.testing.assert_allclose(x[3, 0], [1, 1, 1])


def test_flat_folder_without_labels_gives_inputs_only(tmp_path):
    for i in range(3):
        write_image(tmp_path / f"{i}.png", pattern(i))
    ds = load(tmp_path)
    assert ds.section_names == ["inputs"] and ds.classes is None and len(ds) == 3


def test_label_csv_next_to_images(tmp_path):
    for i in range(4):
        write_image(tmp_path / "img" / f"p{i}.png", pattern(i))
    (tmp_path / "labels.csv").write_text(
        "file,label\nimg/p0.png,yes\np1.png,no\nimg/p3.png,yes\n", encoding="utf-8"
    )
    ds = load(tmp_path)
    assert ds.classes == ["no", "yes"]
    np.testing.assert_array_equal(ds["targets"], [1, 0, 1])
    np.testing.assert_allclose(ds["inputs"][1, ..., 0], pattern(1) / 255, atol=1e-6)
    unlisted = [r for r in ds.report if r.action == "warning"]
    assert len(unlisted) == 1 and unlisted[0].file.endswith("p2.png")


def test_label_csv_listing_a_missing_image_names_the_row(tmp_path):
    write_image(tmp_path / "a.png", pattern(0))
    (tmp_path / "labels.csv").write_text("file,label\na.png,x\nghost.png,y\n")
    with pytest.raises(DataImportError) as info:
        load(tmp_path)
    assert info.value.file.endswith("labels.csv") and info.value.row == 3 and "ghost.png" in str(info.value)
    ds = load(tmp_path, on_error="skip")
    assert len(ds) == 1 and ds.report[0].row == 3


def test_class_folder_outside_the_given_classes_names_the_file(class_folder):
    root, _ = class_folder
    (root / "empty").mkdir()
    with pytest.raises(DataImportError, match="unknown class label 'fish'") as info:
        load(root, classes=["cat", "dog"])
    assert info.value.file == str(root / "fish" / "00.png")
    ds = load(root, classes=["cat", "dog"], on_error="skip")
    assert len(ds) == 7 and ds.classes == ["cat", "dog"]
    assert any("no images" in r.reason for r in ds.report)
