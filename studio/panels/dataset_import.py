"""Background import for the dataset panel: ``engine.data.load`` on the Qt thread pool, with progress,
cancellation, and the statistics and preview computed off the main thread too.

The GUI never waits on the engine: the job reports through queued signals and the panel only ever
touches finished results.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

__all__ = ["ImportJob", "ImportResult", "load_source", "SAMPLES"]

PREVIEW_RECORDS = 48
_PROGRESS_INTERVAL_S = 0.05
_running: set = set()  # keeps running jobs (and their signal objects) alive until they end


def _sample(name: str):
    from engine.data import samples

    makers = {
        "cat": samples.cat_dataset,
        "chelsea": samples.chelsea_dataset,
        "digits": samples.digits,
        "xor": samples.xor,
        "text": samples.text,
        "verse": samples.verse,
    }
    if name not in makers:
        raise ValueError(f"unknown sample dataset {name!r}; samples are {', '.join(makers)}")
    return makers[name]()


SAMPLES = ("cat", "chelsea", "digits", "xor", "text", "verse")


def load_source(source, options: dict, progress=None, cancel=None, project=None):
    """Load dropped files (``engine.data.load``) or, with ``project``, the project's dataset reference
    the way training will (``engine.run.load_project_data``), minus the channels-first layout so the
    preview still sees images as (H, W, C)."""
    if project is not None:
        from engine.run import load_project_data

        preview_project = copy.deepcopy(project)
        (preview_project.dataset.get("options") or {}).pop("layout", None)
        return load_project_data(preview_project, progress=progress, cancel=cancel)
    if isinstance(source, str) and source.startswith("sample:"):
        return _sample(source.split(":", 1)[1])
    from engine.data import load

    return load(source, progress=progress, cancel=cancel, **options)


@dataclass
class ImportResult:
    """What a finished import hands to the panel (all computed on the worker thread).

    Attributes
    ----------
    dataset : engine.data.Dataset
    statistics : dict
        ``Dataset.statistics()``.
    preview : dict
        ``inputs``/``targets`` of the first records (numpy), and ``image`` for coordinate datasets.
    source : str or list of str
    options : dict
    seconds : float
    """

    dataset: object
    statistics: dict
    preview: dict
    source: object
    options: dict = field(default_factory=dict)
    seconds: float = 0.0


class _Signals(QObject):
    sigProgress = Signal(int, int, str)
    sigFinished = Signal(object)
    sigFailed = Signal(object)
    sigCancelled = Signal()


class ImportJob(QRunnable):
    """One import on the global thread pool.

    Parameters
    ----------
    source : str, list of str
        As ``engine.data.load`` takes it, or ``"sample:<name>"``.
    options : dict
        Keyword options for ``engine.data.load``.

    Attributes
    ----------
    signals : QObject
        ``sigProgress(done, total, path)``, ``sigFinished(ImportResult)``, ``sigFailed(exception)``,
        ``sigCancelled()``; delivered on the main thread.
    done : threading.Event
        Set when ``run`` has returned (for a clean shutdown).
    """

    def __init__(self, source, options: dict, project=None):
        super().__init__()
        self.project = project
        self.paint = False  # a picture dropped on a paint project: the result becomes its reference
        self.setAutoDelete(False)
        self.source = source
        self.options = dict(options)
        self.signals = _Signals()
        self.cancel_event = threading.Event()
        self.done = threading.Event()
        self._last_progress = 0.0

    def start(self) -> None:
        _running.add(self)
        QThreadPool.globalInstance().start(self)

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, timeout: float = 5.0) -> bool:
        """Block until the job has ended (only at shutdown: the import checks cancel per file/block)."""
        return self.done.wait(timeout)

    def _progress(self, done: int, total: int, path: str) -> None:
        now = time.monotonic()
        if now - self._last_progress >= _PROGRESS_INTERVAL_S or done >= total:
            self._last_progress = now
            self._emit(self.signals.sigProgress, int(done), int(total), str(path))

    def _emit(self, signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the panel went away while we worked: nobody to tell
            pass

    def run(self) -> None:
        from engine.data import DataImportError, ImportCancelled

        started = time.perf_counter()
        try:
            dataset = load_source(self.source, self.options, self._progress, self.cancel_event, self.project)
            if self.cancel_event.is_set():
                raise ImportCancelled("import cancelled")
            result = ImportResult(
                dataset,
                dataset.statistics(),
                _preview(dataset),
                self.source,
                self.options,
                time.perf_counter() - started,
            )
        except ImportCancelled:
            self._emit(self.signals.sigCancelled)
        except DataImportError as exc:
            self._emit(self.signals.sigFailed, exc)
        except Exception as exc:  # a reader bug must reach the user as a message, not kill the thread
            self._emit(self.signals.sigFailed, exc)
        else:
            self._emit(self.signals.sigFinished, result)
        finally:
            self.done.set()
            _running.discard(self)


def _preview_indices(dataset) -> np.ndarray:
    """Up to PREVIEW_RECORDS records, taken in turn from every class so the grid shows them all."""
    n = min(PREVIEW_RECORDS, len(dataset))
    if dataset.classes is None or "targets" not in dataset or dataset["targets"].ndim != 1:
        return np.arange(n)
    labels = np.asarray(dataset["targets"][:])
    per_class = [np.flatnonzero(labels == c) for c in range(len(dataset.classes))]
    picked = []
    for rank in range(n):
        for members in per_class:
            if rank < len(members) and len(picked) < n:
                picked.append(members[rank])
        if len(picked) >= n:
            break
    return np.sort(np.array(picked, dtype=np.int64))


def _preview(dataset) -> dict:
    idx = _preview_indices(dataset)
    batch = dataset.batch(idx)
    out = {"inputs": batch.get("inputs"), "targets": batch.get("targets"), "indices": idx}
    shape = dataset.meta.get("image_shape")
    if dataset.meta.get("kind") == "coordinates" and shape and "targets" in dataset:
        out["image"] = np.asarray(dataset["targets"][:]).reshape(shape)
    return out
