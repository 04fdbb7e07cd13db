"""``load``: one entry point that detects the format of a source and hands it to the right reader."""

from __future__ import annotations

import os
import shutil
import tempfile

from engine.data.archive import DEFAULT_MAX_BYTES, MAX_NESTING, is_archive, safe_extract
from engine.data.budget import default_disk_budget
from engine.data.concat import concatenate
from engine.data.dataset import Dataset
from engine.data.errors import DataImportError, ImportContext
from engine.data.readers.arrays import read_npy, read_npz
from engine.data.readers.common import check_readable, natural_key, open_failure_reason, read_head
from engine.data.readers.h5data import read_hdf5
from engine.data.readers.idx import is_idx_file, read_idx_files
from engine.data.readers.images import class_folders, is_image_file, read_image_files
from engine.data.readers.labels import looks_like_label_table, read_label_table
from engine.data.readers.tabular import read_table
from engine.data.readers.text import read_text, text_dataset
from engine.data.storage import default_memory_budget

__all__ = ["load", "concatenate", "detect_format"]

_TABLE = (".csv", ".tsv", ".tab")
_TEXT = (".txt", ".text", ".md")
_HDF5 = (".h5", ".hdf5", ".hdf", ".he5")
_JUNK = frozenset({"Thumbs.db", "desktop.ini"})
SUPPORTED = "images (png, jpg, bmp, gif, tif, webp), csv/tsv, txt, IDX, npy/npz, HDF5, zip/tar archives"


def detect_format(path) -> str:
    """Return a file's format: image, table, text, idx, npy, npz, hdf5 or archive.

    Raises
    ------
    DataImportError
        For empty, unreadable or unsupported files, naming the file.
    """
    check_readable(path)
    name = os.fspath(path).lower()
    if is_image_file(name):
        return "image"
    if name.endswith(_TABLE):
        return "table"
    if name.endswith(".npy"):
        return "npy"
    if name.endswith(".npz"):
        return "npz"
    if name.endswith(_HDF5):
        return "hdf5"
    if is_archive(path):
        return "archive"
    head = read_head(path, 8)
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "hdf5"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if "idx" in name or "ubyte" in name or is_idx_file(path):
        if is_idx_file(path):
            return "idx"
        raise DataImportError("named like an IDX file but the header is not IDX", path)
    if name.endswith(_TEXT):
        return "text"
    ext = os.path.splitext(name)[1] or "(no extension)"
    raise DataImportError(f"unsupported format {ext}; supported: {SUPPORTED}", path)


def load(
    source,
    *,
    inputs=None,
    targets="auto",
    classes=None,
    target_kind: str = "auto",
    image_size=None,
    color: str = "auto",
    resize: str = "stretch",
    missing: str = "drop",
    fill_value=None,
    delimiter=None,
    header="auto",
    sequence_length: int = 32,
    stride=None,
    on_error: str = "raise",
    memory_budget: int | None = None,
    disk_budget: int | None = None,
    cache_dir=None,
    max_archive_bytes: int = DEFAULT_MAX_BYTES,
    progress=None,
    cancel=None,
) -> Dataset:
    """Import a dataset from a file, several files, a folder or an archive.

    Parameters
    ----------
    source : str, PathLike or list of them
        A file (image, CSV/TSV, text, IDX, ``.npy``/``.npz``, HDF5), a folder (one subfolder per
        class of images; images with a label CSV; IDX image/label pairs; tables), a zip or tar(.gz)
        archive of any of these, or a list of sources (concatenated).
    inputs, targets : str, int or list, optional
        Column roles for tables (names or indices), array names for ``.npz``/HDF5, the file-name
        and label columns of an image label CSV. ``targets=None``: no targets.
    classes : list of str, optional
        Expected class names, in index order; a label outside it is an error.
    target_kind : {"auto", "class", "regression"}
    image_size : (height, width), optional
        Resize every image to this size (default: the most common size).
    color : {"auto", "grayscale", "rgb"}
    resize : {"stretch", "fit", "crop"}
    missing : {"drop", "fill", "raise"}
        Missing values in tables. ``fill_value`` sets the numeric fill (default: column mean).
    delimiter, header :
        Force the table delimiter / whether the first row is a header.
    sequence_length, stride : int
        Window length and step for text files.
    on_error : {"raise", "skip"}
        Stop at the first bad record, or leave bad records out and list them in ``dataset.report``.
    memory_budget : int, optional
        Bytes the records may take in RAM; beyond it they go to an HDF5 cache in ``cache_dir``.
        Default: a quarter of physical memory, at most 4 GiB.
    disk_budget : int, optional
        Bytes the cache files may take in ``cache_dir``. Default: half its free space, at most 64 GiB.
        Sizes declared by headers are checked against memory plus disk budgets before reading.
    cache_dir : str, optional
        Where cache files (and extracted archives, while importing) go; the temp folder by default.
    max_archive_bytes : int
        Limit on the uncompressed size of an archive.
    progress : callable(done, total, path), optional
        Called on the importing thread after each file or block of rows.
    cancel : threading.Event, optional
        Set it to stop the import with :class:`ImportCancelled`.

    Returns
    -------
    Dataset
        ``inputs`` float32, ``targets`` int64 class indices (with ``classes``) or float32 values.

    Raises
    ------
    DataImportError
        With ``.file`` and ``.row`` set to what is wrong.
    ImportCancelled
        When ``cancel`` was set.
    """
    ctx = ImportContext(on_error, progress, cancel)
    options = dict(
        inputs=inputs,
        targets=targets,
        classes=classes,
        target_kind=target_kind,
        image_size=image_size,
        color=color,
        resize=resize,
        missing=missing,
        fill_value=fill_value,
        delimiter=delimiter,
        header=header,
        sequence_length=sequence_length,
        stride=stride,
        max_archive_bytes=max_archive_bytes,
        memory_budget=int(memory_budget) if memory_budget is not None else default_memory_budget(),
        disk_budget=int(disk_budget) if disk_budget is not None else default_disk_budget(cache_dir),
        cache_dir=os.fspath(cache_dir) if cache_dir is not None else None,
        archive_depth=0,
    )
    ctx.check_cancel()
    if isinstance(source, (list, tuple)):
        dataset = _load_many([os.fspath(s) for s in source], ctx, options)
    else:
        dataset = _load_path(os.fspath(source), ctx, options)
    dataset.report = ctx.report
    dataset.meta.setdefault(
        "source", [os.fspath(s) for s in source] if isinstance(source, (list, tuple)) else os.fspath(source)
    )
    return dataset


