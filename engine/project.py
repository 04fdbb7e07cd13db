"""The project document: what a user opens and saves (dataset reference, network spec, training settings).

A project is plain JSON, shared by the studio (File > Open/Save) and the headless ``sigma`` command, so it
lives in the engine rather than in ``studio/`` (the design card first put it in ``studio/project.py``;
the CLI needs it without Qt).

Format (``"format": "sigma.project/1"``)::

    {
      "format": "sigma.project/1",
      "name": "Paint the cat",
      "task": "image" | "classification" | "regression" | "sequence",
      "dataset": {"source": "sample:cat" | "path/or/folder" | ["paths", ...], "options": {...},
                  "validation_split": 0.1, "test_split": 0.0, "normalise": null | "minmax" | "standard",
                  "augment": []},
      "network": { ...engine network spec... },
      "training": {"backend": "cpu", "kernels": "numpy" | "compiled", "workers": 1, "batch_size": 64,
                   "epochs": 10, "seed": 0, "loss": "softmax_cross_entropy", "metrics": ["accuracy"],
                   "optimiser": {"type": "adam", "learning_rate": 0.001, ...},
                   "schedule": null | {"type": "cosine", ...},
                   "early_stopping": null | {"metric": "val_loss", "patience": 5, "min_delta": 0.0},
                   "checkpoint": {"every_epochs": 1, "best_only": false, "keep": 3, "directory": null,
                                  "min_seconds": 5.0}},
      "last_checkpoint": null | "path.h5"
    }

Relative paths inside a project are relative to the project file's folder.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from engine.paths import is_windows_absolute, native_path, portable_path

from .project_checks import ProjectError, parse_project_json, read_project_text, validate_document
from .settings import TRAINING_DEFAULTS, TrainingSettings

__all__ = ["Project", "ProjectError", "FORMAT", "DEFAULT_TRAINING", "TrainingSettings"]

FORMAT = "sigma.project/1"

#: The training defaults under their old name (the table is :data:`engine.settings.TRAINING_DEFAULTS`).
DEFAULT_TRAINING = TRAINING_DEFAULTS

_TASKS = ("image", "classification", "regression", "sequence")


@dataclass
class Project:
    """A training project.

    Attributes
    ----------
    name : str
    task : str
        ``image``, ``classification``, ``regression`` or ``sequence``; decides the monitor's sample view.
    dataset : dict
        Where the data comes from and how it is split and preprocessed.
    network : dict
        The network spec (one source of truth, edited by the builder, built by the engine).
    training : TrainingSettings
        Trainer settings, typed and observable (see :mod:`engine.settings`); a plain dict given here is
        read into one (missing keys take the defaults).
    last_checkpoint : str or None
    path : Path or None
        Where the project was loaded from / saved to (not stored in the file).
    """

    name: str = "Untitled"
    task: str = "classification"
    dataset: dict = field(default_factory=dict)
    network: dict = field(default_factory=dict)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    last_checkpoint: str | None = None
    path: Path | None = None

    def __post_init__(self):
        if not isinstance(self.training, TrainingSettings):
            self.training = TrainingSettings(self.training, str(self.path) if self.path else None)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        """The JSON-able document (without ``path``)."""
        return {
            "format": FORMAT,
            "name": self.name,
            "task": self.task,
            "dataset": copy.deepcopy(self.dataset),
            "network": copy.deepcopy(self.network),
            "training": self.training.to_dict(),
            "last_checkpoint": self.last_checkpoint,
        }

    @classmethod
    def from_dict(cls, doc: dict, path: str | os.PathLike | None = None) -> Project:
        """Validate and read a document; unknown training keys are kept, missing ones take defaults."""
        where = str(path) if path else None
        if not isinstance(doc, dict):
            raise ProjectError(f"expected a JSON object, got {type(doc).__name__}", where)
        fmt = doc.get("format")
        if fmt != FORMAT:
            raise ProjectError(f"unknown project format {fmt!r} (expected {FORMAT!r})", where, "format")
        task = doc.get("task", "classification")
        if task not in _TASKS:
            raise ProjectError(f"invalid task {task!r}; expected one of {', '.join(_TASKS)}", where, "task")
        for key in ("dataset", "network", "training"):
            if not isinstance(doc.get(key, {}), dict):
                raise ProjectError(f"field '{key}' must be an object", where, key)
        validate_document(doc, where)
        training = TrainingSettings(doc.get("training", {}), where)
        return cls(
            name=doc.get("name") or "Untitled",
            task=task,
            dataset=copy.deepcopy(doc.get("dataset", {})),
            network=copy.deepcopy(doc.get("network", {})),
            training=training,
            last_checkpoint=doc.get("last_checkpoint"),
            path=Path(path) if path else None,
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Project:
        """Read a project file. Raises :class:`ProjectError` naming the file (and line for bad JSON).

        The file must be a regular file of at most 16 MiB (a device or FIFO is refused without being
        opened); its JSON is parsed with bounded nesting and number sizes, and every field is checked
        (see :mod:`engine.project_checks`).
        """
        path = Path(path)
        text = read_project_text(path)
        return cls.from_dict(parse_project_json(text, str(path)), path)

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the project atomically (temporary file in the same folder, then rename).

        Paths it holds are written portable (:meth:`_portable_dict`), and kept so in memory.
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ProjectError("no path given and the project was never saved")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        doc = self._portable_dict(target.parent)
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(doc, indent=2, sort_keys=False))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        # The document in memory is now the file's: its relative paths are relative to the new folder.
        self.dataset, self.last_checkpoint = doc["dataset"], doc["last_checkpoint"]
        self.path = target
        return target

    def _portable_dict(self, folder: Path) -> dict:
        """:meth:`to_dict` with the paths it holds as :func:`engine.paths.portable_path` stores them.

        Relative to ``folder`` when inside it, forward slashes: the file opens on Windows and POSIX, and
        still works when its folder is moved. Sample sources (``"sample:digits"``) stay as they are.
        """
        doc = self.to_dict()

        def portable(value):
            if isinstance(value, str) and value and not value.startswith("sample:"):
                return portable_path(self.resolve(value), folder)
            return value

        source = doc["dataset"].get("source")
        if isinstance(source, list):
            doc["dataset"]["source"] = [portable(s) for s in source]
        elif source is not None:
            doc["dataset"]["source"] = portable(source)
        doc["last_checkpoint"] = portable(doc["last_checkpoint"])
        return doc

    def resolve(self, relative: str) -> Path:
        """A path from the project resolved against the project file's folder.

        Accepts paths written on either OS (:func:`engine.paths.native_path`): backslashes in a
        relative path are separators everywhere.
        """
        p = native_path(relative)
        # A Windows absolute path read on POSIX stays as written (it cannot exist here): the error
        # that follows names it as the user knows it, not glued to the project's folder.
        if p.is_absolute() or is_windows_absolute(str(relative)) or self.path is None:
            return p
        return (self.path.parent / p).resolve()
