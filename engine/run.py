"""Turn a :class:`~engine.project.Project` into a ready trainer with its data and monitoring hooks.

The studio and the ``sigma`` command both start training here, so a project trains the same way in
the GUI and headless.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import kernels as kernel_choice
from . import run_hooks
from .ops import compiled
from .project import Project, ProjectError
from .run_data import SAMPLE_SOURCES, load_project_data, split_and_edit

__all__ = ["Run", "build_run", "restore_checkpoint", "load_project_data", "SAMPLE_SOURCES"]


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
    kernels : engine.kernels.KernelChoice or None
        The kernels :meth:`fit` trains with (None: whatever the process uses).
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
    kernels: kernel_choice.KernelChoice | None = None
    _told: bool = field(default=False, repr=False)

    def fit(self, epochs: int | None = None, max_iterations: int | None = None, raise_errors: bool = True):
        """Train (blocking) up to ``epochs`` in total (the project's setting by default), with the run's
        kernels (the process's before come back after); the first fit warns when compiled kernels
        asked for cannot run here."""
        if not self._told:
            self._told = True
            kernel_choice.tell(self.kernels, self.trainer.events)
        with compiled.using(self.kernels.used) if self.kernels else contextlib.nullcontext():
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
    kernels: str | None = None,
) -> Run:
    """Build the trainer, data and monitoring hooks a project describes.

    In named steps: check the document, then the machine (:func:`check_runnable`); load the data
    (:func:`load_project_data`); build the network and check it fits the data; split and apply the
    sample edits (:func:`engine.run_data.split_and_edit`); the hooks (:mod:`engine.run_hooks`, in their
    order); the kernels (:mod:`engine.kernels`); the run folder (:func:`_record`) and where checkpoints
    go (:func:`_checkpoint_folder`); the Trainer, with the project's settings
    (:class:`engine.settings.TrainingSettings`).

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
    kernels : str, optional
        ``"numpy"`` or ``"compiled"``: overrides ``SIGMA_KERNELS`` and the project's ``training.kernels``
        (:mod:`engine.kernels`); run.json records the kernels the run uses.

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
    train, validation, train_records, validation_records = split_and_edit(project, dataset, seed)
    classes = tuple(dataset.classes) if dataset.classes is not None else None

    view = run_hooks.task_view(project, dataset, train, validation, validation_records, classes)
    hooks = [*run_hooks.reporters(), *view.hooks, *run_hooks.control(settings, validation)]
    chosen = kernel_choice.resolve(settings.kernels, kernels)
    info = {
        "kernels": chosen.used,
        **({"kernels_note": chosen.note} if chosen.note else {}),
        **(run_info or {}),
    }
    run_folder = _record(project, backend, parent_checkpoint, origin, info) if record else None
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
        kernels=chosen,
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
        # The run folder is already where it belongs (next to the project file, relative to the working
        # directory when the project's path is): resolved against the project's folder again, a project
        # opened as "sub/p.sigma" put its checkpoints in "sub/sub/p.sigma.runs/...".
        return (run_folder / "checkpoints").absolute()
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