def _load_path(path: str, ctx, opt) -> Dataset:
    if not os.path.exists(path):
        raise DataImportError("no such file or folder", path)
    if os.path.isdir(path):
        return _load_folder(path, ctx, opt)
    fmt = detect_format(path)
    budget, cache, disk = opt["memory_budget"], opt["cache_dir"], opt["disk_budget"]
    if fmt == "archive":
        if opt["archive_depth"] >= MAX_NESTING:
            raise DataImportError(
                f"archive nested {opt['archive_depth'] + 1} deep inside other archives (limit {MAX_NESTING})",
                path,
            )
        if cache:
            os.makedirs(cache, exist_ok=True)
        workdir = tempfile.mkdtemp(prefix="sigma-extract-", dir=cache)
        try:
            # Extraction writes into the cache folder, so the disk budget bounds it as well.
            limit = min(opt["max_archive_bytes"], max(0, disk))
            root = safe_extract(path, workdir, limit, ctx=ctx)
            inner = dict(opt, archive_depth=opt["archive_depth"] + 1)
            dataset = _load_folder(root, ctx, inner, archive=path)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return dataset
    if fmt == "image":
        return _images(os.path.dirname(path), [path], None, ctx, opt)
    if fmt == "table":
        keys = ("inputs", "targets", "classes", "target_kind", "missing", "fill_value", "delimiter", "header")
        return read_table(
            path, ctx, memory_budget=budget, cache_dir=cache, disk_budget=disk, **{k: opt[k] for k in keys}
        )
    if fmt == "text":
        text = read_text(path, budget)
        return text_dataset(
            text,
            ctx,
            sequence_length=opt["sequence_length"],
            stride=opt["stride"],
            memory_budget=budget,
            cache_dir=cache,
            source=path,
            disk_budget=disk,
        )
    if fmt == "idx":
        return read_idx_files(
            [path], ctx, classes=opt["classes"], memory_budget=budget, cache_dir=cache, disk_budget=disk
        )
    # targets=None means "no targets" here too; "auto" picks an array by its name (y, labels...).
    roles = dict(
        inputs=_name(opt["inputs"]), targets=False if opt["targets"] is None else _name(opt["targets"])
    )
    if fmt == "npy":
        return read_npy(
            path, ctx, classes=opt["classes"], memory_budget=budget, cache_dir=cache, disk_budget=disk
        )
    reader = read_npz if fmt == "npz" else read_hdf5
    return reader(
        path, ctx, classes=opt["classes"], memory_budget=budget, cache_dir=cache, disk_budget=disk, **roles
    )


def _name(role):
    """Array name for npz/HDF5 roles (``"auto"`` means pick by common names)."""
    return None if role in (None, "auto") else role


def _images(root, files, labels, ctx, opt, **extra) -> Dataset:
    return read_image_files(
        files,
        labels,
        ctx,
        classes=opt["classes"],
        image_size=opt["image_size"],
        color=opt["color"],
        resize=opt["resize"],
        memory_budget=opt["memory_budget"],
        disk_budget=opt["disk_budget"],
        cache_dir=opt["cache_dir"],
        root=root,
        **extra,
    )


