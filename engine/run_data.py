"""A project's data for a run: the whole dataset as its source and layout say, then the validation split
and the project's sample edits. :func:`engine.run.build_run` trains on them; the studio's dataset panel
and cost view read the data the same way (through ``engine.run``, which re-exports these names).
"""

from __future__ import annotations

import numpy as np

from .project import Project, ProjectError

__all__ = ["SAMPLE_SOURCES", "load_project_data", "split_and_edit"]

#: ``"sample:<name>"`` dataset sources and the function that makes each.
SAMPLE_SOURCES = ("digits", "cat", "chelsea", "xor", "text", "verse", "iris", "shapes")


def load_project_data(project: Project, progress=None, cancel=None):
    """The project's whole dataset, with its layout option applied (before any split).

    ``source`` is ``"sample:<name>"`` or a path (or list of paths) relative to the project file.
    """
    from . import data as data_module
    from .data.readers.images import is_image_file

    spec = project.dataset or {}
    source = spec.get("source")
    options = dict(spec.get("options") or {})
    layout = options.pop("layout", None)
    if not source:
        raise ProjectError("the project has no dataset source", str(project.path or ""), "dataset.source")
    if isinstance(source, str) and source.startswith("sample:"):
        name = source.split(":", 1)[1]
        if name not in SAMPLE_SOURCES:
            raise ProjectError(
                f"unknown sample dataset {name!r}; expected one of {', '.join(SAMPLE_SOURCES)}",
                str(project.path or ""),
                "dataset.source",
            )
        samples = data_module.samples
        if name in samples.FILES:  # shipped files go through the ordinary importer, options and all
            dataset = data_module.load(
                str(samples.resource_path(samples.FILES[name])), progress=progress, cancel=cancel, **options
            )
        else:
            dataset = {
                "digits": samples.digits,
                "cat": samples.cat_dataset,
                "chelsea": samples.chelsea_dataset,
                "xor": samples.xor,
                "text": samples.text,
                "verse": samples.verse,
            }[name]()
    elif project.task == "image" and isinstance(source, str) and is_image_file(source):
        # An image task paints a picture: its pixels are the records (coordinates in, colours out).
        max_side = int(options.get("max_side", data_module.samples.MAX_PAINT_SIDE))
        dataset = data_module.samples.picture_dataset(project.resolve(source), max_side)
    else:
        paths = source if isinstance(source, list) else [source]
        resolved = [str(project.resolve(p)) for p in paths]
        dataset = data_module.load(
            resolved if len(resolved) > 1 else resolved[0], progress=progress, cancel=cancel, **options
        )
    if layout == "image":
        dataset = _as_images(dataset)
    return dataset


def split_and_edit(project: Project, dataset, seed: int):
    """(train, validation, train_records, validation_records): the validation split, then the project's
    sample edits (``dataset.edits``) applied to each part. Splitting first keeps every record in the part
    it was in before it was edited, so an edit never reshuffles the validation set."""
    from .data.edits import DatasetEdits, EditError, split_records

    spec = project.dataset or {}
    where = str(project.path or "")
    try:
        edits = DatasetEdits.from_list(spec.get("edits"))
    except EditError as exc:
        raise ProjectError(str(exc), where, "dataset.edits") from None
    fraction = float(spec.get("validation_split") or 0.0)
    train, validation = dataset, None
    train_records, validation_records = np.arange(len(dataset), dtype=np.int64), None
    if fraction > 0:
        stratify = dataset.classes is not None
        fractions = {"train": 1.0 - fraction, "validation": fraction}
        parts = dataset.split(fractions, stratify=stratify, seed=seed)
        train, validation = parts["train"], parts["validation"]
        records = split_records(dataset, fractions, stratify, seed)
        train_records, validation_records = records["train"], records["validation"]
    try:
        train, train_records = edits.apply(train, train_records, whole=dataset)
        if validation is not None:
            validation, validation_records = edits.apply(validation, validation_records, whole=dataset)
    except EditError as exc:
        raise ProjectError(str(exc), where, "dataset.edits") from None
    return train, validation, train_records, validation_records


def _as_images(dataset):
    """Flat square records (N, k*k) or channels-last images (N, H, W, C) -> channels-first (N, C, H, W)."""
    from .data import Dataset

    x = np.asarray(dataset["inputs"])
    if x.ndim == 2:
        side = int(round(np.sqrt(x.shape[1])))
        if side * side != x.shape[1]:
            raise ProjectError(
                f"layout 'image' needs square records; got {x.shape[1]} features",
                None,
                "dataset.options.layout",
            )
        x = x.reshape(len(x), 1, side, side)
    elif x.ndim == 4 and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    sections = {name: np.asarray(dataset[name]) for name in dataset.section_names}
    sections["inputs"] = x.astype(np.float32, copy=False)
    return Dataset(sections, dataset.classes, meta=dict(getattr(dataset, "meta", {}) or {}))
