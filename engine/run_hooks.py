"""The hooks a project's run gets, one named step each (:func:`engine.run.build_run` puts them in order).

Order matters to what the studio sees within one iteration: reporters first, then the task's views
(sample predictions, validation metrics, generated text), control (early stopping, the learning-rate
schedule), checkpoints, layer health, the caller's own hooks and last the run folder's recorder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .project import Project, ProjectError

__all__ = ["TaskView", "reporters", "task_view", "control", "checkpoints", "health", "FINAL_CHECKPOINT"]

#: The text sampler's prompt length (characters of the corpus's start) and generated length.
PROMPT_CHARS, GENERATED_CHARS = 24, 160

#: The sample-prediction streamer shows at most this many records for classifiers, at most every
#: this many seconds (the sample view and a run folder keep only the newest; due every epoch).
SAMPLES_SHOWN, SAMPLES_INTERVAL_S = 16, 1.0

#: The file a run's final checkpoint is written to, in its checkpoint folder.
FINAL_CHECKPOINT = "last.h5"


@dataclass
class TaskView:
    """What the task shows while training: its hooks, and what the studio needs to draw them.

    Attributes
    ----------
    hooks : list of Hook
    image_shape : tuple or None
        For image tasks: the (H, W, C) shape predictions are reshaped to.
    sample_inputs : ndarray or None
        The records the sample-prediction streamer predicts.
    """

    hooks: list = field(default_factory=list)
    image_shape: tuple | None = None
    sample_inputs: np.ndarray | None = field(default=None, repr=False)


#: Seconds between two runs of the reporters whose consumers show only the newest report: the
#: monitor's weight/gradient histograms (a run folder keeps only the newest too) and its CPU/memory
#: charts (a run folder keeps one point a second). A reader follows about one histogram update a
#: second; per epoch they cost ~6 ns a parameter (5.5 ms on W1), ~2 % of a W1 iteration when an
#: epoch is 64 iterations. The newest held-back report is made when the run pauses or ends.
HISTOGRAM_INTERVAL_S, RESOURCE_INTERVAL_S = 1.0, 0.5

#: Seconds between two layer-health measurements of the studio's run at least (they are due every 50
#: iterations): the builder's overlay shows the newest, and its sparklines the ones made.
HEALTH_INTERVAL_S = 1.0


def reporters() -> list:
    """Every run's reporters: iteration metrics, runtime, resources (every 25 iterations, at most
    every :data:`RESOURCE_INTERVAL_S`), histograms (every epoch, at most every
    :data:`HISTOGRAM_INTERVAL_S`)."""
    from .hooks import HistogramReporter, MetricReporter, ResourceReporter, RuntimeReporter, TimeStep

    return [
        MetricReporter(TimeStep(1, "iteration")),
        RuntimeReporter(),
        ResourceReporter(TimeStep(25, "iteration"), min_interval_s=RESOURCE_INTERVAL_S),
        HistogramReporter(min_interval_s=HISTOGRAM_INTERVAL_S),
    ]


def task_view(project: Project, dataset, train, validation, validation_records, classes) -> TaskView:
    """The task's own views: a painting per epoch (image), sample predictions and validation metrics
    (classification), generated text (a sequence task on a text corpus); nothing for regression."""
    from .hooks import SamplePredictionStreamer, TextSampler, TimeStep, ValidationMetrics

    view = TaskView()
    meta = getattr(dataset, "meta", None) or {}
    if project.task == "image":
        view.image_shape = tuple(meta.get("image_shape") or ())
        if not view.image_shape:
            raise ProjectError(
                "an image task needs a coordinate dataset with an image shape",
                str(project.path or ""),
                "task",
            )
        view.sample_inputs = np.asarray(dataset["inputs"])
        view.hooks.append(
            SamplePredictionStreamer(
                view.sample_inputs,
                np.asarray(dataset["targets"]),
                kind="image",
                image_shape=view.image_shape,
                timestep=TimeStep(1, "epoch"),
            )
        )
    elif project.task == "classification":
        shown = validation if validation is not None else train
        n = min(SAMPLES_SHOWN, len(shown))
        view.sample_inputs = np.asarray(shown["inputs"][np.arange(n)])
        view.hooks.append(
            SamplePredictionStreamer(
                view.sample_inputs,
                np.asarray(shown["targets"][np.arange(n)]),
                kind="classification",
                classes=classes,
                min_interval_s=SAMPLES_INTERVAL_S,
            )
        )
        if validation is not None:
            view.hooks.append(
                ValidationMetrics(
                    validation,
                    top_k=(1, min(5, len(classes or [0] * 5))),
                    classes=classes,
                    records=validation_records,
                )
            )
    elif project.task == "sequence" and meta.get("text"):
        # A next-character model: its sample predictions are text it writes from the corpus's start.
        corpus = meta["text"]
        window = int(np.asarray(dataset["inputs"]).shape[1])
        view.hooks.append(
            TextSampler(
                dataset.vocabulary,
                corpus[:PROMPT_CHARS],
                window=window,
                length=GENERATED_CHARS,
                seed=int(project.training.seed),
                timestep=TimeStep(1, "epoch"),
            )
        )
    return view


def control(settings, validation) -> list:
    """Early stopping and the learning-rate schedule, as the settings ask."""
    from .hooks import EarlyStopping, LearningRateScheduler

    hooks = []
    stopping = settings.early_stopping
    if stopping:
        stopping = dict(stopping)
        hooks.append(
            EarlyStopping(
                monitor=stopping.get("metric", "val_loss" if validation is not None else "loss"),
                mode=stopping.get("mode", "min"),
                patience=int(stopping.get("patience", 5)),
                min_delta=float(stopping.get("min_delta", 0.0)),
                restore_best=bool(stopping.get("restore_best", True)),
            )
        )
    if settings.schedule:
        hooks.append(LearningRateScheduler(settings.schedule))
    return hooks


def checkpoints(project: Project, folder, validation) -> list:
    """The run's checkpoint saver into ``folder`` (none without a folder): a save every
    ``checkpoint.every_epochs`` epochs (0: none), best-only if asked, at most one every
    ``checkpoint.min_seconds`` (a skipped save is written at the next one past that floor, at a pause
    or at the end), and ``last.h5`` with the newest state when the run ends (finished or stopped) or a
    stop is requested (:class:`engine.runs.RunController`): the one final checkpoint of ``sigma train``,
    ``sigma stop`` and the studio."""
    from .checkpoint import checkpoint_name
    from .hooks import CheckpointSaver, TimeStep
    from .settings import TRAINING_DEFAULTS

    if not folder:
        return []
    policy = dict(project.training.checkpoint or {})
    every = int(policy.get("every_epochs") or 0)
    floor = policy.get("min_seconds")
    return [
        CheckpointSaver(
            folder,
            TimeStep(every, "epoch") if every > 0 else TimeStep(unit="stop"),
            best_only=bool(policy.get("best_only")),
            monitor="val_loss" if validation is not None else "loss",
            keep_last=policy.get("keep"),
            filename=None if policy.get("best_only") else checkpoint_name(project),
            min_seconds=float(TRAINING_DEFAULTS["checkpoint"]["min_seconds"] if floor is None else floor),
            final=FINAL_CHECKPOINT,
        )
    ]


def health(settings, extra_hooks) -> list:
    """Layer health for the studio's overlay, unless the settings turn it off or the caller brings its
    own (``sigma train --health`` adds one that also prints the findings)."""
    from .hooks import LayerHealth

    if not settings.get("health", True) or any(isinstance(h, LayerHealth) for h in extra_hooks):
        return []
    # Reports only. Every 50 iterations is about 1% of a step (bench/health_bench.py), most of it the
    # probe batch's forward pass; the overlay follows the newest report, so not more than once a second.
    return [LayerHealth(log=False, min_interval_s=HEALTH_INTERVAL_S)]