def _visible(folder: str) -> list:
    return sorted(
        (e for e in os.scandir(folder) if not e.name.startswith((".", "__MACOSX")) and e.name not in _JUNK),
        key=lambda e: natural_key(e.name),
    )


def _walk_files(folder: str) -> list[str]:
    """Files under ``folder`` in natural order, walked with a stack (``os.walk`` recurses in Python 3.11)."""
    out = []
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: natural_key(e.name))
        except OSError:
            continue  # an unreadable subfolder holds nothing we can import
        subdirs = []
        for e in entries:
            if e.is_dir():
                # Like os.walk: links to folders are not followed (they could loop).
                if not e.name.startswith((".", "__")) and not e.is_symlink():
                    subdirs.append(e.path)
            elif not e.name.startswith("."):
                out.append(e.path)
        stack.extend(reversed(subdirs))
    return out


def _load_folder(folder: str, ctx, opt, archive=None) -> Dataset:
    where = archive or folder
    # Step into wrapper folders (an archive's "data/" around everything) in a loop, not by recursion:
    # a folder chain can be thousands deep.
    for _ in range(64):
        try:
            entries = _visible(folder)
        except OSError as exc:
            raise DataImportError(open_failure_reason(exc), folder) from exc
        files = [e.path for e in entries if e.is_file()]
        dirs = [e.path for e in entries if e.is_dir()]
        if files or len(dirs) != 1:
            break
        folder = dirs[0]
    else:
        raise DataImportError("folders nested more than 64 deep with nothing in them", where)
    images = [f for f in files if is_image_file(f)]
    tables = [f for f in files if f.lower().endswith(_TABLE)]
    if len(tables) == 1 and looks_like_label_table(tables[0]):
        return _labelled_images(folder, tables[0], ctx, opt)
    per_class = [
        (d, name, [f for f in _walk_files(d) if is_image_file(f)]) for d, name in class_folders(folder)
    ]
    if any(c[2] for c in per_class):
        for d, name, found in per_class:
            if not found:
                ctx.warn(f"class folder {name!r} has no images; the class is left out", d)
    per_class = [c for c in per_class if c[2]]
    if per_class:
        paths, labels = [], []
        for d, name, found in per_class:
            for f in _walk_files(d):
                if not is_image_file(f):
                    ctx.warn("not an image file; ignored", f)
            paths += found
            labels += [name] * len(found)
        return _images(folder, paths, labels, ctx, opt)
    if images:
        for f in files:
            if not is_image_file(f):
                ctx.warn("not an image file; ignored", f)
        return _images(folder, images, None, ctx, opt)
    if not files:
        raise DataImportError("folder is empty (no files to import)", where)
    formats = {}
    for f in files:
        try:
            formats[f] = detect_format(f)
        except DataImportError as exc:
            # A README, licence or stray file next to the data is not a reason to stop.
            ctx.warn(f"{exc.reason}; ignored", f)
    if not formats:
        raise DataImportError("folder has no files in a supported format", where)
    idx = [f for f, fmt in formats.items() if fmt == "idx"]
    if idx:
        return read_idx_files(
            idx,
            ctx,
            classes=opt["classes"],
            memory_budget=opt["memory_budget"],
            cache_dir=opt["cache_dir"],
            disk_budget=opt["disk_budget"],
        )
    return _load_many(list(formats), ctx, opt)


def _labelled_images(folder: str, table: str, ctx, opt) -> Dataset:
    all_images = [f for f in _walk_files(folder) if is_image_file(f)]
    files, labels, rows = read_label_table(
        table, all_images, folder, ctx, opt["inputs"], opt["targets"], opt["delimiter"], opt["header"]
    )
    return _images(folder, files, labels, ctx, opt, label_rows=rows, label_file=table)


def _load_many(paths: list[str], ctx, opt) -> Dataset:
    if not paths:
        raise DataImportError("no sources given", None)
    formats = [
        ("folder" if os.path.isdir(p) else detect_format(p)) if os.path.exists(p) else None for p in paths
    ]
    for p, f in zip(paths, formats):
        if f is None:
            raise DataImportError("no such file or folder", p)
    if all(f == "idx" for f in formats):
        return read_idx_files(
            paths,
            ctx,
            classes=opt["classes"],
            memory_budget=opt["memory_budget"],
            cache_dir=opt["cache_dir"],
            disk_budget=opt["disk_budget"],
        )
    if all(f == "image" for f in formats):
        return _images(os.path.commonpath([os.path.abspath(p) for p in paths]), paths, None, ctx, opt)
    parts = []
    for p in paths:
        try:
            parts.append(_load_path(p, ctx, opt))
        except DataImportError as exc:
            # Under on_error="skip" a source that cannot be read is one bad file: named, left out.
            if ctx.on_error == "raise":
                raise
            ctx.fail(exc.reason, exc.file, exc.row)
    if not parts:
        raise DataImportError("none of the sources could be read (see the report)", paths[0])
    return concatenate(parts, opt["memory_budget"], opt["cache_dir"])
