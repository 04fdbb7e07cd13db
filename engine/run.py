"""Turn a :class:`~engine.project.Project` into a ready trainer with its data and monitoring hooks.

The studio and the ``sigma`` command both start training here, so a project trains the same way in
the GUI and headless.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import run_hooks
from .project import Project, ProjectError

__all__ = ["Run", "build_run", "restore_checkpoint", "load_project_data", "SAMPLE_SOURCES"]

#: ``"sample:<name>"`` dataset sources and the function that makes each.
SAMPLE_SOURCES = ("digits", "cat", "chelsea", "xor", "text", "verse", "iris", "shapes")


@dataclass
class Run:
    """A project ready to train.

    Attributes
    ----------
    project : Project
    trainer : engine.training.Trainer
    train_data, validation_data : Dataset (validation may be None)
    epochs : int
        Total epochs planned (a resumed trainer continues up to it).
    image_shape : tuple or None
        For image tasks (the cat painter): the shape predictions are reshaped to.
    dataset : Dataset
        The whole dataset as loaded, before the split and the project's sample edits.
    train_records, validation_records : ndarray of int
        For each record of ``train_data`` / ``validation_data``, its position in ``dataset`` (the
        number sample edits use; see :mod:`engine.data.edits`).
    folder : Path or None
        The run folder recording this run (``<project>.runs/run-NNNN``), None when not recorded.
    checkpoint_dir : Path or None
        Where the run's checkpoints go (the run folder's ``checkpoints`` unless told otherwise).
    """

    project: Project
    trainer: object
    train_data: object
    validation_data: object = None
    epochs: int = 1
    image_shape: tuple | None = None
    classes: tuple | None = None
    sample_inputs: np.ndarray | None = field(default=None, repr=False)
    dataset: object = field(default=None, repr=False)
    train_records: np.ndarray | None = field(default=None, repr=False)
    validation_records: np.ndarray | None = field(default=None, repr=False)
    folder: Path | None = None
    checkpoint_dir: Path | None = None

    def fit(self, epochs: int | None = None, max_iterations: int | None = None, raise_errors: bool = True):
        """Train (blocking) up to ``epochs`` in total (the project's setting by default)."""
        return self.trainer.fit(
            self.train_data,
            epochs=self.epochs if epochs is None else int(epochs),
            validation=self.validation_data,
            max_iterations=max_iterations,
            raise_errors=raise_errors,
        )

    def discard(self) -> None:
        """Remove the run folder of a run that never trained (its checkpoint was refused, its operator
        could not start): a failed start leaves no empty run in the runs list. Nothing when unrecorded."""
        if self.folder is not None:
            from .runs import delete_run

            delete_run(self.folder)
            self.folder = None


def restore_checkpoint(run, checkpoint_path) -> str:
    """Restore ``run``'s trainer from ``checkpoint_path`` before ``fit``. ``run`` is a :class:`Run`, or
    any run-like object with a ``trainer`` (the studio's bridge accepts such builders).

    The file is checked in a child process first (a damaged one is refused, never hangs this one); a
    recorded run resumes or branches (:func:`engine.runs.continuation.restore_run`), an unrecorded one
    resumes. On any failure a recorded run's folder is discarded (:meth:`Run.discard`: a refused start
    leaves no empty run in the runs list) and the error raised.

    Returns
    -------
    str
        ``restore_run``'s sentence for the log (a branch on edited data), or ``""``.
    """
    from . import checkpoint, checkpoint_guard

    recorded = getattr(run, "folder", None) is not None
    try:
        checkpoint_guard.checked(checkpoint_path)
        if not recorded:
            checkpoint.restore(run.trainer, checkpoint_path)
            return ""
        from .runs.continuation import restore_run

        return restore_run(run, checkpoint_path)
    except BaseException:
        if recorded:
            run.discard()
        raise


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


def _split_and_edit(project: Project, dataset, seed: int):
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


def build_run(
    project: Project,
    backend=None,
    workers: int | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    events=None,
    extra_hooks=(),
    progress=None,
    cancel=None,
    record: bool = True,
    parent_checkpoint: str | os.PathLike | None = None,
    origin: str = "",
    run_info: dict | None = None,
) -> Run:
    """Build the trainer, data and monitoring hooks a project describes.

    In named steps: check the document, then the machine (:func:`check_runnable`); load the data
    (:func:`load_project_data`); build the network and check it fits the data; split and apply the
    sample edits (:func:`_split_and_edit`); the hooks (:mod:`engine.run_hooks`, in their order); the run
    folder (:func:`_record`) and where checkpoints go (:func:`_checkpoint_folder`); the Trainer, with
    the project's settings (:class:`engine.settings.TrainingSettings`).

    Parameters
    ----------
    project : Project
    backend : str, optional
        Overrides ``project.training["backend"]`` (``"cpu"``, ``"cuda"``, ``"auto"``).
    workers : int, optional
        Overrides ``project.training["workers"]``.
    checkpoint_dir : path, optional
        Where periodic/best checkpoints go (overrides the project's ``checkpoint.directory``).
    events : EventBus, optional
        Share an event bus (the studio's or the environment's).
    extra_hooks : sequence of Hook
        Added after the project's own hooks.
    record : bool
        Record the run in a new run folder next to the project (``<project>.runs/run-NNNN``, see
        :mod:`engine.runs`) when the project has been saved. Checkpoints then go into that folder
        unless ``checkpoint_dir`` or the project's ``checkpoint.directory`` says otherwise.
    parent_checkpoint : path, optional
        The checkpoint this run will be restored from: when it belongs to a run, that run is written
        down as the parent (a "resume" with the same settings, else a "branch").
    origin : str
        What starts the run (``"studio"``, ``"sigma train"``, ``"sigma sweep"``), for ``run.json``.
    run_info : dict, optional
        More entries for ``run.json`` (a sweep's trial and values).

    Raises
    ------
    ProjectError, NetworkError, DataImportError, ValueError
        With what is wrong and where (field, layer, file).
    """
    from .network import Network
    from .project_checks import check_runnable, validate_document
    from .training import Trainer

    # A project edited in memory (the studio) is checked like a loaded one, then against this machine.
    validate_document(project.to_dict(), str(project.path) if project.path else None)
    check_runnable(project, workers)
    settings = project.training
    seed = int(settings.seed)
    dataset = load_project_data(project, progress=progress, cancel=cancel)
    network = Network.from_spec(project.network)
    _check_data_fits(network, dataset, project.network)
    train, validation, train_records, validation_records = _split_and_edit(project, dataset, seed)
    classes = tuple(dataset.classes) if dataset.classes is not None else None

    view = run_hooks.task_view(project, dataset, train, validation, validation_records, classes)
    hooks = [*run_hooks.reporters(), *view.hooks, *run_hooks.control(settings, validation)]
    run_folder = _record(project, backend, parent_checkpoint, origin, run_info) if record else None
    folder = _checkpoint_folder(project, checkpoint_dir, run_folder)
    hooks.extend(run_hooks.checkpoints(project, folder, validation))
    hooks.extend(run_hooks.health(settings, extra_hooks))
    hooks.extend(extra_hooks)
    if run_folder is not None:
        from .runs import RunController, RunRecorder

        recorder = RunRecorder(run_folder, planned_epochs=int(settings.epochs))
        hooks.append(recorder)
        hooks.append(RunController(run_folder, recorder, folder))  # obeys <run>/control/ (sigma pause...)

    trainer = Trainer(
        network,
        optimiser=settings.optimiser,
        loss=None if getattr(network, "loss_head", None) is not None else settings.loss,
        batch_size=int(settings.batch_size),
        seed=seed,
        backend=backend or settings.backend,
        workers=int(workers if workers is not None else settings.workers),
        hooks=hooks,
        metrics=list(settings.metrics or []),
        name=project.name,
        events=events,
        class_names=classes,
    )
    trainer.input_summary = _input_summary(train)  # kept in checkpoints: predict compares files with it
    return Run(
        project=project,
        trainer=trainer,
        train_data=train,
        validation_data=validation,
        dataset=dataset,
        train_records=train_records,
        validation_records=validation_records,
        epochs=int(settings.epochs),
        image_shape=view.image_shape,
        classes=classes,
        sample_inputs=view.sample_inputs,
        folder=run_folder,
        checkpoint_dir=folder,
    )


def _record(project: Project, backend, parent_checkpoint, origin: str, run_info: dict | None):
    """A new run folder for a saved project (None for one never saved); a disk that refuses it is a
    ProjectError saying how to train anyway."""
    if project.path is None:
        return None
    from .runs import create_run, parent_of

    try:
        return create_run(
            project,
            parent=parent_of(project, parent_checkpoint),
            origin=origin,
            extra={"backend": backend or project.training.backend, **(run_info or {})},
        )
    except OSError as exc:  # a read-only or full disk: say where, and how to train anyway
        raise ProjectError(
            f"cannot make a run folder next to the project ({exc.strerror or exc}); train without "
            "recording (sigma train --no-record) or move the project somewhere writable",
            str(project.path),
        ) from None


def _checkpoint_folder(project: Project, checkpoint_dir, run_folder) -> Path | None:
    """Where checkpoints go: the caller's folder, else the project's setting, else the run folder's."""
    folder = checkpoint_dir or (project.training.checkpoint or {}).get("directory")
    if not folder and run_folder is not None:
        folder = run_folder / "checkpoints"
    if not folder:
        return None
    return project.resolve(str(folder)) if project.path else Path(folder)


def _input_summary(train) -> dict | None:
    """The training inputs' shape and value range (:func:`engine.predict.input_summary`), or None."""
    from .predict.files import input_summary

    try:
        return input_summary(train["inputs"])
    except (KeyError, TypeError, ValueError):  # inputs that are not one numeric array: nothing to compare
        return None


def _check_data_fits(network, dataset, spec=None) -> None:
    """Refuse a network that does not fit the data (its input shape, its class count), in the words
    the studio shows beside its one-click fix (:func:`engine.network.check_fit`)."""
    from .network import check_fit

    shapes = getattr(network, "input_shapes", None)
    if spec is not None:
        report = check_fit(spec, tuple(dataset.shape_of("inputs")), dataset.classes)
        if not report.fits:
            raise ProjectError(report.message, None, "network")
    if not shapes or len(shapes) != 1:
        return
    name, expected = next(iter(shapes.items()))
    got = tuple(dataset.shape_of("inputs"))
    if tuple(expected) != got:
        raise ProjectError(
            f"the network's input '{name}' expects records of shape {tuple(expected)}, but the dataset's "
            f"records have shape {got}",
            None,
            "network",
        )
