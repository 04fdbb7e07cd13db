"""Windows readiness of project files: paths stored relative and POSIX-style, read back on either OS.

The Windows cases run here through ``windows=True`` (``ntpath``/``PureWindowsPath`` rules, no file
system); the round trips run on real files.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
import pytest

import engine.data
from engine.paths import is_windows_absolute, native_path, portable_path
from engine.project import Project
from engine.run import load_project_data


@pytest.mark.parametrize(
    ("path", "base", "stored"),
    [
        (r"C:\Users\me\proj\data\train.csv", r"C:\Users\me\proj", "data/train.csv"),
        (r"c:\users\ME\Proj\data\train.csv", r"C:\Users\me\proj", "data/train.csv"),  # case-insensitive
        (r"D:\data\train.csv", r"C:\Users\me\proj", "D:/data/train.csv"),  # another drive: absolute
        (r"C:\Users\me\other\x.csv", r"C:\Users\me\proj", "C:/Users/me/other/x.csv"),  # outside: absolute
        (r"\\server\share\proj\data\x.csv", r"\\server\share\proj", "data/x.csv"),  # UNC inside
        (r"\\server\share\data\x.csv", r"C:\proj", "//server/share/data/x.csv"),  # UNC elsewhere
        (r"C:\Users\Zoë\Проект\データ\train.csv", r"C:\Users\Zoë\Проект", "データ/train.csv"),  # non-ASCII
        (r"\\?\C:\proj\data\train.csv", r"C:\proj", "data/train.csv"),  # extended-length prefix dropped
        (r"\\?\UNC\server\share\x.csv", r"C:\proj", "//server/share/x.csv"),
        (r"data\train.csv", r"C:\proj", "data/train.csv"),  # already relative
    ],
)
def test_windows_paths_are_stored_relative_with_forward_slashes(path, base, stored):
    assert portable_path(path, base, windows=True) == stored


def test_a_long_windows_path_is_stored_without_its_prefix():
    deep = "\\".join(f"folder{i:03d}" for i in range(40))  # ~400 characters, beyond MAX_PATH (260)
    long_path = rf"\\?\C:\proj\{deep}\train.csv"
    stored = portable_path(long_path, r"C:\proj", windows=True)
    assert stored == deep.replace("\\", "/") + "/train.csv" and "\\" not in stored and len(stored) > 260


@pytest.mark.parametrize(
    ("stored", "base", "windows", "native"),
    [
        ("data/train.csv", r"C:\proj", True, PureWindowsPath(r"C:\proj\data\train.csv")),
        (r"data\train.csv", "/home/me/proj", False, PurePosixPath("/home/me/proj/data/train.csv")),
        ("D:/data/x.csv", r"C:\proj", True, PureWindowsPath(r"D:\data\x.csv")),
        ("//server/share/x.csv", r"C:\proj", True, PureWindowsPath(r"\\server\share\x.csv")),
        (r"C:\data\x.csv", "/home/me/proj", False, PurePosixPath(r"C:\data\x.csv")),  # kept: cannot exist
        ("/srv/data/x.csv", "/home/me/proj", False, PurePosixPath("/srv/data/x.csv")),
    ],
)
def test_stored_paths_read_back_on_either_os(stored, base, windows, native):
    assert native_path(stored, base, windows=windows) == native


def test_windows_absolute_forms():
    assert is_windows_absolute(r"C:\x") and is_windows_absolute("c:/x") and is_windows_absolute(r"\\srv\s")
    assert not is_windows_absolute("data/x.csv") and not is_windows_absolute("C:x")


def _table(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ["a,b,label"] + [f"{i / 10},{1 - i / 10},{'cat' if i % 2 else 'dog'}" for i in range(10)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_a_project_in_a_long_non_ascii_folder_survives_a_move(tmp_path):
    deep = Path(*[f"Zoë-Ordner-{i:02d}" for i in range(16)])  # non-ASCII, > 260 characters in all
    folder = tmp_path / "Проекты" / deep
    table = folder / "データ" / "train.csv"
    _table(table)
    project = Project(name="moved", dataset={"source": str(table)}, last_checkpoint=str(folder / "c.h5"))
    saved = project.save(folder / "p.sigma")
    assert len(str(saved)) > 260
    doc = json.loads(saved.read_text(encoding="utf-8"))
    assert doc["dataset"]["source"] == "データ/train.csv" and doc["last_checkpoint"] == "c.h5"
    moved = tmp_path / "elsewhere"
    shutil.move(str(tmp_path / "Проекты"), moved)
    reopened = Project.load(moved / deep / "p.sigma")
    data = load_project_data(reopened)
    assert len(data) == 10 and data.classes == ["cat", "dog"]
    assert reopened.resolve(reopened.last_checkpoint) == moved / deep / "c.h5"


def test_a_project_written_on_windows_opens_here(tmp_path):
    _table(tmp_path / "data" / "train.csv")
    doc = {"format": "sigma.project/1", "name": "from windows", "dataset": {"source": r"data\train.csv"}}
    (tmp_path / "p.sigma").write_text(json.dumps(doc), encoding="utf-8")
    data = load_project_data(Project.load(tmp_path / "p.sigma"))
    np.testing.assert_allclose(np.asarray(data["inputs"])[1], [0.1, 0.9], rtol=1e-6)


def test_save_as_rebases_relative_paths_and_keeps_samples(tmp_path):
    _table(tmp_path / "a" / "data" / "t.csv")
    project = Project(name="p", dataset={"source": ["data/t.csv", "sample:digits"]})
    project.save(tmp_path / "a" / "p.sigma")
    project.save(tmp_path / "b" / "p.sigma")  # save as, elsewhere: the table stays where it is
    doc = json.loads((tmp_path / "b" / "p.sigma").read_text(encoding="utf-8"))
    assert doc["dataset"]["source"] == [(tmp_path / "a" / "data" / "t.csv").as_posix(), "sample:digits"]


def test_after_save_as_the_project_in_memory_still_finds_its_data(tmp_path):
    _table(tmp_path / "a" / "data" / "t.csv")
    project = Project(name="p", dataset={"source": "data/t.csv"})
    project.save(tmp_path / "a" / "p.sigma")
    project.save(tmp_path / "b" / "p.sigma")
    assert project.resolve(project.dataset["source"]) == tmp_path / "a" / "data" / "t.csv"
    assert len(load_project_data(project)) == 10


def test_a_windows_absolute_path_on_posix_is_named_as_written(tmp_path):
    from engine.project import ProjectError

    doc = {"format": "sigma.project/1", "name": "w", "dataset": {"source": r"C:\data\train.csv"}}
    (tmp_path / "p.sigma").write_text(json.dumps(doc), encoding="utf-8")
    project = Project.load(tmp_path / "p.sigma")
    if os.name != "nt":
        assert str(project.resolve(project.dataset["source"])) == r"C:\data\train.csv"
    with pytest.raises((ProjectError, engine.data.DataImportError), match=r"C:\\data\\train\.csv"):
        load_project_data(project)
